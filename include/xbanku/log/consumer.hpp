#pragma once
// Kafka consumers awaited from coroutines:
//   Consumer        — a consumer-group member of one topic (the projector);
//   PartitionReader — reads given partitions from given offsets, no group (replay, console).
//
// Threading: single-executor. Create, use and destroy them on one io_context thread; the
// RebalanceHandler is called on that thread, from inside next(). librdkafka's threads only
// write to an eventfd; every queue is drained on the executor with zero timeouts.

#include "xbanku/log/kafka_config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::log {

// Where a reader starts when it has no offset of its own: the partition's first record.
inline constexpr std::int64_t kOffsetBeginning = -2;  // RD_KAFKA_OFFSET_BEGINNING

// A view into a message owned by its Poll: valid while the Poll lives.
struct Record {
  std::int32_t partition;
  std::int64_t offset;
  std::string_view key;
  std::string_view value;
  std::int64_t timestamp_ms;  // -1 when the record carries none
};

// A header of a record (a view into the message, valid while its Poll lives).
struct RecordHeader {
  std::string_view name;
  std::string_view value;
};

// A message-level error reported by librdkafka (broker fetch error, offset out of range…).
// It is not a record; it is also logged. Partition EOF is disabled and never reported.
struct RecordError {
  std::int32_t partition;
  std::int64_t offset;
  std::string message;  // librdkafka's error name and text
};

// The records of one poll, in order per partition. Owns the librdkafka messages (move-only);
// their type stays inside src/log/ (each is held with its own deleter).
class Poll {
 public:
  Poll() = default;
  Poll(Poll&&) noexcept = default;
  Poll& operator=(Poll&&) noexcept = default;

  [[nodiscard]] std::span<const Record> records() const noexcept { return records_; }
  [[nodiscard]] std::span<const RecordError> errors() const noexcept { return errors_; }
  [[nodiscard]] std::size_t size() const noexcept { return records_.size(); }
  [[nodiscard]] bool empty() const noexcept { return records_.empty(); }
  [[nodiscard]] auto begin() const noexcept { return records_.begin(); }
  [[nodiscard]] auto end() const noexcept { return records_.end(); }
  // The headers of records()[index], read on demand (the projector never needs them).
  [[nodiscard]] std::vector<RecordHeader> headers(std::size_t index) const;

 private:
  friend struct ConsumerCore;
  using Owned = std::unique_ptr<void, void (*)(void*)>;
  std::vector<Owned> owned_;
  std::vector<Record> records_;
  std::vector<RecordError> errors_;
};

struct ConsumerConfig {
  KafkaConfig kafka;
  std::string group;
  std::string topic;
  // Empty: dynamic membership. Otherwise group.instance.id (static membership: a restart within
  // session_timeout keeps the partitions, and close() does not leave the group).
  std::string instance_id;
  std::chrono::milliseconds session_timeout{10000};
  // Records per next(). While catching up, bigger batches than the former 5,000 mean fewer
  // commits and keys that land closer together in the memtables (view::Batch sorts them);
  // 20,000 was no faster than 10,000 on 1M records and cost ~35 MB more peak RSS. A caught-up
  // consumer gets whatever arrived, so this adds no latency.
  std::size_t max_batch = 10000;
};

struct RebalanceHandler {
  // Called on the executor while polling. Return, for each newly assigned partition, the offset
  // to start from (the caller's stored next offset; kOffsetBeginning if none). The
  // consumer then assigns with those offsets; a partition left out starts at the beginning.
  std::function<std::map<std::int32_t, std::int64_t>(const std::vector<std::int32_t>& assigned)>
      on_assign;
  // Called before partitions are taken away. Every record of those partitions that next()
  // returned has been handed out already; none is returned after this call.
  std::function<void(const std::vector<std::int32_t>& revoked)> on_revoke;
};

struct ConsumerCore;

class Consumer {
 public:
  // Builds the client and subscribes (non-blocking; the group is joined while next() polls).
  // errc::invalid_config for a rejected property, errc::log_error if librdkafka refuses.
  [[nodiscard]] static boost::system::result<std::unique_ptr<Consumer>> create(
      boost::asio::any_io_executor ex, const ConsumerConfig& cfg, RebalanceHandler handler);

  // Without a prior close() the member does not leave the group (its partitions move after
  // session_timeout); the client is destroyed off-thread either way.
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Returns up to max_batch records, waiting at most `max_wait` for the first (an empty Poll
  // then). Rebalance callbacks run inside this call. Errors: errc::shutting_down after
  // close()/destruction, errc::log_error if librdkafka fails the poll. Exceptions thrown by the
  // RebalanceHandler are rethrown here. One next() at a time.
  [[nodiscard]] boost::asio::awaitable<boost::system::result<Poll>> next(
      std::chrono::milliseconds max_wait);

  // Asynchronous commit of the group's offsets (next offset to read, per partition). Only lag
  // tools read them (the real offsets live in the view store); failures are logged.
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> commit(
      const std::map<std::int32_t, std::int64_t>& next_offsets);

  // Partitions currently assigned, ascending.
  [[nodiscard]] std::vector<std::int32_t> assignment() const;
  // The partition's high watermark as last seen in a fetch response (cached, non-blocking).
  [[nodiscard]] std::optional<std::int64_t> high_watermark(std::int32_t partition) const;
  // Per assigned partition with a known watermark: high watermark − next offset (≥ 0); a
  // partition missing from `next_offsets` counts from offset 0.
  [[nodiscard]] std::map<std::int32_t, std::int64_t> lag(
      const std::map<std::int32_t, std::int64_t>& next_offsets) const;

  // Leaves the group (on_revoke is called) without blocking the executor; bounded by
  // session_timeout. Idempotent. Do not call while a next() is pending.
  boost::asio::awaitable<void> close();

 private:
  explicit Consumer(std::shared_ptr<ConsumerCore> core);
  std::shared_ptr<ConsumerCore> core_;
};

class PartitionReader {
 public:
  // Reads `topic`'s partitions listed in `start_offsets` (kOffsetBeginning allowed),
  // without a consumer group. Pair with end_offsets() (admin.hpp) to replay "to the end".
  [[nodiscard]] static boost::system::result<std::unique_ptr<PartitionReader>> create(
      boost::asio::any_io_executor ex, const KafkaConfig& cfg, std::string topic,
      const std::map<std::int32_t, std::int64_t>& start_offsets, std::size_t max_batch = 10000);

  ~PartitionReader();  // destroys the client off-thread
  PartitionReader(const PartitionReader&) = delete;
  PartitionReader& operator=(const PartitionReader&) = delete;

  // Same contract as Consumer::next().
  [[nodiscard]] boost::asio::awaitable<boost::system::result<Poll>> next(
      std::chrono::milliseconds max_wait);
  // Same contract as Consumer::high_watermark().
  [[nodiscard]] std::optional<std::int64_t> high_watermark(std::int32_t partition) const;
  // Stops fetching and releases the client. Idempotent.
  boost::asio::awaitable<void> close();

 private:
  explicit PartitionReader(std::shared_ptr<ConsumerCore> core);
  std::shared_ptr<ConsumerCore> core_;
};

}  // namespace xbanku::log
