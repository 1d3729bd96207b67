#pragma once
// auth/'s private pieces shared by jwt.cpp and jwk.cpp: verification keys as loaded from a
// key source, and the strict JSON reading both use.

#include "openssl.hpp"
#include "xbanku/auth/jwt.hpp"

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::auth::detail {

enum class Alg : std::uint8_t { hs256, rs256, es256 };

// "HS256" | "RS256" | "ES256": the JWA name, as a token's `alg` must spell it (case matters).
[[nodiscard]] std::string_view alg_name(Alg) noexcept;

// One verification key and the one algorithm it verifies.
struct Key {
  std::optional<std::string> kid;  // JWKS keys only
  Alg alg = Alg::hs256;
  PkeyPtr pkey;        // RS256, ES256: a provider-native public key, never modified after load
  std::string secret;  // HS256
};

struct KeySet {
  std::vector<Key> keys;             // at least one
  bool from_jwks = false;            // keys are chosen by the token's kid
  std::vector<std::string> skipped;  // JWKS: why each unusable key was left out
};

// The keys of a key source, or one line saying why it is refused.
[[nodiscard]] boost::system::result<KeySet, std::string> load_keys(const VerifierConfig& config);

enum class JsonFault : std::uint8_t { invalid, duplicate_key };

// RFC 8259 JSON as Boost.JSON reads it by default (no comments, no trailing commas, valid
// UTF-8), nested at most 16 deep, with no object that names a key twice: Boost.JSON keeps the
// last of two equal keys while another JWT library may read the first, and a token must have
// one meaning (RFC 7515 §4 and RFC 7519 §4 allow refusing it). Thread-safe.
[[nodiscard]] boost::system::result<boost::json::value, JsonFault> parse_strict_json(
    std::string_view text);

}  // namespace xbanku::auth::detail
