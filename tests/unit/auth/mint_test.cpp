// mint_hs256, bearer_token and the RFC 6750 WWW-Authenticate values (jwt.hpp).
#include "test_keys.hpp"
#include "xbanku/auth/hmac.hpp"
#include "xbanku/auth/jwt.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace xbanku::auth {
namespace {

using test::make_verifier;
using test::refusal;

constexpr std::int64_t kNow = 1700000000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";

std::string segment(std::string_view token, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
  const auto end = token.find('.', start);
  return *base64url_decode(token.substr(start, end == std::string_view::npos ? end : end - start));
}

TEST(Mint, RoundTripsThroughVerify) {
  const auto token = mint_hs256(kSecret, Claims{.sub = "alice",
                                                .scopes = {"accounts:write", "accounts:read"},
                                                .iat = kNow,
                                                .exp = kNow + 3600,
                                                .iss = "https://xbanku.example",
                                                .aud = "xbanku"});
  ASSERT_TRUE(token) << token.error();
  EXPECT_EQ(segment(*token, 0), R"({"alg":"HS256","typ":"JWT"})");
  EXPECT_EQ(boost::json::parse(segment(*token, 1)),
            boost::json::parse(R"({"iss":"https://xbanku.example","sub":"alice","aud":"xbanku",
                                   "iat":1700000000,"exp":1700003600,
                                   "scope":"accounts:write accounts:read"})"));

  const Verifier v = make_verifier(
      {.key = Hs256Secret{kSecret}, .issuer = "https://xbanku.example", .audience = "xbanku"});
  const auto p = v.verify(*token, kNow);
  ASSERT_TRUE(p) << p.error().description;
  EXPECT_EQ(p->subject, "alice");
  EXPECT_EQ(p->scopes, (std::set<std::string, std::less<>>{"accounts:read", "accounts:write"}));
  EXPECT_EQ(p->expires_at, kNow + 3600);
  EXPECT_EQ(refusal(v.verify(*token, kNow + 3600 + 30)), TokenErrc::expired);
  EXPECT_EQ(refusal(make_verifier({.key = Hs256Secret{std::string(32, 'x')},
                                   .issuer = "https://xbanku.example",
                                   .audience = "xbanku"})
                        .verify(*token, kNow)),
            TokenErrc::bad_signature);
}

TEST(Mint, OptionalClaimsAreLeftOut) {
  const auto token = mint_hs256(kSecret, {.sub = "zo\xc3\xab", .iat = kNow, .exp = kNow + 60});
  ASSERT_TRUE(token) << token.error();
  EXPECT_EQ(boost::json::parse(segment(*token, 1)),
            boost::json::parse(R"({"sub":"zo\u00eb","iat":1700000000,"exp":1700000060})"));
  const auto p = make_verifier({.key = Hs256Secret{kSecret}}).verify(*token, kNow);
  ASSERT_TRUE(p) << p.error().description;
  EXPECT_EQ(p->subject, "zo\xc3\xab");
  EXPECT_TRUE(p->scopes.empty());
}

TEST(Mint, RefusesWhatVerifyWouldRefuse) {
  const Claims ok{.sub = "alice", .scopes = {"a"}, .iat = kNow, .exp = kNow + 60};
  EXPECT_TRUE(mint_hs256(kSecret, ok));
  EXPECT_FALSE(mint_hs256(std::string(31, 's'), ok));
  const auto with = [&](auto change) {
    Claims c = ok;
    change(c);
    return mint_hs256(kSecret, c);
  };
  EXPECT_FALSE(with([](Claims& c) { c.sub = ""; }));
  EXPECT_FALSE(with([](Claims& c) { c.sub = "alice\n"; }));
  EXPECT_FALSE(with([](Claims& c) { c.sub = std::string(201, 'a'); }));
  EXPECT_FALSE(with([](Claims& c) { c.scopes = {"a b"}; }));
  EXPECT_FALSE(with([](Claims& c) { c.scopes = {""}; }));
  EXPECT_FALSE(with([](Claims& c) { c.scopes = {"quote\""}; }));
  EXPECT_FALSE(with([](Claims& c) { c.exp = c.iat; }));
  EXPECT_FALSE(with([](Claims& c) { c.iat = -1; }));
  EXPECT_FALSE(with([](Claims& c) { c.exp = 253402300800; }));
}

TEST(BearerToken, ExtractsTheB64token) {
  EXPECT_EQ(bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER   abc  "), "abc");
  EXPECT_EQ(bearer_token(" Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("Bearer a-b_c~d+e/f=="), "a-b_c~d+e/f==");
  for (const char* bad :
       {"", "Bearer", "Bearer ", "Bearer    ", "Basic YWxhZGRpbjpvcGVu", "Bearerabc", "Bearer\tabc",
        "Bearer a b", "Bearer ab=c", "Bearer =", "Bearer a\"b", "Bearer a,b", "Token abc"}) {
    EXPECT_EQ(bearer_token(bad), std::nullopt) << bad;
  }
}

TEST(WwwAuthenticate, Rfc6750Values) {
  EXPECT_EQ(www_authenticate_missing(), R"(Bearer realm="xbanku")");
  EXPECT_EQ(
      www_authenticate({TokenErrc::expired, "the token has expired"}),
      R"(Bearer realm="xbanku", error="invalid_token", error_description="the token has expired")");
  EXPECT_EQ(www_authenticate_insufficient_scope("accounts:write"),
            R"(Bearer realm="xbanku", error="insufficient_scope", scope="accounts:write")");
  for (const TokenErrc code :
       {TokenErrc::malformed, TokenErrc::unsupported_algorithm, TokenErrc::bad_signature,
        TokenErrc::expired, TokenErrc::not_yet_valid, TokenErrc::wrong_issuer,
        TokenErrc::wrong_audience, TokenErrc::missing_claim, TokenErrc::unknown_key}) {
    EXPECT_EQ(rfc6750_error(code), "invalid_token");
    EXPECT_NE(to_string(code), "");
  }
  EXPECT_EQ(to_string(TokenErrc::unsupported_algorithm), "unsupported_algorithm");
}

TEST(WwwAuthenticate, DescriptionIsQuotedPrintableAscii) {
  EXPECT_EQ(
      www_authenticate({TokenErrc::malformed, R"(say "hi" \ now)"}),
      R"(Bearer realm="xbanku", error="invalid_token", error_description="say \"hi\" \\ now")");
  EXPECT_EQ(www_authenticate({TokenErrc::malformed, "a\r\nb\xc3\xa9\x7f"}),
            R"(Bearer realm="xbanku", error="invalid_token", error_description="a??b???")");
  const std::string header = www_authenticate({TokenErrc::malformed, std::string(500, 'x')});
  EXPECT_EQ(
      header.size(),
      std::string(R"(Bearer realm="xbanku", error="invalid_token", error_description="")").size() +
          200);
  EXPECT_EQ(www_authenticate_insufficient_scope("a\"b"),
            R"(Bearer realm="xbanku", error="insufficient_scope", scope="a\"b")");
}

TEST(WwwAuthenticate, EveryVerifierRefusalMakesAValidHeader) {
  const Verifier v = make_verifier({.key = Hs256Secret{kSecret}, .audience = "xbanku"});
  for (const std::string& token :
       {std::string("x"), std::string(9000, 'a'),
        test::hs256_token(R"({"alg":"none"})", R"({})", kSecret),
        test::hs256_token(R"({"alg":"HS256"})",
                          R"({"sub":"a\u0001","exp":1800000000,"aud":"xbanku"})", kSecret),
        test::hs256_token(R"({"alg":"HS256"})", R"({"sub":"a","exp":1})", kSecret)}) {
    const auto r = v.verify(token, kNow);
    ASSERT_FALSE(r);
    const std::string h = www_authenticate(r.error());
    EXPECT_TRUE(
        h.starts_with(R"(Bearer realm="xbanku", error="invalid_token", error_description=")"))
        << h;
    for (const char c : h) EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << h;
    // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, so no escaping needed.
    EXPECT_EQ(r.error().description.find_first_of("\"\\"), std::string::npos) << h;
  }
}

}  // namespace
}  // namespace xbanku::auth
