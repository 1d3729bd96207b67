#pragma once
// Bearer tokens: JWTs (RFC 7519) in JWS compact serialization (RFC 7515), verified the way
// RFC 8725 asks — the key decides the algorithm, never the token. One key source per Verifier:
// an HS256 secret, a PEM public key (RSA → RS256, EC P-256 → ES256) or a JWK Set (RFC 7517)
// whose keys are chosen by `kid`. Also the RFC 6750 WWW-Authenticate values for refusals, and
// HS256 minting for the `xbanku token` command. Pure: no clock unless asked, no I/O, no
// sockets (the caller reads key files).

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace xbanku::auth {

// --- Configuration --------------------------------------------------------------------------

// The raw bytes of a shared secret (the whole key file); at least kMinSecretBytes (32).
struct Hs256Secret {
  std::string bytes;
};
// A SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"): RSA of 2048 bits or more, or EC
// on P-256. A private key, a certificate or any other key type is refused.
struct PublicKeyPem {
  std::string pem;
};
// A JWK Set document ({"keys":[…]}). Keys this service cannot use are skipped, as RFC 7517
// §5 asks (another kty or curve, an `alg` other than the key type's, `use` other than "sig",
// `key_ops` without "verify", RSA under 2048 bits), and so is a key without `kid` among
// several (no token could choose it); a usable-looking key that is broken (bad base64url, a
// point off the curve), two usable keys with one kid, or no usable key at all refuse the
// whole document. A token without `kid` is only accepted by a one-key set.
struct JwksDocument {
  std::string json;
};

struct VerifierConfig {
  // Exactly one key source, by construction.
  std::variant<Hs256Secret, PublicKeyPem, JwksDocument> key;
  // When set, `iss` must be present and equal.
  std::optional<std::string> issuer;
  // When set, `aud` (a string or an array of strings) must be present and contain it. When
  // not set, a token that names an audience is refused (RFC 7519 §4.1.3: a recipient that
  // does not identify itself with a value in `aud` MUST reject it), so a token minted for
  // another service is never accepted here.
  std::optional<std::string> audience;
  // Clock skew allowed on exp, nbf and iat: 0..300 s.
  std::chrono::seconds leeway{30};
};

// --- Results --------------------------------------------------------------------------------

// Who a valid token speaks for.
struct Principal {
  std::string subject;  // `sub`: 1..200 characters, valid UTF-8, no control or bidi control
  std::set<std::string, std::less<>> scopes;  // from `scope` and/or `scp`, unknown ones kept
  std::int64_t expires_at = 0;                // `exp` in Unix seconds (rounded down)

  [[nodiscard]] bool has_scope(std::string_view scope) const { return scopes.contains(scope); }
  friend bool operator==(const Principal&, const Principal&) = default;
};

enum class TokenErrc : std::uint8_t {
  malformed,              // not a well-formed compact JWS/JWT, or a claim of the wrong type
  unsupported_algorithm,  // header `alg` is not the algorithm of the key it must verify with
  bad_signature,          // the signature does not verify
  expired,                // now >= exp + leeway
  not_yet_valid,          // now + leeway < nbf, or iat in the future beyond the leeway
  wrong_issuer,           // `iss` is not the configured issuer
  wrong_audience,         // `aud` does not contain the configured audience (or names one
                          // when none is configured)
  missing_claim,          // exp or sub (or iss/aud when configured) is absent
  unknown_key,            // JWKS: no key has the token's kid
};

struct TokenError {
  TokenErrc code;
  // One short line for a log or an error_description. Never quotes the token or its claims.
  std::string description;
};

// "malformed" | "unsupported_algorithm" | …: the enumerator's name, for logs and metrics.
[[nodiscard]] std::string_view to_string(TokenErrc) noexcept;

// Lets result<Principal, TokenError>::value() throw (found by ADL): a std::runtime_error with
// the description. Prefer checking the result.
[[noreturn]] void throw_exception_from_error(const TokenError& error,
                                             const boost::source_location& loc);

// --- Verification ---------------------------------------------------------------------------

// Immutable once created; copies share the keys. verify() is const and safe to call from any
// number of threads at once.
class Verifier {
 public:
  // A Verifier, or one line saying what is wrong with the configuration (short secret, key
  // type, unusable JWKS, leeway out of range). Never throws except std::bad_alloc.
  [[nodiscard]] static boost::system::result<Verifier, std::string> create(
      const VerifierConfig& config);

  // The token's principal if it is a compact JWS signed by this Verifier's key with the key's
  // algorithm and its claims hold at `now_unix` (seconds since the Unix epoch). Thread-safe.
  [[nodiscard]] boost::system::result<Principal, TokenError> verify(std::string_view token,
                                                                    std::int64_t now_unix) const;
  // The same at the system clock's now. Thread-safe.
  [[nodiscard]] boost::system::result<Principal, TokenError> verify(std::string_view token) const;

  // One line for the start-up log, e.g. `JWKS: kid k1 RS256, kid k2 ES256 (1 skipped: key "k3":
  // kty OKP); issuer any; audience xbanku; leeway 30 s`. Names no secret. Thread-safe.
  [[nodiscard]] std::string describe() const;

 private:
  struct State;  // the keys and the claim rules (src/auth/jwt.cpp)
  explicit Verifier(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

// Tokens longer than this are refused before any parsing (a header line is no place for more).
inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;

// The token in an `Authorization: Bearer <token>` value (scheme case-insensitive, RFC 6750
// §2.1 b64token syntax), or nullopt for any other value. Pure, thread-safe.
[[nodiscard]] std::optional<std::string_view> bearer_token(std::string_view authorization);

// --- RFC 6750 responses ---------------------------------------------------------------------

// The `error` attribute for a refused token: "invalid_token" for every TokenErrc.
[[nodiscard]] std::string_view rfc6750_error(TokenErrc) noexcept;

// 401, token refused: Bearer realm="xbanku", error="invalid_token", error_description="…"
// (the description printable ASCII, '"' and '\' escaped, at most 200 characters). RFC 6750 §3
// allows neither character in error_description at all; Verifier's descriptions never hold
// one, and the escaping keeps the header parseable if a caller's description does.
[[nodiscard]] std::string www_authenticate(const TokenError& error);
// 401, no token: Bearer realm="xbanku" (RFC 6750 §3.1: no error code when none was sent).
[[nodiscard]] std::string www_authenticate_missing();
// 403, valid token without the scope: Bearer realm="xbanku", error="insufficient_scope",
// scope="<scope>".
[[nodiscard]] std::string www_authenticate_insufficient_scope(std::string_view scope);

// --- Minting --------------------------------------------------------------------------------

struct Claims {
  std::string sub;                  // the rule of Principal::subject
  std::vector<std::string> scopes;  // written as one space-separated `scope`; RFC 6749 syntax
  std::int64_t iat = 0;             // Unix seconds
  std::int64_t exp = 0;             // Unix seconds, after iat
  std::optional<std::string> iss;
  std::optional<std::string> aud;
};

// A compact JWS with header {"alg":"HS256","typ":"JWT"} over the claims, which a Verifier
// with the same secret (and that issuer and audience, if set) accepts from iat to exp; or one
// line saying which input is invalid (secret under 32 bytes, sub, a scope, exp <= iat).
// Pure, thread-safe.
[[nodiscard]] boost::system::result<std::string, std::string> mint_hs256(std::string_view secret,
                                                                         const Claims& claims);

}  // namespace xbanku::auth
