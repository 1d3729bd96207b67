#include "xbanku/mirror/redis_config.hpp"

#include "xbanku/common/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <utility>

namespace xbanku::mirror {
namespace {

constexpr std::string_view kScheme = "redis://";

// A parse step either succeeds or leaves a reason; the caller turns it into invalid_config.
struct Failure {
  std::string reason;
};

[[nodiscard]] bool parse_uint(std::string_view s, unsigned long long max, unsigned long long& out) {
  if (s.empty() || s.size() > 20) return false;
  // from_chars accepts no sign, no spaces: exactly the digits we want.
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out <= max;
}

[[nodiscard]] bool valid_hostname(std::string_view host) {
  // Letters, digits, '-', '.', '_' cover DNS names and IPv4 literals; anything else (spaces,
  // '/', '@', '%') is far more likely a typo than a host, so say so instead of failing at DNS.
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

// Splits "host:port", "[v6]:port", and (when port_required is false) "host" / "[v6]".
[[nodiscard]] std::optional<Failure> parse_host_port(std::string_view hp, bool port_required,
                                                     RedisConfig& cfg) {
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!hp.empty() && hp.front() == '[') {
    const auto close = hp.find(']');
    if (close == std::string_view::npos) return Failure{"IPv6 address is missing its ']'"};
    host = hp.substr(1, close - 1);
    const auto rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Failure{fmt::format("unexpected '{}' after ']'", rest)};
      port = rest.substr(1);
      has_port = true;
    }
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != host.npos)
      return Failure{fmt::format("'{}' is not an IPv6 address", host)};
  } else {
    const auto colon = hp.rfind(':');
    if (colon != std::string_view::npos) {
      if (hp.find(':') != colon)
        return Failure{"an IPv6 address must be written in brackets, e.g. [::1]:6379"};
      host = hp.substr(0, colon);
      port = hp.substr(colon + 1);
      has_port = true;
    } else {
      host = hp;
    }
    if (host.empty()) return Failure{"the host is empty"};
    if (!valid_hostname(host))
      return Failure{
          fmt::format("host '{}' contains a character not allowed in a host name", host)};
  }
  if (!has_port && port_required)
    return Failure{
        fmt::format("'{}' has no port: expected host:port or redis://host[:port][/db]", hp)};
  if (has_port) {
    unsigned long long p = 0;
    if (!parse_uint(port, 65535, p) || p == 0)
      return Failure{fmt::format("port '{}' is not a number in 1-65535", port)};
    cfg.port = static_cast<std::uint16_t>(p);
  }
  cfg.host = std::string(host);
  return std::nullopt;
}

[[nodiscard]] bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    unsigned long long byte = 0;
    if (i + 2 >= in.size()) return false;
    const auto hex = in.substr(i + 1, 2);
    const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), byte, 16);
    if (ec != std::errc{} || end != hex.data() + hex.size() || hex.size() != 2) return false;
    out += static_cast<char>(byte);
    i += 2;
  }
  return true;
}

[[nodiscard]] std::optional<Failure> parse(std::string_view url, RedisConfig& cfg) {
  if (url.empty()) return Failure{"the Redis address is empty"};
  if (url.find_first_of(" \t\r\n") != url.npos)
    return Failure{"the Redis address contains whitespace"};

  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return parse_host_port(url, true, cfg);

  if (url.substr(0, kScheme.size()) != kScheme) {
    const auto scheme = url.substr(0, scheme_end);
    if (scheme == "rediss") return Failure{"TLS (rediss://) is not supported"};
    if (scheme == "unix" || scheme == "redis+unix")
      return Failure{"unix-socket addresses are not supported; use redis://host:port"};
    return Failure{fmt::format("unsupported scheme '{}://'; expected redis://", scheme)};
  }
  auto rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != rest.npos)
    return Failure{"query strings and fragments are not supported in the Redis URL"};

  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  const auto path = slash == rest.npos ? std::string_view{} : rest.substr(slash + 1);
  const auto at = authority.rfind('@');
  if (at != authority.npos) {
    const auto userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    if (colon == userinfo.npos)
      return Failure{"credentials in the Redis URL must be user:password@ or :password@"};
    if (!percent_decode(userinfo.substr(0, colon), cfg.username) ||
        !percent_decode(userinfo.substr(colon + 1), cfg.password))
      return Failure{"malformed %-escape in the Redis URL's credentials"};
    if (cfg.password.empty()) return Failure{"the password in the Redis URL is empty"};
  }
  if (auto f = parse_host_port(authority.substr(at == authority.npos ? 0 : at + 1), false, cfg))
    return f;

  if (!path.empty()) {
    unsigned long long db = 0;
    if (!parse_uint(path, static_cast<unsigned long long>(std::numeric_limits<int>::max()), db))
      return Failure{fmt::format("database '{}' is not a non-negative number", path)};
    cfg.db = static_cast<int>(db);
  }
  return std::nullopt;
}

}  // namespace

boost::system::result<RedisConfig> parse_redis_url(std::string_view url, std::string* why,
                                                   std::string_view fallback_password) {
  RedisConfig cfg;
  if (auto failure = parse(url, cfg)) {
    if (why) *why = std::move(failure->reason);
    return make_error_code(errc::invalid_config);
  }
  if (cfg.password.empty()) cfg.password = fallback_password;
  if (why) why->clear();
  return cfg;
}

std::string redact_redis_url(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == url.npos) return std::string(url);
  const auto start = scheme + 3;
  const auto end = std::min(url.size(), url.find('/', start));
  const auto at = url.substr(0, end).rfind('@');
  if (at == url.npos || at < start) return std::string(url);
  const auto colon = url.substr(0, at).find(':', start);
  if (colon == url.npos) return std::string(url);
  return fmt::format("{}***{}", url.substr(0, colon + 1), url.substr(at));
}

}  // namespace xbanku::mirror
