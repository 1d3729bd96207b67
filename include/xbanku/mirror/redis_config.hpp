#pragma once
// Where the Redis mirror connects and how long it may wait (DESIGN §6, §7), and the parser for
// `--redis`/REDIS_URL. Pure: no I/O, unit-tested without a server.

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace xbanku::mirror {

struct RedisConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;  // SELECTed after connect when not 0
  // AUTH after connect when `password` is not empty: `AUTH password` (requirepass), or
  // `AUTH username password` (an ACL user, Redis 6+). Never logged.
  std::string username;
  std::string password;
  std::chrono::milliseconds connect_timeout{1000};  // resolve + TCP connect + SELECT
  std::chrono::milliseconds command_timeout{2000};  // one pipeline, from first send to last reply
};

// Parses `host:port` (the original's REDIS_URL), `[v6addr]:port`, or
// `redis://host[:port][/db]`. On failure returns errc::invalid_config and, when `why` is not
// null, stores a one-line reason naming the problem (e.g. "port '0' is out of range 1-65535").
// `redis://[user:password@]host...` (percent-encoded; `:password@` for requirepass) fills
// username/password; when the URL has no password, `fallback_password` (REDIS_PASSWORD) is used.
// TLS (rediss://), unix sockets and query strings are rejected as unsupported (hiredis 0.14
// has no TLS: README "Redis credentials"). Pure function; thread-safe.
[[nodiscard]] boost::system::result<RedisConfig> parse_redis_url(
    std::string_view url, std::string* why = nullptr, std::string_view fallback_password = {});

// The URL as it may be logged: a password in it replaced by "***". Pure; thread-safe.
[[nodiscard]] std::string redact_redis_url(std::string_view url);

}  // namespace xbanku::mirror
