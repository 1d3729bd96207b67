#pragma once
// Topic administration and cluster queries. Each call uses a short-lived client of its own and
// never blocks the executor: topic creation waits on an eventfd-signalled queue, metadata and
// watermark queries (blocking in librdkafka 2.0.2) run on the blocking pool.
// Every call is bounded by KafkaConfig::request_timeout (plus a small margin).
// Thread-safety: call from a coroutine on any executor; no shared state. `cfg` is copied;
// `topic` must stay valid until the call completes (it is copied before the first suspension).

#include "xbanku/log/kafka_config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace xbanku::log {

// Creates `topic` with `partitions` partitions (broker-default replication) and `topic_config`
// unless it exists; an existing topic is success whatever its partition count. Errors:
// errc::timeout, errc::log_unavailable (no broker), errc::log_error (refused; in the log).
[[nodiscard]] boost::asio::awaitable<boost::system::error_code> ensure_topic(
    boost::asio::any_io_executor ex, KafkaConfig cfg, std::string_view topic, int partitions,
    std::map<std::string, std::string> topic_config = {});

// The topic's partition count. errc::log_error if the topic does not exist,
// errc::log_unavailable if no broker answered in time.
[[nodiscard]] boost::asio::awaitable<boost::system::result<int>> partition_count(
    boost::asio::any_io_executor ex, KafkaConfig cfg, std::string_view topic);

// The current end (high watermark: the next offset to be written) of every partition of `topic`.
// Same errors as partition_count().
[[nodiscard]] boost::asio::awaitable<boost::system::result<std::map<std::int32_t, std::int64_t>>>
end_offsets(boost::asio::any_io_executor ex, KafkaConfig cfg, std::string_view topic);

}  // namespace xbanku::log
