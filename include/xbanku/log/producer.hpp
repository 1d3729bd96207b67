#pragma once
// Idempotent Kafka producer (acks=all, murmur2_random partitioner) awaited from coroutines.
//
// Threading: single-executor. Create, use and destroy a Producer on one io_context thread.
// librdkafka's threads only write to an eventfd; delivery reports are served on the executor.

#include "xbanku/log/kafka_config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace xbanku::log {

struct Delivery {
  std::int32_t partition;
  std::int64_t offset;
};

struct Header {
  std::string_view name;
  std::string_view value;
};

class Producer {
 public:
  // Builds the client (non-blocking). Returns errc::invalid_config for a rejected property,
  // errc::log_error if librdkafka cannot create the client. Brokers are contacted lazily.
  [[nodiscard]] static boost::system::result<std::unique_ptr<Producer>> create(
      boost::asio::any_io_executor ex, const KafkaConfig& cfg);

  // Fails pending sends with errc::shutting_down and destroys the client off-thread. It does
  // not wait for deliveries: co_await flush() first for a clean stop.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Appends one record (key and value are copied: the caller's buffers may die at once) and
  // waits for the broker's acknowledgement. Always completes within about delivery_timeout:
  //   ok                          -> partition and offset of the record;
  //   errc::log_unavailable       -> the record was NOT written (no broker, timed out queued);
  //   errc::log_possibly_persisted-> timed out in flight: the record may exist;
  //   errc::log_fatal             -> the idempotent producer hit a fatal error (it is rebuilt;
  //                                  the record may exist);
  //   errc::log_error             -> any other failure (e.g. record too large), in the log;
  //   errc::shutting_down         -> the Producer was destroyed while waiting.
  // Many sends may be in flight at once, from any number of coroutines on the executor.
  [[nodiscard]] boost::asio::awaitable<boost::system::result<Delivery>> send(
      std::string_view topic, std::string_view key, std::string_view value,
      std::span<const Header> headers = {});

  // Waits (without blocking the thread) until every record handed to librdkafka is delivered
  // or failed; errc::timeout if some are still pending after `timeout`.
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> flush(
      std::chrono::milliseconds timeout);

  // Number of records handed to librdkafka whose delivery report has not been served yet.
  [[nodiscard]] std::size_t in_flight() const noexcept;

  struct Impl;

 private:
  explicit Producer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace xbanku::log
