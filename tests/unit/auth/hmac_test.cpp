// HMAC, base64url and the peer scheme (hmac.hpp).
#include "xbanku/auth/hmac.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace xbanku::auth {
namespace {

std::string hex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : d) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

const std::string kSecret(32, 's');
const std::string kOtherSecret(32, 't');

TEST(Hmac, Rfc4231Vectors) {
  // RFC 4231 §4.2 and §4.3.
  EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // An empty key is a valid HMAC key (OpenSSL 3.0 refuses a null one).
  EXPECT_EQ(hex(hmac_sha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Base64url, Rfc4648Vectors) {
  // RFC 4648 §10, in the URL-safe alphabet without padding.
  EXPECT_EQ(base64url_encode(std::string_view("")), "");
  EXPECT_EQ(base64url_encode(std::string_view("f")), "Zg");
  EXPECT_EQ(base64url_encode(std::string_view("fo")), "Zm8");
  EXPECT_EQ(base64url_encode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(base64url_encode(std::string_view("foob")), "Zm9vYg");
  EXPECT_EQ(base64url_encode(std::string_view("fooba")), "Zm9vYmE");
  EXPECT_EQ(base64url_encode(std::string_view("foobar")), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode(std::string_view("\xfb\xff\xbf")), "-_-_");
  for (const char* text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(base64url_decode(base64url_encode(std::string_view(text))), text);
  }
  EXPECT_EQ(base64url_decode("-_-_"), "\xfb\xff\xbf");
}

TEST(Base64url, RoundTripsAnyBytes) {
  std::mt19937 rng(7);
  for (int len = 0; len < 100; ++len) {
    std::string bytes;
    for (int i = 0; i < len; ++i) bytes += static_cast<char>(rng() & 0xff);
    const std::string text = base64url_encode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64url_decode(text), bytes) << len;
  }
}

TEST(Base64url, RefusesAnythingButCanonicalUnpaddedBase64url) {
  EXPECT_FALSE(base64url_decode("Zg==")) << "padding";
  EXPECT_FALSE(base64url_decode("Zm8=")) << "padding";
  EXPECT_FALSE(base64url_decode("Z")) << "a length of 1 mod 4 encodes nothing";
  EXPECT_FALSE(base64url_decode("Zm9vY")) << "a length of 1 mod 4 encodes nothing";
  EXPECT_FALSE(base64url_decode("+/+/")) << "the standard alphabet's 62 and 63";
  EXPECT_FALSE(base64url_decode("Zm9v\n")) << "white space";
  EXPECT_FALSE(base64url_decode("Zm 9v")) << "white space";
  EXPECT_FALSE(base64url_decode("Zm9v.")) << "a dot";
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4))) << "NUL";
  EXPECT_FALSE(base64url_decode("Zm9v\xc3\xa9")) << "non-ASCII";
  // "Zh" and "Zg" would both decode to "f": only the one with zero unused bits is accepted.
  EXPECT_FALSE(base64url_decode("Zh"));
  EXPECT_FALSE(base64url_decode("Zm9"));
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
}

TEST(ConstantTimeEqual, ComparesBytesAndLengths) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(InstanceName, OneToTwoHundredCharactersWithoutSemicolonOrControls) {
  EXPECT_TRUE(valid_instance_name("node-1"));
  EXPECT_TRUE(
      valid_instance_name("n\xc3\xb6"
                          "de"));
  EXPECT_TRUE(valid_instance_name(std::string(200, 'a')));
  EXPECT_FALSE(valid_instance_name(""));
  EXPECT_FALSE(valid_instance_name(std::string(201, 'a')));
  EXPECT_FALSE(valid_instance_name("node;1"));
  EXPECT_FALSE(valid_instance_name("node\n1"));
  EXPECT_FALSE(valid_instance_name(std::string_view("node\0", 5)));
  EXPECT_FALSE(valid_instance_name("node\x7f"));
  EXPECT_FALSE(valid_instance_name("\xff"));
}

constexpr std::int64_t kMs = 1700000000123;

TEST(PeerCredential, HasTheDocumentedShapeAndVerifies) {
  const std::string c = peer_credential(kSecret, "node-1", kMs, "GET", "/accounts/x?y=1");
  const std::string mac = base64url_encode(
      hmac_sha256(kSecret, "xbanku-peer-v1\nnode-1\n1700000000123\nGET\n/accounts/x?y=1"));
  EXPECT_EQ(c, "v1;node-1;1700000000123;" + mac);
  const auto who = verify_peer_credential(kSecret, c, "GET", "/accounts/x?y=1", kMs);
  ASSERT_TRUE(who) << to_string(who.error());
  EXPECT_EQ(*who, "node-1");
}

TEST(PeerCredential, IsBoundToMethodTargetAndSecret) {
  const std::string c = peer_credential(kSecret, "node-1", kMs, "GET", "/accounts/a");
  EXPECT_EQ(verify_peer_credential(kSecret, c, "GET", "/accounts/b", kMs).error(),
            PeerError::bad_mac)
      << "replayed for another target";
  EXPECT_EQ(verify_peer_credential(kSecret, c, "GET", "/accounts/a?x=1", kMs).error(),
            PeerError::bad_mac);
  EXPECT_EQ(verify_peer_credential(kSecret, c, "POST", "/accounts/a", kMs).error(),
            PeerError::bad_mac);
  EXPECT_EQ(verify_peer_credential(kOtherSecret, c, "GET", "/accounts/a", kMs).error(),
            PeerError::bad_mac);
  // Another instance name or time in the header changes the message under the MAC.
  std::string renamed = c;
  renamed.replace(3, 6, "node-2");
  EXPECT_EQ(verify_peer_credential(kSecret, renamed, "GET", "/accounts/a", kMs).error(),
            PeerError::bad_mac);
  std::string retimed = c;
  retimed[12] = '1';
  EXPECT_EQ(verify_peer_credential(kSecret, retimed, "GET", "/accounts/a", kMs).error(),
            PeerError::bad_mac);
  EXPECT_EQ(verify_peer_credential(kSecret, c, "GET\n", "/accounts/a", kMs).error(),
            PeerError::bad_mac);
}

TEST(PeerCredential, AllowsTheSkewEitherWayAndNoMore) {
  const std::string c = peer_credential(kSecret, "node-1", kMs, "GET", "/t");
  EXPECT_TRUE(verify_peer_credential(kSecret, c, "GET", "/t", kMs + 30000));
  EXPECT_TRUE(verify_peer_credential(kSecret, c, "GET", "/t", kMs - 30000));
  EXPECT_EQ(verify_peer_credential(kSecret, c, "GET", "/t", kMs + 30001).error(), PeerError::stale);
  EXPECT_EQ(verify_peer_credential(kSecret, c, "GET", "/t", kMs - 30001).error(), PeerError::stale);
  EXPECT_TRUE(verify_peer_credential(kSecret, c, "GET", "/t", kMs + 5000, 5000));
  EXPECT_EQ(verify_peer_credential(kSecret, c, "GET", "/t", kMs + 5001, 5000).error(),
            PeerError::stale);
  // Extreme clocks do not overflow the difference.
  EXPECT_EQ(verify_peer_credential(kSecret, c, "GET", "/t", INT64_MIN).error(), PeerError::stale);
  EXPECT_EQ(verify_peer_credential(kSecret, c, "GET", "/t", INT64_MAX).error(), PeerError::stale);
  // A forged credential is bad_mac even when its time is off: stale means genuine.
  const std::string forged = peer_credential(kOtherSecret, "node-1", kMs, "GET", "/t");
  EXPECT_EQ(verify_peer_credential(kSecret, forged, "GET", "/t", kMs + 90000).error(),
            PeerError::bad_mac);
}

TEST(PeerCredential, RefusesMalformedValues) {
  const std::string mac = base64url_encode(hmac_sha256(kSecret, "x"));
  for (const std::string& bad : {
           std::string(""),
           std::string("v1"),
           std::string("v1;node-1;1700000000123"),
           "v2;node-1;1700000000123;" + mac,
           "V1;node-1;1700000000123;" + mac,
           "v1;;1700000000123;" + mac,
           "v1;node\x01;1700000000123;" + mac,
           "v1;" + std::string(201, 'n') + ";1700000000123;" + mac,
           "v1;node-1;;" + mac,
           "v1;node-1;01700000000123;" + mac,
           "v1;node-1;-1;" + mac,
           "v1;node-1;+1;" + mac,
           "v1;node-1;1e3;" + mac,
           "v1;node-1;12345678901234567;" + mac,
           "v1;node-1;1700000000123;" + mac + "=",
           "v1;node-1;1700000000123;" + mac.substr(1),
           "v1;node-1;1700000000123;" + mac + "AAAA",
           "v1;node-1;1700000000123;" + mac + ";x",
           std::string("v1;node-1;1700000000123;"),
       }) {
    const auto r = verify_peer_credential(kSecret, bad, "GET", "/t", kMs);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), PeerError::malformed) << bad;
  }
}

TEST(PeerCredential, PreconditionsAreChecked) {
  EXPECT_THROW((void)peer_credential(std::string(31, 's'), "node-1", kMs, "GET", "/t"),
               std::invalid_argument);
  EXPECT_THROW((void)peer_credential(kSecret, "node;1", kMs, "GET", "/t"), std::invalid_argument);
  EXPECT_THROW((void)peer_credential(kSecret, "", kMs, "GET", "/t"), std::invalid_argument);
  EXPECT_THROW((void)peer_credential(kSecret, "node-1", -1, "GET", "/t"), std::invalid_argument);
  EXPECT_THROW((void)peer_credential(kSecret, "node-1", kMs, "GET", "/t\n"), std::invalid_argument);
  EXPECT_THROW((void)peer_credential(kSecret, "node-1", kMs, "", "/t"), std::invalid_argument);
  EXPECT_THROW((void)verify_peer_credential("", "v1;a;1;x", "GET", "/t", kMs),
               std::invalid_argument);
  EXPECT_THROW((void)sign_announcement("short", "{}"), std::invalid_argument);
  // value() on an error throws (a bug in the caller), naming the error.
  const auto r = verify_peer_credential(kSecret, "nope", "GET", "/t", kMs);
  EXPECT_THROW((void)r.value(), std::runtime_error);
}

TEST(Announcement, MacVerifiesForItsPayloadAndSecretOnly) {
  const std::string payload = R"({"instance":"node-1","url":"http://h:1","partitions":[0]})";
  const std::string mac = sign_announcement(kSecret, payload);
  EXPECT_EQ(mac, base64url_encode(hmac_sha256(kSecret, "xbanku-announce-v1\n" + payload)));
  EXPECT_TRUE(verify_announcement(kSecret, payload, mac));
  EXPECT_FALSE(verify_announcement(kOtherSecret, payload, mac));
  EXPECT_FALSE(verify_announcement(kSecret, payload + " ", mac));
  EXPECT_FALSE(verify_announcement(kSecret, payload, mac.substr(1)));
  EXPECT_FALSE(verify_announcement(kSecret, payload, ""));
  EXPECT_FALSE(verify_announcement(kSecret, payload, mac + "="));
}

TEST(Announcement, DomainSeparatedFromPeerCredentials) {
  // What the peer credential MACs after its prefix, used as an announcement payload: the MACs
  // differ, so neither can stand in for the other.
  const std::string body = "node-1\n1700000000123\nGET\n/t";
  const std::string credential = peer_credential(kSecret, "node-1", kMs, "GET", "/t");
  const std::string peer_mac = credential.substr(credential.rfind(';') + 1);
  EXPECT_FALSE(verify_announcement(kSecret, body, peer_mac));
  EXPECT_FALSE(verify_announcement(kSecret, "xbanku-peer-v1\n" + body, peer_mac));
  EXPECT_FALSE(verify_announcement(kSecret, "", peer_mac));

  const std::string announce_mac = sign_announcement(kSecret, body);
  EXPECT_NE(announce_mac, peer_mac);
  EXPECT_EQ(
      verify_peer_credential(kSecret, "v1;node-1;1700000000123;" + announce_mac, "GET", "/t", kMs)
          .error(),
      PeerError::bad_mac);
  const std::string prefixed_mac = sign_announcement(kSecret, "xbanku-peer-v1\n" + body);
  EXPECT_EQ(
      verify_peer_credential(kSecret, "v1;node-1;1700000000123;" + prefixed_mac, "GET", "/t", kMs)
          .error(),
      PeerError::bad_mac);
}

}  // namespace
}  // namespace xbanku::auth
