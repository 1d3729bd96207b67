#pragma once
// Keys and token signing for the auth tests, on OpenSSL directly (the module under test only
// verifies). Keys are generated when a test first asks for them, once per process:
// EVP_PKEY_Q_keygen for RSA 2048 and EC P-256 costs well under a second, keeps private keys
// out of the repository (no key a scanner flags, none to rotate), and makes the tests export
// every public form themselves (PEM, JWK), so they check the Verifier against what OpenSSL
// writes rather than against text pasted once.

#include "xbanku/auth/jwt.hpp"

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace xbanku::auth {

// gtest prints a TokenErrc by name (found by ADL, so it lives in the enum's namespace).
inline void PrintTo(TokenErrc code, std::ostream* os) {
  *os << to_string(code);
}

}  // namespace xbanku::auth

namespace xbanku::auth::test {

// A Verifier for a configuration the test expects to be accepted (throws, failing the test,
// if it is not).
inline Verifier make_verifier(const VerifierConfig& config) {
  auto v = Verifier::create(config);
  if (!v) throw std::runtime_error("Verifier::create refused the test's config: " + v.error());
  return std::move(*v);
}

// nullopt when the token was accepted, else why it was refused.
inline std::optional<TokenErrc> refusal(const boost::system::result<Principal, TokenError>& r) {
  if (r) return std::nullopt;
  return r.error().code;
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Generated on first use; the same key for the whole process. Thread-safe.
[[nodiscard]] const EVP_PKEY* rsa_key();        // RSA 2048
[[nodiscard]] const EVP_PKEY* other_rsa_key();  // another RSA 2048
[[nodiscard]] const EVP_PKEY* ec_key();         // EC P-256
[[nodiscard]] const EVP_PKEY* other_ec_key();   // another EC P-256

// A fresh key of another kind, for what the Verifier must refuse (e.g. RSA 1024, P-384).
[[nodiscard]] Pkey generate_rsa(std::size_t bits);
[[nodiscard]] Pkey generate_ec(const char* curve);
[[nodiscard]] Pkey generate_ed25519();

// "-----BEGIN PUBLIC KEY-----…" and "-----BEGIN PRIVATE KEY-----…".
[[nodiscard]] std::string public_pem(const EVP_PKEY* key);
[[nodiscard]] std::string private_pem(const EVP_PKEY* key);

// The public key as a JWK object's text: {"kty":"RSA","n","e"} or {"kty":"EC","crv":"P-256",
// "x","y"}, plus `extra` members (e.g. R"("kid":"k1","use":"sig")") when not empty.
[[nodiscard]] std::string public_jwk(const EVP_PKEY* key, std::string_view extra = {});

// SHA-256 signature of `input`: RSA PKCS#1 v1.5 bytes, or for EC the JWS form r || s (64
// bytes) or, with `der`, the DER form OpenSSL produces.
[[nodiscard]] std::string sign(const EVP_PKEY* key, std::string_view input, bool der = false);

// base64url(header) '.' base64url(payload) '.' base64url(signature) where the signature is
// made with `key` (sign) or, for hs256, HMAC-SHA256 with `secret`.
[[nodiscard]] std::string token(std::string_view header, std::string_view payload,
                                const EVP_PKEY* key, bool der = false);
[[nodiscard]] std::string hs256_token(std::string_view header, std::string_view payload,
                                      std::string_view secret);

}  // namespace xbanku::auth::test
