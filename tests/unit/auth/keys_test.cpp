// Verifier::create (jwt.hpp, src/auth/jwk.cpp): which key sources are accepted, and why the
// others are refused.
#include "test_keys.hpp"
#include "xbanku/auth/hmac.hpp"
#include "xbanku/auth/jwt.hpp"

#include <gtest/gtest.h>

namespace xbanku::auth {
namespace {

using test::make_verifier;

// The refusal message, or "" when the config is accepted.
std::string refused(const VerifierConfig& config) {
  const auto v = Verifier::create(config);
  return v ? std::string() : v.error();
}
std::string refused_jwks(std::string json) {
  return refused({.key = JwksDocument{std::move(json)}});
}
std::string refused_pem(std::string pem) {
  return refused({.key = PublicKeyPem{std::move(pem)}});
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

std::string jwks(std::initializer_list<std::string> keys) {
  std::string out = R"({"keys":[)";
  for (const auto& k : keys) out += (out.back() == '[' ? "" : ",") + k;
  return out + "]}";
}

TEST(KeySource, Hs256SecretOfAtLeast32Bytes) {
  EXPECT_TRUE(contains(refused({.key = Hs256Secret{std::string(31, 'k')}}), "at least 32"));
  EXPECT_TRUE(contains(refused({.key = Hs256Secret{}}), "at least 32"));
  EXPECT_EQ(refused({.key = Hs256Secret{std::string(32, 'k')}}), "");
  EXPECT_EQ(refused({.key = Hs256Secret{std::string(32, '\0')}}), "") << "raw bytes, any value";
}

TEST(KeySource, PemPublicKeysOfTheTwoKinds) {
  EXPECT_EQ(refused_pem(test::public_pem(test::rsa_key())), "");
  EXPECT_EQ(refused_pem(test::public_pem(test::ec_key())), "");
  EXPECT_NE(refused_pem(""), "");
  EXPECT_NE(refused_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "");
  EXPECT_TRUE(contains(refused_pem(test::private_pem(test::rsa_key())), "BEGIN PUBLIC KEY"))
      << "a private key is not a verification key";
  EXPECT_NE(refused_pem(test::private_pem(test::ec_key())), "");
  EXPECT_TRUE(contains(refused_pem(test::public_pem(test::generate_rsa(1024).get())), "1024"));
  EXPECT_TRUE(contains(refused_pem(test::public_pem(test::generate_ec("P-384").get())), "P-256"));
  EXPECT_TRUE(contains(refused_pem(test::public_pem(test::generate_ed25519().get())), "RSA or EC"));
}

TEST(KeySource, LeewayIsBounded) {
  const auto with = [](std::int64_t s) {
    return refused({.key = Hs256Secret{std::string(32, 'k')}, .leeway = std::chrono::seconds(s)});
  };
  EXPECT_EQ(with(0), "");
  EXPECT_EQ(with(300), "");
  EXPECT_NE(with(-1), "");
  EXPECT_NE(with(301), "");
}

TEST(Jwks, DocumentShape) {
  EXPECT_TRUE(contains(refused_jwks(""), "not valid JSON"));
  EXPECT_TRUE(contains(refused_jwks("[]"), "keys"));
  EXPECT_TRUE(contains(refused_jwks(R"({"keys":{}})"), "keys"));
  EXPECT_TRUE(contains(refused_jwks(test::public_jwk(test::rsa_key())), "keys"))
      << "one JWK is not a JWK Set";
  EXPECT_TRUE(contains(refused_jwks(R"({"keys":[]})"), "no keys"));
  EXPECT_TRUE(contains(
      refused_jwks(R"({"keys":[],"keys":[)" + test::public_jwk(test::rsa_key()) + "]}"), "twice"));
  EXPECT_NE(refused_jwks(R"({"keys":["RSA"]})"), "");
  EXPECT_NE(refused_jwks(R"({"keys":[{"n":"AQAB","e":"AQAB"}]})"), "") << "no kty";
  EXPECT_NE(refused_jwks(jwks({test::public_jwk(test::rsa_key(), R"("kid":7)")})), "");
  EXPECT_NE(refused_jwks(jwks({test::public_jwk(test::rsa_key(), R"("use":1)")})), "");
}

TEST(Jwks, UnusableKeysAreSkippedAndNamed) {
  const std::string rsa = test::public_jwk(test::rsa_key(), R"("kid":"good")");
  const std::string skipped[] = {
      R"({"kty":"oct","kid":"h1","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ"})",
      R"({"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
      R"({"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"})",
      test::public_jwk(test::rsa_key(), R"("kid":"rs512","alg":"RS512")"),
      test::public_jwk(test::ec_key(), R"("kid":"es-as-rs","alg":"RS256")"),
      test::public_jwk(test::rsa_key(), R"("kid":"enc","use":"enc")"),
      test::public_jwk(test::rsa_key(), R"("kid":"ops","key_ops":["encrypt"])"),
      test::public_jwk(test::generate_rsa(1024).get(), R"("kid":"weak")"),
  };
  for (const std::string& key : skipped) {
    EXPECT_TRUE(contains(refused_jwks(jwks({key})), "no usable key")) << key;
    const auto v = Verifier::create({.key = JwksDocument{jwks({key, rsa})}});
    ASSERT_TRUE(v) << key << ": " << v.error();
    EXPECT_TRUE(contains(v->describe(), "1 skipped")) << v->describe();
  }
  const auto v = make_verifier({.key = JwksDocument{jwks({rsa, skipped[0], skipped[5]})}});
  EXPECT_TRUE(contains(v.describe(), "kid good RS256")) << v.describe();
  EXPECT_TRUE(contains(v.describe(), "key \"h1\": kty oct")) << v.describe();
  EXPECT_TRUE(contains(v.describe(), "key \"enc\": use enc")) << v.describe();
  // A key with a matching alg, use and key_ops is used.
  EXPECT_EQ(refused_jwks(jwks({test::public_jwk(
                test::ec_key(), R"("kid":"e","alg":"ES256","use":"sig","key_ops":["verify"])")})),
            "");
}

TEST(Jwks, TwoUsableKeysWithOneKidRefuseTheDocument) {
  const std::string rsa = test::public_jwk(test::rsa_key(), R"("kid":"a")");
  EXPECT_TRUE(
      contains(refused_jwks(jwks({rsa, test::public_jwk(test::other_rsa_key(), R"("kid":"a")")})),
               "two usable keys with kid \"a\""));
}

TEST(Jwks, AmongSeveralKeysAKeyWithoutKidIsSkipped) {
  // It could never be chosen: a token without kid only gets the key of a one-key set.
  EXPECT_TRUE(contains(
      refused_jwks(jwks({test::public_jwk(test::rsa_key()), test::public_jwk(test::ec_key())})),
      "no usable key"));
  const auto v = make_verifier(
      {.key = JwksDocument{jwks({test::public_jwk(test::rsa_key()),
                                 test::public_jwk(test::ec_key(), R"("kid":"e1")")})}});
  EXPECT_TRUE(contains(v.describe(), "kid e1 ES256 (1 skipped: an RS256 key without kid"))
      << v.describe();
  EXPECT_EQ(refused_jwks(jwks({test::public_jwk(test::rsa_key())})), "") << "alone, it is fine";
}

TEST(Jwks, BrokenKeyMaterialRefusesTheDocument) {
  EXPECT_NE(refused_jwks(jwks({R"({"kty":"RSA","kid":"x","n":"a+b","e":"AQAB"})"})), "");
  EXPECT_NE(refused_jwks(jwks({R"({"kty":"RSA","kid":"x","e":"AQAB"})"})), "");
  EXPECT_NE(refused_jwks(jwks({R"({"kty":"RSA","kid":"x","n":"","e":"AQAB"})"})), "");

  // The RFC 7515 A.3 key, whole and then with its point moved off the curve or cut short.
  const std::string x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
  const std::string y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
  const auto ec = [](std::string_view px, std::string_view py) {
    return R"({"kty":"EC","crv":"P-256","x":")" + std::string(px) + R"(","y":")" + std::string(py) +
           "\"}";
  };
  EXPECT_EQ(refused_jwks(jwks({ec(x, y)})), "");
  std::string off_curve = y;
  off_curve[0] = 'y';
  EXPECT_NE(refused_jwks(jwks({ec(x, off_curve)})), "");
  EXPECT_NE(refused_jwks(jwks({ec(x, y.substr(0, 40))})), "") << "not 32 bytes";
  EXPECT_NE(refused_jwks(jwks({ec(x, y + "AAAA")})), "") << "not 32 bytes";
  EXPECT_NE(refused_jwks(jwks({ec(x, "")})), "");
}

TEST(Describe, NamesTheKeyAndRulesButNoSecret) {
  const std::string secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t";
  const auto hs = make_verifier({.key = Hs256Secret{secret}, .issuer = "https://id.example"});
  EXPECT_TRUE(contains(hs.describe(), "HS256")) << hs.describe();
  EXPECT_TRUE(contains(hs.describe(), "https://id.example")) << hs.describe();
  EXPECT_FALSE(contains(hs.describe(), "s3cr3t")) << hs.describe();
  EXPECT_TRUE(
      contains(make_verifier({.key = PublicKeyPem{test::public_pem(test::rsa_key())}}).describe(),
               "RS256 with a 2048-bit"));
  EXPECT_TRUE(contains(
      make_verifier({.key = PublicKeyPem{test::public_pem(test::ec_key())}}).describe(), "ES256"));
}

}  // namespace
}  // namespace xbanku::auth
