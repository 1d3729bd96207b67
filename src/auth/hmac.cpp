#include "xbanku/auth/hmac.hpp"

#include "openssl.hpp"
#include "xbanku/domain/events.hpp"

#include <boost/throw_exception.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <charconv>
#include <limits>
#include <stdexcept>

namespace xbanku::auth {
namespace {

constexpr std::string_view kPeerVersion = "v1";
constexpr std::string_view kPeerDomain = "xbanku-peer-v1\n";
constexpr std::string_view kAnnounceDomain = "xbanku-announce-v1\n";
// Unix milliseconds have 13 digits until the year 2286; 16 keeps every difference of two
// timestamps and a plausible clock inside int64 arithmetic.
constexpr std::size_t kMaxMsDigits = 16;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0..63 for an alphabet character, -1 for anything else.
int sextet(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool has_control(std::string_view s) noexcept {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

void require_secret(std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    throw std::invalid_argument(
        fmt::format("auth: a shared secret must be at least {} bytes", kMinSecretBytes));
  }
}

std::string_view as_chars(const Digest& d) noexcept {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string peer_message(std::string_view instance, std::string_view unix_ms,
                         std::string_view method, std::string_view target) {
  std::string m;
  m.reserve(kPeerDomain.size() + instance.size() + unix_ms.size() + method.size() + target.size() +
            3);
  m.append(kPeerDomain).append(instance).append("\n").append(unix_ms).append("\n");
  m.append(method).append("\n").append(target);
  return m;
}

// Decimal digits without a sign or leading zeros, as peer_credential writes them.
std::optional<std::int64_t> parse_ms(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxMsDigits || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::uint64_t distance(std::int64_t a, std::int64_t b) noexcept {
  // Unsigned wrap-around gives the exact distance whenever it fits in 64 bits, which it does.
  return a >= b ? static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b)
                : static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a);
}

}  // namespace

Digest hmac_sha256(std::string_view key, std::string_view data) {
  detail::ErrorQueueGuard guard;
  if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::invalid_argument("auth: HMAC key too long");
  }
  // OpenSSL 3.0's HMAC() treats a null key as "no key set" and fails; an empty key is a
  // valid (if useless) HMAC key, so give it a non-null pointer.
  static const unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? &kEmpty : static_cast<const void*>(key.data());
  Digest out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr ||
      len != out.size()) {
    throw std::runtime_error("auth: OpenSSL could not compute HMAC-SHA256");
  }
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    const std::uint32_t v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::string base64url_encode(std::span<const unsigned char> bytes) {
  return base64url_encode(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;  // no byte count encodes to that length
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = sextet(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The 2 or 4 bits left over must be zero, or "AB" and "AC" would both decode to one byte.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool valid_instance_name(std::string_view instance) noexcept {
  return instance.find(';') == std::string_view::npos &&
         !domain::check_text(instance, 1, domain::kMaxPrincipalChars);
}

std::string_view to_string(PeerError e) noexcept {
  switch (e) {
    case PeerError::malformed: return "malformed";
    case PeerError::bad_mac: return "bad_mac";
    case PeerError::stale: return "stale";
  }
  return "malformed";
}

void throw_exception_from_error(PeerError error, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(fmt::format("peer credential: {}", to_string(error))),
                         loc);
}

std::string peer_credential(std::string_view secret, std::string_view instance,
                            std::int64_t unix_ms, std::string_view method,
                            std::string_view target) {
  require_secret(secret);
  if (!valid_instance_name(instance)) throw std::invalid_argument("auth: invalid instance name");
  if (unix_ms < 0) throw std::invalid_argument("auth: negative peer timestamp");
  if (method.empty() || has_control(method) || target.empty() || has_control(target)) {
    throw std::invalid_argument("auth: peer method and target must be non-empty, no controls");
  }
  const std::string ms = std::to_string(unix_ms);
  const Digest mac = hmac_sha256(secret, peer_message(instance, ms, method, target));
  return fmt::format("{};{};{};{}", kPeerVersion, instance, ms, base64url_encode(mac));
}

boost::system::result<std::string, PeerError> verify_peer_credential(
    std::string_view secret, std::string_view header_value, std::string_view method,
    std::string_view target, std::int64_t now_ms, std::int64_t max_skew_ms) {
  require_secret(secret);
  // v1;<instance>;<unix_ms>;<mac>: the instance cannot contain ';', so the split is exact.
  std::string_view fields[4];
  std::string_view rest = header_value;
  for (int i = 0; i < 3; ++i) {
    const auto semi = rest.find(';');
    if (semi == std::string_view::npos) return PeerError::malformed;
    fields[i] = rest.substr(0, semi);
    rest.remove_prefix(semi + 1);
  }
  fields[3] = rest;
  if (fields[0] != kPeerVersion || !valid_instance_name(fields[1])) return PeerError::malformed;
  const auto ms = parse_ms(fields[2]);
  const auto mac = base64url_decode(fields[3]);
  if (!ms || !mac || mac->size() != Digest{}.size()) return PeerError::malformed;
  // A method or target no credential could have been made for matches nothing.
  if (method.empty() || has_control(method) || target.empty() || has_control(target)) {
    return PeerError::bad_mac;
  }
  const Digest expected = hmac_sha256(secret, peer_message(fields[1], fields[2], method, target));
  if (!constant_time_equal(as_chars(expected), *mac)) return PeerError::bad_mac;
  const std::uint64_t skew = max_skew_ms > 0 ? static_cast<std::uint64_t>(max_skew_ms) : 0;
  if (distance(*ms, now_ms) > skew) return PeerError::stale;
  return std::string(fields[1]);
}

std::string sign_announcement(std::string_view secret, std::string_view payload) {
  require_secret(secret);
  std::string message;
  message.reserve(kAnnounceDomain.size() + payload.size());
  message.append(kAnnounceDomain).append(payload);
  return base64url_encode(hmac_sha256(secret, message));
}

bool verify_announcement(std::string_view secret, std::string_view payload, std::string_view mac) {
  const std::string expected = sign_announcement(secret, payload);
  return constant_time_equal(expected, mac);
}

}  // namespace xbanku::auth
