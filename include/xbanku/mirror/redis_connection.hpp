#pragma once
// One asynchronous Redis connection (hiredis) driven by Boost.Asio, never blocking the thread
// that runs it. hiredis only formats and parses; the socket's readiness is watched by Asio and
// every await is bounded by a deadline from RedisConfig.
//
// Thread-safety: NOT thread-safe. Every member, and the destruction, must run on the single
// thread (or strand) of the executor given to the constructor — the io thread.

#include "xbanku/domain/rules.hpp"
#include "xbanku/mirror/redis_config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace xbanku::mirror {

class RedisConnection {
 public:
  // Does not connect; call connect(). Cheap.
  RedisConnection(boost::asio::any_io_executor executor, RedisConfig config);
  // Drops the connection (as close()); a pending await resumes with mirror_unavailable.
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Resolves, connects (non-blocking), AUTHs when a password is set and SELECTs the db, all within
  // config.connect_timeout. Returns {} when usable, errc::mirror_unavailable (refused, reset, DNS
  // failure) or errc::timeout; on failure the connection is left closed and connect() may be
  // retried.
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> connect();

  // Writes every account as `HSET <id> Id <id> Name <name> Balance <decimal>` in one pipeline
  // (binary-safe) and completes when all replies arrived ({}), on the first error reply or lost
  // connection (mirror_unavailable), or after config.command_timeout (timeout). On any error the
  // connection is dropped, so a retry starts from a clean state. `accounts` must stay valid until
  // the await completes.
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> pipeline_hset(
      std::span<const domain::Account> accounts);

  // HGETALL <id>: the mirrored account, std::nullopt when the key does not exist, or
  // generic bad_message when the hash lacks Id/Name/Balance or Balance is not a decimal int64.
  // version is not mirrored and is always 0. Same error/deadline rules as pipeline_hset, except
  // that a malformed hash keeps the connection. `id` is copied: it may be a temporary.
  [[nodiscard]] boost::asio::awaitable<boost::system::result<std::optional<domain::Account>>>
  hgetall(std::string_view id);

  // EXISTS <key>: whether the key exists. Same error/deadline rules as pipeline_hset. `key` is
  // copied.
  [[nodiscard]] boost::asio::awaitable<boost::system::result<bool>> exists(std::string_view key);

  // SET <key> <value>. Same error/deadline rules as pipeline_hset. Both are copied.
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> set(std::string_view key,
                                                                      std::string_view value);

  // Drops the connection now: pending commands complete with mirror_unavailable. Idempotent.
  void close() noexcept;

  // True between a successful connect() and the first error/close().
  [[nodiscard]] bool connected() const noexcept;

  // True when the last connect() failed because Redis refused its AUTH (wrong password, unknown
  // user, or no password configured on the server): a configuration error, not an outage.
  [[nodiscard]] bool auth_rejected() const noexcept;

  // hiredis' text for the last failure ("Connection refused", "Server closed the connection",
  // an error reply, ...), for logs. Empty when nothing failed yet.
  [[nodiscard]] const std::string& last_error() const noexcept;

  [[nodiscard]] const RedisConfig& config() const noexcept;

 private:
  struct Impl;
  // Shared with in-flight Asio handlers (socket waits) so that a wait completing after this
  // object is gone finds live state instead of a dangling pointer.
  std::shared_ptr<Impl> impl_;
};

}  // namespace xbanku::mirror
