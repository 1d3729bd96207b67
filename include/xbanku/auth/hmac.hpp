#pragma once
// HMAC-SHA256 and base64url, and what instances of one cluster prove to each other with the
// secret they share (one file, the same bytes on every instance): a signed-request credential
// for forwarded HTTP requests and a MAC for member announcements. Pure functions, no I/O;
// every function here is thread-safe.
//
// Byte strings travel as std::string / std::string_view (any byte value, not text).

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace xbanku::auth {

// The shortest shared secret accepted anywhere in auth/: HS256's key must be at least the
// hash's size (RFC 7518 §3.2), and the peer secret is the same kind of key.
inline constexpr std::size_t kMinSecretBytes = 32;

using Digest = std::array<unsigned char, 32>;

// HMAC-SHA256(key, data). Any key length (the peer helpers below enforce kMinSecretBytes).
// Throws std::runtime_error only if OpenSSL cannot compute it (out of memory).
[[nodiscard]] Digest hmac_sha256(std::string_view key, std::string_view data);

// RFC 4648 §5 base64url without padding (what JWS and the peer credential use).
[[nodiscard]] std::string base64url_encode(std::string_view bytes);
[[nodiscard]] std::string base64url_encode(std::span<const unsigned char> bytes);

// The bytes, or nullopt unless `text` is canonical unpadded base64url: only A-Z a-z 0-9 - _,
// no '=', no white space, a length that is not 1 mod 4, and zero unused bits in the last
// character (so every byte string has exactly one encoding and a signature cannot be
// re-spelled).
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

// a == b in time that depends only on the lengths (CRYPTO_memcmp), for comparing MACs.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// An instance name as the peer scheme carries it: 1..200 characters of valid UTF-8, no ';'
// (the credential's separator), no control or bidi control character.
[[nodiscard]] bool valid_instance_name(std::string_view instance) noexcept;

// --- Forwarded requests -------------------------------------------------------------------
//
// v1;<instance>;<unix_ms>;<base64url(HMAC-SHA256(secret, "xbanku-peer-v1\n" + instance + "\n"
//     + unix_ms + "\n" + method + "\n" + target))>
//
// It proves that an instance holding the secret sent this method and target at about this
// time. It does not cover headers or a body, and it can be replayed for the same method and
// target within the allowed skew: use it for idempotent requests, or add a nonce cache.

enum class PeerError : std::uint8_t {
  malformed,  // not v1;instance;unix_ms;mac with a valid instance, timestamp and MAC encoding
  bad_mac,    // the MAC does not match: another secret, or another method, target or time
  stale,      // a genuine credential, but its time is more than max_skew_ms from now
};

// "malformed" | "bad_mac" | "stale", for logs and metrics.
[[nodiscard]] std::string_view to_string(PeerError) noexcept;

// Lets result<…, PeerError>::value() throw (found by ADL): a std::runtime_error naming the
// error. Prefer checking the result.
[[noreturn]] void throw_exception_from_error(PeerError error, const boost::source_location& loc);

// The credential for one request (`target` is the request target as sent: path and query).
// Preconditions (std::invalid_argument if broken — a bug, config validates them first):
// secret.size() >= kMinSecretBytes, valid_instance_name(instance), unix_ms >= 0, and method
// and target non-empty without control characters.
[[nodiscard]] std::string peer_credential(std::string_view secret, std::string_view instance,
                                          std::int64_t unix_ms, std::string_view method,
                                          std::string_view target);

// The sending instance's name if `header_value` is a credential made with `secret` for this
// method and target no more than max_skew_ms from now_ms (either side). The MAC is checked
// before the time, so `stale` is only ever reported for a genuine credential (a clock
// problem, not an attack). Precondition: secret.size() >= kMinSecretBytes.
[[nodiscard]] boost::system::result<std::string, PeerError> verify_peer_credential(
    std::string_view secret, std::string_view header_value, std::string_view method,
    std::string_view target, std::int64_t now_ms, std::int64_t max_skew_ms = 30000);

// --- Member announcements -----------------------------------------------------------------
//
// base64url(HMAC-SHA256(secret, "xbanku-announce-v1\n" + payload)). Its prefix and the peer
// credential's differ at byte 7 ('a' vs 'p'), so no message signed for one purpose is a
// message of the other, whatever the payload: neither MAC can be replayed as the other.

// The MAC for an announcement's payload. Precondition: secret.size() >= kMinSecretBytes.
[[nodiscard]] std::string sign_announcement(std::string_view secret, std::string_view payload);

// True iff `mac` is sign_announcement(secret, payload) (compared in constant time).
// Precondition: secret.size() >= kMinSecretBytes.
[[nodiscard]] bool verify_announcement(std::string_view secret, std::string_view payload,
                                       std::string_view mac);

}  // namespace xbanku::auth
