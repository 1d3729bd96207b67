#pragma once
// xbanku's error codes for expected failures at I/O boundaries (Kafka, RocksDB, Redis, HTTP).
// They travel as boost::system::error_code; domain rejections use domain::Reason instead.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace xbanku {

enum class errc {
  ok = 0,
  log_unavailable,         // Kafka could not be reached; the record was NOT persisted
  log_possibly_persisted,  // delivery unknown (timed out in flight): the record may exist
  log_fatal,               // the producer hit a fatal error and was rebuilt
  log_error,               // any other librdkafka error (message in the log)
  store_error,             // RocksDB returned a non-OK status
  store_unwritable,        // RocksDB cannot write for now (e.g. its filesystem is full)
  timeout,                 // an awaited operation passed its deadline
  shutting_down,           // the component is stopping and refuses new work
  mirror_unavailable,      // Redis could not be reached
  invalid_config,          // a configuration value was rejected
  peer_unreachable,        // another instance could not be reached or answered garbage
};

[[nodiscard]] const boost::system::error_category& xbanku_category() noexcept;

[[nodiscard]] inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), xbanku_category()};
}

}  // namespace xbanku

template <>
struct boost::system::is_error_code_enum<xbanku::errc> : std::true_type {};
