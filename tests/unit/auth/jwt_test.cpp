// Verifier::verify (jwt.hpp): signatures, the algorithm bound to the key, the token's shape,
// and the claims.
#include "xbanku/auth/jwt.hpp"

#include "test_keys.hpp"
#include "xbanku/auth/hmac.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <thread>
#include <vector>

namespace xbanku::auth {
namespace {

using test::make_verifier;
using test::refusal;

constexpr std::int64_t kNow = 1700000000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes
constexpr std::string_view kHs = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view kRs = R"({"alg":"RS256","typ":"JWT"})";
constexpr std::string_view kEs = R"({"alg":"ES256"})";

// {"sub":"alice","exp":kNow+600, <extra>}
std::string claims(std::string_view extra = {}) {
  std::string p = R"({"sub":"alice","exp":1700000600)";
  if (!extra.empty()) p.append(",").append(extra);
  return p + "}";
}

Verifier hs_verifier(VerifierConfig c = {}) {
  c.key = Hs256Secret{kSecret};
  return make_verifier(c);
}
Verifier pem_verifier(const EVP_PKEY* key) {
  return make_verifier({.key = PublicKeyPem{test::public_pem(key)}});
}
// A JWKS with the RSA key as kid "r1" and the EC key as kid "e1".
std::string two_key_jwks() {
  return R"({"keys":[)" + test::public_jwk(test::rsa_key(), R"("kid":"r1","use":"sig")") + "," +
         test::public_jwk(test::ec_key(), R"("kid":"e1","alg":"ES256")") + "]}";
}
Verifier jwks_verifier(const std::string& jwks = two_key_jwks()) {
  return make_verifier({.key = JwksDocument{jwks}});
}

std::string b64(std::string_view s) {
  return base64url_encode(s);
}

// --- Happy paths -----------------------------------------------------------------------------

TEST(Verify, Hs256) {
  const auto p = hs_verifier().verify(test::hs256_token(kHs, claims(), kSecret), kNow);
  ASSERT_TRUE(p) << p.error().description;
  EXPECT_EQ(p->subject, "alice");
  EXPECT_TRUE(p->scopes.empty());
  EXPECT_EQ(p->expires_at, 1700000600);
}

TEST(Verify, Rs256WithAPemKey) {
  const auto p =
      pem_verifier(test::rsa_key()).verify(test::token(kRs, claims(), test::rsa_key()), kNow);
  ASSERT_TRUE(p) << p.error().description;
  EXPECT_EQ(p->subject, "alice");
}

TEST(Verify, Es256WithAPemKey) {
  const auto p =
      pem_verifier(test::ec_key()).verify(test::token(kEs, claims(), test::ec_key()), kNow);
  ASSERT_TRUE(p) << p.error().description;
  EXPECT_EQ(p->subject, "alice");
}

TEST(Verify, JwksChoosesTheKeyByKid) {
  const Verifier v = jwks_verifier();
  const auto rs = test::token(R"({"alg":"RS256","kid":"r1"})", claims(), test::rsa_key());
  const auto es = test::token(R"({"alg":"ES256","kid":"e1"})", claims(), test::ec_key());
  EXPECT_TRUE(v.verify(rs, kNow));
  EXPECT_TRUE(v.verify(es, kNow));
  // The right algorithm and a valid signature, but the kid names a key of the other type.
  EXPECT_EQ(refusal(v.verify(
                test::token(R"({"alg":"RS256","kid":"e1"})", claims(), test::rsa_key()), kNow)),
            TokenErrc::unsupported_algorithm);
  EXPECT_EQ(refusal(v.verify(
                test::token(R"({"alg":"RS256","kid":"zz"})", claims(), test::rsa_key()), kNow)),
            TokenErrc::unknown_key);
  EXPECT_EQ(refusal(v.verify(test::token(R"({"alg":"RS256"})", claims(), test::rsa_key()), kNow)),
            TokenErrc::unknown_key)
      << "no kid and two keys: no guessing";
  EXPECT_EQ(
      refusal(v.verify(
          test::token(R"({"alg":"RS256","kid":"r1"})", claims(), test::other_rsa_key()), kNow)),
      TokenErrc::bad_signature);
  EXPECT_EQ(
      refusal(v.verify(test::token(R"({"alg":"ES256","kid":"e1"})", claims(), test::other_ec_key()),
                       kNow)),
      TokenErrc::bad_signature);
}

TEST(Verify, JwksWithOneKeyNeedsNoKid) {
  const Verifier v =
      jwks_verifier(R"({"keys":[)" + test::public_jwk(test::ec_key(), R"("kid":"only")") + "]}");
  EXPECT_TRUE(v.verify(test::token(kEs, claims(), test::ec_key()), kNow));
  EXPECT_EQ(refusal(v.verify(
                test::token(R"({"alg":"ES256","kid":"other"})", claims(), test::ec_key()), kNow)),
            TokenErrc::unknown_key);
}

// --- RFC 7515 examples -----------------------------------------------------------------------

// Appendix A.1: HS256, header {"typ":"JWT",\r\n "alg":"HS256"}, payload {"iss":"joe",\r\n
// "exp":1300819380,\r\n "http://example.com/is_root":true}.
constexpr std::string_view kA1 =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kA1Key =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

// Appendix A.3: ES256 over the same payload.
constexpr std::string_view kA3 =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr std::string_view kA3Jwks = R"({"keys":[{"kty":"EC","crv":"P-256",)"
                                     R"("x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
                                     R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})";

// The examples carry no `sub`, which this service requires: the signature verifies and the
// claims are then refused for that — missing_claim is only reached after the signature
// passed, as the altered copies (bad_signature) show.
std::string alter_signature(std::string_view token) {
  std::string t(token);
  const auto i = t.rfind('.') + 1;
  t[i] = t[i] == 'A' ? 'B' : 'A';  // the first character: six full bits, stays canonical
  return t;
}

TEST(Rfc7515, A1Hs256VerifiesWithItsJwkKey) {
  const auto key = base64url_decode(kA1Key);
  ASSERT_TRUE(key);
  ASSERT_EQ(key->size(), 64u);
  const Verifier v = make_verifier({.key = Hs256Secret{*key}});
  const auto r = v.verify(kA1, 1300819000);
  ASSERT_EQ(refusal(r), TokenErrc::missing_claim);
  EXPECT_NE(r.error().description.find("sub"), std::string::npos) << r.error().description;
  EXPECT_EQ(refusal(v.verify(alter_signature(kA1), 1300819000)), TokenErrc::bad_signature);
  // exp 1300819380 with the default 30 s leeway: expired from 1300819410 on.
  EXPECT_EQ(refusal(v.verify(kA1, 1300819409)), TokenErrc::missing_claim);
  EXPECT_EQ(refusal(v.verify(kA1, 1300819410)), TokenErrc::expired);
}

TEST(Rfc7515, A3Es256VerifiesWithItsJwk) {
  const Verifier v = make_verifier({.key = JwksDocument{std::string(kA3Jwks)}});
  EXPECT_EQ(refusal(v.verify(kA3, 1300819000)), TokenErrc::missing_claim);
  EXPECT_EQ(refusal(v.verify(alter_signature(kA3), 1300819000)), TokenErrc::bad_signature);
}

// --- The algorithm is the key's ----------------------------------------------------------------

std::string unsigned_token(std::string_view header, std::string_view signature = {}) {
  return b64(header) + "." + b64(claims()) + "." + std::string(signature);
}

TEST(Algorithm, NoneIsNeverAccepted) {
  const Verifier verifiers[] = {hs_verifier(), pem_verifier(test::rsa_key()),
                                pem_verifier(test::ec_key()), jwks_verifier()};
  for (const Verifier& v : verifiers) {
    for (const char* header : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})",
                               R"({"alg":"nOnE","typ":"JWT"})", R"({"alg":"none","kid":"r1"})"}) {
      EXPECT_EQ(refusal(v.verify(unsigned_token(header), kNow)), TokenErrc::unsupported_algorithm)
          << header << " / " << v.describe();
      // ... also with a signature that would verify under the HS256 secret.
      const auto input = b64(header) + "." + b64(claims());
      EXPECT_EQ(
          refusal(v.verify(input + "." + base64url_encode(hmac_sha256(kSecret, input)), kNow)),
          TokenErrc::unsupported_algorithm);
    }
  }
}

TEST(Algorithm, SpellingMatters) {
  EXPECT_EQ(refusal(hs_verifier().verify(test::hs256_token(R"({"alg":"hs256"})", claims(), kSecret),
                                         kNow)),
            TokenErrc::unsupported_algorithm);
  EXPECT_EQ(refusal(hs_verifier().verify(test::hs256_token(R"({"alg":"HS512"})", claims(), kSecret),
                                         kNow)),
            TokenErrc::unsupported_algorithm);
  EXPECT_EQ(
      refusal(hs_verifier().verify(test::hs256_token(R"({"typ":"JWT"})", claims(), kSecret), kNow)),
      TokenErrc::malformed)
      << "no alg";
  EXPECT_EQ(
      refusal(hs_verifier().verify(test::hs256_token(R"({"alg":256})", claims(), kSecret), kNow)),
      TokenErrc::malformed);
}

TEST(Algorithm, HmacKeyedWithThePublicKeyIsRefused) {
  // The classic confusion attack: sign HS256 with the verifier's public key text as the HMAC
  // secret. A library that lets the token choose the algorithm would accept it.
  for (const EVP_PKEY* key : {test::rsa_key(), test::ec_key()}) {
    const std::string pem = test::public_pem(key);
    const std::string forged = test::hs256_token(kHs, claims(), pem);
    // It is a well-formed HS256 token for that secret...
    EXPECT_TRUE(make_verifier({.key = Hs256Secret{pem}}).verify(forged, kNow));
    // ... and refused by the Verifier that holds the public key.
    EXPECT_EQ(refusal(pem_verifier(key).verify(forged, kNow)), TokenErrc::unsupported_algorithm);
  }
  // Against a JWKS: with the key's JWK text, or its PEM, as the secret, and its kid.
  const std::string jwk = test::public_jwk(test::rsa_key());
  for (const std::string& secret : {jwk, test::public_pem(test::rsa_key())}) {
    const auto forged = test::hs256_token(R"({"alg":"HS256","kid":"r1"})", claims(), secret);
    EXPECT_EQ(refusal(jwks_verifier().verify(forged, kNow)), TokenErrc::unsupported_algorithm);
  }
}

TEST(Algorithm, AsymmetricTokensAgainstASecretAndAcrossKeyTypes) {
  EXPECT_EQ(refusal(hs_verifier().verify(test::token(kRs, claims(), test::rsa_key()), kNow)),
            TokenErrc::unsupported_algorithm);
  EXPECT_EQ(refusal(hs_verifier().verify(test::token(kEs, claims(), test::ec_key()), kNow)),
            TokenErrc::unsupported_algorithm);
  EXPECT_EQ(
      refusal(
          pem_verifier(test::rsa_key()).verify(test::token(kEs, claims(), test::ec_key()), kNow)),
      TokenErrc::unsupported_algorithm);
  EXPECT_EQ(
      refusal(
          pem_verifier(test::ec_key()).verify(test::token(kRs, claims(), test::rsa_key()), kNow)),
      TokenErrc::unsupported_algorithm);
}

// --- Signatures ----------------------------------------------------------------------------------

TEST(Signature, WrongKeyOrAlteredContentIsBadSignature) {
  EXPECT_EQ(refusal(hs_verifier().verify(
                test::hs256_token(kHs, claims(), "another secret of 32 bytes......"), kNow)),
            TokenErrc::bad_signature);
  EXPECT_EQ(refusal(pem_verifier(test::rsa_key())
                        .verify(test::token(kRs, claims(), test::other_rsa_key()), kNow)),
            TokenErrc::bad_signature);
  EXPECT_EQ(refusal(pem_verifier(test::ec_key())
                        .verify(test::token(kEs, claims(), test::other_ec_key()), kNow)),
            TokenErrc::bad_signature);
  // Another payload under a genuine header and signature.
  for (const auto& [v, t] : std::vector<std::pair<Verifier, std::string>>{
           {hs_verifier(), test::hs256_token(kHs, claims(), kSecret)},
           {pem_verifier(test::rsa_key()), test::token(kRs, claims(), test::rsa_key())},
           {pem_verifier(test::ec_key()), test::token(kEs, claims(), test::ec_key())}}) {
    const auto dot1 = t.find('.');
    const auto dot2 = t.rfind('.');
    const std::string swapped =
        t.substr(0, dot1 + 1) + b64(R"({"sub":"mallory","exp":1700000600})") + t.substr(dot2);
    EXPECT_EQ(refusal(v.verify(swapped, kNow)), TokenErrc::bad_signature);
    EXPECT_EQ(refusal(v.verify(alter_signature(t), kNow)), TokenErrc::bad_signature);
    EXPECT_EQ(refusal(v.verify(t.substr(0, dot2 + 1), kNow)), TokenErrc::bad_signature)
        << "an empty signature";
  }
}

TEST(Signature, TruncatedSignaturesAreRefused) {
  const std::string input = b64(kRs) + "." + b64(claims());
  const std::string sig = test::sign(test::rsa_key(), input);
  const Verifier v = pem_verifier(test::rsa_key());
  EXPECT_TRUE(v.verify(input + "." + b64(sig), kNow));
  EXPECT_EQ(refusal(v.verify(input + "." + b64(sig.substr(0, sig.size() - 3)), kNow)),
            TokenErrc::bad_signature);
  const std::string hs = test::hs256_token(kHs, claims(), kSecret);
  const auto dot2 = hs.rfind('.');
  const auto hs_sig = *base64url_decode(hs.substr(dot2 + 1));
  EXPECT_EQ(refusal(hs_verifier().verify(hs.substr(0, dot2 + 1) + b64(hs_sig.substr(0, 31)), kNow)),
            TokenErrc::bad_signature);
  EXPECT_EQ(refusal(hs_verifier().verify(hs.substr(0, dot2 + 1) + b64(hs_sig + "x"), kNow)),
            TokenErrc::bad_signature);
}

TEST(Signature, Es256MustBeRawRAndS) {
  const Verifier v = pem_verifier(test::ec_key());
  // What OpenSSL's EVP_DigestSign returns (DER, 70-72 bytes) is not the JWS form.
  EXPECT_EQ(refusal(v.verify(test::token(kEs, claims(), test::ec_key(), /*der=*/true), kNow)),
            TokenErrc::bad_signature);
  const std::string input = b64(kEs) + "." + b64(claims());
  const std::string sig = test::sign(test::ec_key(), input);
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(v.verify(input + "." + b64(sig), kNow));
  EXPECT_EQ(refusal(v.verify(input + "." + b64(sig.substr(0, 63)), kNow)),
            TokenErrc::bad_signature);
  EXPECT_EQ(refusal(v.verify(input + "." + b64(sig + std::string(1, '\0')), kNow)),
            TokenErrc::bad_signature);
  EXPECT_EQ(refusal(v.verify(input + "." + b64(std::string(1, '\0') + sig), kNow)),
            TokenErrc::bad_signature);
  EXPECT_EQ(refusal(v.verify(input + "." + b64(std::string(64, '\0')), kNow)),
            TokenErrc::bad_signature)
      << "r = s = 0";
}

TEST(Signature, FailuresLeaveNoOpenSslErrorsBehind) {
  // Other OpenSSL users on the same io thread (librdkafka) read the thread's error queue.
  ERR_clear_error();
  const Verifier v = pem_verifier(test::ec_key());
  EXPECT_FALSE(v.verify(test::token(kEs, claims(), test::ec_key(), /*der=*/true), kNow));
  EXPECT_FALSE(v.verify(test::token(kEs, claims(), test::other_ec_key()), kNow));
  EXPECT_FALSE(pem_verifier(test::rsa_key())
                   .verify(test::token(kRs, claims(), test::other_rsa_key()), kNow));
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_FALSE(Verifier::create({.key = PublicKeyPem{"not a key"}}));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// --- Shape
// ----------------------------------------------------------------------------------------

TEST(Shape, PartsAndSerializations) {
  const Verifier v = hs_verifier();
  const std::string good = test::hs256_token(kHs, claims(), kSecret);
  ASSERT_TRUE(v.verify(good, kNow));
  const auto dot2 = good.rfind('.');
  for (const std::string& bad :
       {std::string(""), std::string("abc"), good.substr(0, dot2), good + ".", good + ".e30",
        good + "." + good, std::string("..."), std::string("....")}) {
    EXPECT_EQ(refusal(v.verify(bad, kNow)), TokenErrc::malformed) << bad;
  }
  const auto jwe = v.verify(good + ".e30.e30", kNow);
  ASSERT_EQ(refusal(jwe), TokenErrc::malformed);
  EXPECT_NE(jwe.error().description.find("JWE"), std::string::npos);
  const std::string flattened =
      R"({"payload":")" + b64(claims()) + R"(","protected":")" + b64(kHs) + R"(","signature":"x"})";
  const auto json = v.verify(flattened, kNow);
  ASSERT_EQ(refusal(json), TokenErrc::malformed);
  EXPECT_NE(json.error().description.find("JSON serialization"), std::string::npos);
}

TEST(Shape, BadBase64urlIsMalformed) {
  const Verifier v = hs_verifier();
  const std::string good = test::hs256_token(kHs, claims(), kSecret);
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  const std::string h = good.substr(0, dot1);
  const std::string p = good.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string s = good.substr(dot2 + 1);
  const auto with = [](std::string seg, std::size_t at, char c) {
    seg[at] = c;
    return seg;
  };
  for (const std::string& bad : {
           h + "=." + p + "." + s,                     // padding
           h + "." + p + "=." + s,                     //
           h + "." + p + "." + s + "=",                //
           with(h, 3, '+') + "." + p + "." + s,        // standard alphabet
           h + "." + with(p, 3, '/') + "." + s,        //
           h + "." + p + "." + with(s, 3, '+'),        //
           h + "." + p + " ." + s,                     // white space
           " " + good,                                 //
           good + "\n",                                //
           h + "." + p + "." + s.substr(0, 42) + "l",  // non-zero unused bits
           h + "." + p + "." + s + "AA",               // a length of 1 mod 4
       }) {
    EXPECT_EQ(refusal(v.verify(bad, kNow)), TokenErrc::malformed) << bad;
  }
}

TEST(Shape, HeaderMustBeOneJsonObject) {
  const Verifier v = hs_verifier();
  for (const char* header : {"[]", R"("HS256")", "", "{", R"({"alg":"HS256",})",
                             R"({"alg":"HS256"} {})", "{\"alg\":\"HS256\"/*c*/}"}) {
    EXPECT_EQ(refusal(v.verify(test::hs256_token(header, claims(), kSecret), kNow)),
              TokenErrc::malformed)
        << header;
  }
  // One meaning per header: no member given twice, whichever value comes first.
  for (const char* header : {R"({"alg":"HS256","alg":"none"})", R"({"alg":"none","alg":"HS256"})",
                             R"({"alg":"HS256","typ":"JWT","typ":"JWT"})"}) {
    const auto r = v.verify(test::hs256_token(header, claims(), kSecret), kNow);
    ASSERT_EQ(refusal(r), TokenErrc::malformed) << header;
    EXPECT_NE(r.error().description.find("twice"), std::string::npos);
  }
}

TEST(Shape, CritTypAndKid) {
  const Verifier v = hs_verifier();
  const auto check = [&](std::string_view header) {
    return refusal(v.verify(test::hs256_token(header, claims(), kSecret), kNow));
  };
  EXPECT_EQ(check(R"({"alg":"HS256","crit":["exp"],"exp":1})"), TokenErrc::malformed);
  EXPECT_EQ(check(R"({"alg":"HS256","crit":[]})"), TokenErrc::malformed);
  for (const char* typ :
       {"JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt", "application/JWT"}) {
    EXPECT_EQ(check(std::string(R"({"alg":"HS256","typ":")") + typ + "\"}"), std::nullopt) << typ;
  }
  for (const char* typ :
       {R"("JOSE")", R"("JWE")", R"("id_token+jwt")", R"("")", R"("application/")", "1", "null"}) {
    EXPECT_EQ(check(std::string(R"({"alg":"HS256","typ":)") + typ + "}"), TokenErrc::malformed)
        << typ;
  }
  EXPECT_EQ(check(R"({"alg":"HS256","kid":7})"), TokenErrc::malformed);
  // A single-key verifier ignores kid; embedded or linked keys are never used.
  EXPECT_EQ(check(R"({"alg":"HS256","kid":"anything"})"), std::nullopt);
  EXPECT_EQ(check(R"({"alg":"HS256","jku":"https://evil.example/jwks","x5u":"https://e"})"),
            std::nullopt);
}

TEST(Shape, SizeIsBoundedAt8KiB) {
  const Verifier v = hs_verifier();
  const auto sized = [&](std::size_t pad) {
    return test::hs256_token(kHs, claims(R"("pad":")" + std::string(pad, 'x') + "\""), kSecret);
  };
  const std::string small = sized(5800);
  ASSERT_LT(small.size(), kMaxTokenBytes);
  EXPECT_TRUE(v.verify(small, kNow));
  const std::string big = sized(6200);
  ASSERT_GT(big.size(), kMaxTokenBytes);
  const auto r = v.verify(big, kNow);
  ASSERT_EQ(refusal(r), TokenErrc::malformed);
  EXPECT_NE(r.error().description.find("8 KiB"), std::string::npos);
  EXPECT_EQ(refusal(v.verify(std::string(1 << 20, 'A'), kNow)), TokenErrc::malformed);
}

TEST(Shape, PayloadMustBeOneJsonObject) {
  const Verifier v = hs_verifier();
  for (const char* payload :
       {"[]", "1", R"("alice")", "", "{", R"({"sub":"alice","sub":"mallory","exp":1700000600})",
        R"({"sub":"alice","exp":1,"exp":1700000600})",
        R"({"sub":"a","exp":1700000600,"x":{"k":1,"k":2}})",
        R"({"sub":"a","exp":1700000600,"x":[{"k":1,"k":2}]})"}) {
    EXPECT_EQ(refusal(v.verify(test::hs256_token(kHs, payload, kSecret), kNow)),
              TokenErrc::malformed)
        << payload;
  }
  // The same name in different objects is no duplicate.
  EXPECT_TRUE(v.verify(
      test::hs256_token(kHs, R"({"sub":"a","exp":1700000600,"x":{"sub":1,"exp":2}})", kSecret),
      kNow));
  // Invalid UTF-8 in a string is not JSON.
  EXPECT_EQ(refusal(v.verify(test::hs256_token(kHs, claims("\"n\":\"\xff\""), kSecret), kNow)),
            TokenErrc::malformed);
}

// --- Claims
// ---------------------------------------------------------------------------------------

std::optional<TokenErrc> check_claims(std::string_view payload, VerifierConfig c = {}) {
  return refusal(hs_verifier(std::move(c)).verify(test::hs256_token(kHs, payload, kSecret), kNow));
}

TEST(Claims, ExpIsRequiredAndANumericDate) {
  EXPECT_EQ(check_claims(R"({"sub":"alice"})"), TokenErrc::missing_claim);
  for (const char* exp :
       {R"("1700000600")", "null", "true", "[1700000600]", "-1", "1e300", "253402300800"}) {
    EXPECT_EQ(check_claims(std::string(R"({"sub":"alice","exp":)") + exp + "}"),
              TokenErrc::malformed)
        << exp;
  }
  const auto p = hs_verifier().verify(
      test::hs256_token(kHs, R"({"sub":"alice","exp":1700000600.75})", kSecret), kNow);
  ASSERT_TRUE(p) << p.error().description;
  EXPECT_EQ(p->expires_at, 1700000600) << "fractional NumericDates are accepted, rounded down";
  EXPECT_TRUE(hs_verifier().verify(
      test::hs256_token(kHs, R"({"sub":"alice","exp":1.7000006e9})", kSecret), kNow));
}

TEST(Claims, ExpWithLeeway) {
  const auto at = [](std::int64_t exp) {
    return R"({"sub":"alice","exp":)" + std::to_string(exp) + "}";
  };
  // Default leeway 30 s: valid while now < exp + 30.
  EXPECT_EQ(check_claims(at(kNow - 29)), std::nullopt) << "within the leeway";
  EXPECT_EQ(check_claims(at(kNow - 30)), TokenErrc::expired);
  EXPECT_EQ(check_claims(at(kNow - 3600)), TokenErrc::expired);
  EXPECT_EQ(check_claims(at(kNow), {.leeway = std::chrono::seconds(0)}), TokenErrc::expired);
  EXPECT_EQ(check_claims(at(kNow + 1), {.leeway = std::chrono::seconds(0)}), std::nullopt);
  EXPECT_EQ(check_claims(at(kNow - 299), {.leeway = std::chrono::seconds(300)}), std::nullopt);
}

TEST(Claims, NbfAndIat) {
  const auto with = [](std::string_view member) { return claims(member); };
  EXPECT_EQ(check_claims(with(R"("nbf":1700000031)")), TokenErrc::not_yet_valid);
  EXPECT_EQ(check_claims(with(R"("nbf":1700000030)")), std::nullopt) << "within the leeway";
  EXPECT_EQ(check_claims(with(R"("nbf":1600000000)")), std::nullopt);
  EXPECT_EQ(check_claims(with(R"("nbf":"1600000000")")), TokenErrc::malformed);
  EXPECT_EQ(check_claims(with(R"("iat":1700000031)")), TokenErrc::not_yet_valid);
  EXPECT_EQ(check_claims(with(R"("iat":1700000030.5)")), TokenErrc::not_yet_valid);
  EXPECT_EQ(check_claims(with(R"("iat":1700000030)")), std::nullopt);
  EXPECT_EQ(check_claims(with(R"("iat":1600000000)")), std::nullopt);
  EXPECT_EQ(check_claims(with(R"("iat":null)")), TokenErrc::malformed);
}

TEST(Claims, Issuer) {
  const VerifierConfig c{.issuer = "https://id.example"};
  EXPECT_EQ(check_claims(claims(R"("iss":"https://id.example")"), c), std::nullopt);
  EXPECT_EQ(check_claims(claims(R"("iss":"https://id.example/")"), c), TokenErrc::wrong_issuer);
  EXPECT_EQ(check_claims(claims(R"("iss":"https://evil.example")"), c), TokenErrc::wrong_issuer);
  EXPECT_EQ(check_claims(claims(), c), TokenErrc::missing_claim);
  EXPECT_EQ(check_claims(claims(R"("iss":7)"), c), TokenErrc::malformed);
  EXPECT_EQ(check_claims(claims(R"("iss":["https://id.example"])"), c), TokenErrc::malformed);
  // Without a configured issuer any issuer (or none) is fine, but it must still be a string.
  EXPECT_EQ(check_claims(claims(R"("iss":"anyone")")), std::nullopt);
  EXPECT_EQ(check_claims(claims(R"("iss":7)")), TokenErrc::malformed);
}

TEST(Claims, AudienceAsStringOrArray) {
  const VerifierConfig c{.audience = "xbanku"};
  EXPECT_EQ(check_claims(claims(R"("aud":"xbanku")"), c), std::nullopt);
  EXPECT_EQ(check_claims(claims(R"("aud":["other","xbanku"])"), c), std::nullopt);
  EXPECT_EQ(check_claims(claims(R"("aud":"other")"), c), TokenErrc::wrong_audience);
  EXPECT_EQ(check_claims(claims(R"("aud":"XBANKU")"), c), TokenErrc::wrong_audience);
  EXPECT_EQ(check_claims(claims(R"("aud":["other","another"])"), c), TokenErrc::wrong_audience);
  EXPECT_EQ(check_claims(claims(R"("aud":[])"), c), TokenErrc::wrong_audience);
  EXPECT_EQ(check_claims(claims(), c), TokenErrc::missing_claim);
  EXPECT_EQ(check_claims(claims(R"("aud":["xbanku",1])"), c), TokenErrc::malformed);
  EXPECT_EQ(check_claims(claims(R"("aud":{"xbanku":true})"), c), TokenErrc::malformed);
  EXPECT_EQ(check_claims(claims(R"("aud":null)"), c), TokenErrc::malformed);
}

TEST(Claims, AnAudienceIsRefusedWhenNoneIsConfigured) {
  // RFC 7519 §4.1.3: a token for another service is not for this one.
  EXPECT_EQ(check_claims(claims(R"("aud":"other-service")")), TokenErrc::wrong_audience);
  EXPECT_EQ(check_claims(claims(R"("aud":["xbanku"])")), TokenErrc::wrong_audience);
  EXPECT_EQ(check_claims(claims()), std::nullopt);
}

TEST(Claims, SubjectBecomesThePrincipal) {
  EXPECT_EQ(check_claims(R"({"exp":1700000600})"), TokenErrc::missing_claim);
  for (const std::string& sub :
       {std::string(R"(7)"), std::string(R"(null)"), std::string(R"("")"),
        std::string(R"("a\u0007b")"), std::string(R"("alice\n")"), std::string(R"("a\u0000")"),
        std::string(R"("a\u007f")"), std::string(R"("a\u0085")"), std::string(R"("\u202eecila")"),
        std::string(R"("a\u2066")"), "\"" + std::string(201, 'a') + "\""}) {
    EXPECT_EQ(check_claims(R"({"exp":1700000600,"sub":)" + sub + "}"), TokenErrc::malformed) << sub;
  }
  std::string long_sub;
  for (int i = 0; i < 200; ++i) long_sub += "\xc3\xa9";  // 200 characters, 400 bytes
  const auto p = hs_verifier().verify(
      test::hs256_token(kHs, R"({"exp":1700000600,"sub":")" + long_sub + "\"}", kSecret), kNow);
  ASSERT_TRUE(p) << p.error().description;
  EXPECT_EQ(p->subject, long_sub);
}

TEST(Claims, ScopesFromScopeAndScp) {
  const auto principal = [](std::string_view extra) {
    return hs_verifier().verify(test::hs256_token(kHs, claims(extra), kSecret), kNow);
  };
  using Scopes = std::set<std::string, std::less<>>;
  const auto a = principal(R"("scope":"accounts:read  accounts:write weird/scope:1")");
  ASSERT_TRUE(a) << a.error().description;
  EXPECT_EQ(a->scopes, (Scopes{"accounts:read", "accounts:write", "weird/scope:1"}));
  EXPECT_TRUE(a->has_scope("accounts:write"));
  EXPECT_FALSE(a->has_scope("accounts"));

  const auto b = principal(R"("scp":["accounts:read","admin"])");
  ASSERT_TRUE(b) << b.error().description;
  EXPECT_EQ(b->scopes, (Scopes{"accounts:read", "admin"}));

  const auto c = principal(R"("scope":"x y","scp":["y","z"])");
  ASSERT_TRUE(c) << c.error().description;
  EXPECT_EQ(c->scopes, (Scopes{"x", "y", "z"}));

  const auto d = principal(R"("scp":"p q")");
  ASSERT_TRUE(d) << d.error().description;
  EXPECT_EQ(d->scopes, (Scopes{"p", "q"}));

  const auto e = principal(R"("scope":"")");
  ASSERT_TRUE(e) << e.error().description;
  EXPECT_TRUE(e->scopes.empty());

  for (const char* bad : {R"("scope":["a"])", R"("scope":7)", R"("scope":"a\"b")",
                          R"("scope":"a\\b")", R"("scope":"caf\u00e9")", R"("scope":"a\tb")",
                          R"("scp":[1])", R"("scp":["a b"])", R"("scp":[""])", R"("scp":{})"}) {
    EXPECT_EQ(refusal(principal(bad)), TokenErrc::malformed) << bad;
  }
}

TEST(Claims, DescriptionsNeverQuoteTheToken) {
  const Verifier v = hs_verifier({.issuer = "https://id.example", .audience = "xbanku"});
  for (const std::string& payload :
       {std::string(R"({"sub":"mallory-secret","exp":1})"),
        std::string(R"({"sub":"mallory-secret\u0007","exp":1700000600})"),
        std::string(R"({"sub":"s","exp":1700000600,"iss":"mallory-secret"})"),
        std::string(
            R"({"sub":"s","exp":1700000600,"iss":"https://id.example","aud":"mallory-secret"})"),
        std::string(R"({"sub":"s","exp":1700000600,"scope":"mallory-secret\""})")}) {
    const std::string t = test::hs256_token(kHs, payload, kSecret);
    const auto r = v.verify(t, kNow);
    ASSERT_FALSE(r) << payload;
    EXPECT_EQ(r.error().description.find("mallory"), std::string::npos) << r.error().description;
    EXPECT_EQ(r.error().description.find(t.substr(0, 10)), std::string::npos);
  }
}

TEST(Verify, ValueThrowsOnARefusal) {
  const auto r = hs_verifier().verify("nope", kNow);
  EXPECT_THROW((void)r.value(), std::runtime_error);
}

TEST(Verify, ConcurrentCallsOnOneVerifier) {
  const Verifier v = jwks_verifier();
  const auto rs = test::token(R"({"alg":"RS256","kid":"r1"})", claims(), test::rsa_key());
  const auto es = test::token(R"({"alg":"ES256","kid":"e1"})", claims(), test::ec_key());
  const auto bad = test::token(R"({"alg":"ES256","kid":"e1"})", claims(), test::other_ec_key());
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!v.verify(rs, kNow) || !v.verify(es, kNow) ||
            refusal(v.verify(bad, kNow)) != TokenErrc::bad_signature) {
          ++failures[static_cast<std::size_t>(t)];
        }
        if (ERR_peek_error() != 0) ++failures[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace xbanku::auth
