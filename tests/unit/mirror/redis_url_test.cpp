// parse_redis_url: the forms DESIGN §6 promises, and a clear reason for everything else.

#include "xbanku/common/error.hpp"
#include "xbanku/mirror/redis_config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace xbanku::mirror {
namespace {

RedisConfig parse_ok(std::string_view url) {
  std::string why = "untouched";
  auto r = parse_redis_url(url, &why);
  EXPECT_TRUE(r.has_value()) << url << ": " << why;
  EXPECT_TRUE(why.empty()) << url;
  return r.has_value() ? *r : RedisConfig{};
}

// Returns the reason, after checking the error code.
std::string parse_bad(std::string_view url) {
  std::string why;
  auto r = parse_redis_url(url, &why);
  EXPECT_FALSE(r.has_value()) << url << " was accepted";
  if (r.has_value()) return {};
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_config)) << url;
  EXPECT_FALSE(why.empty()) << url;
  return why;
}

TEST(RedisUrl, HostPortAsInTheOriginal) {
  const auto cfg = parse_ok("127.0.0.1:6379");
  EXPECT_EQ(cfg.host, "127.0.0.1");
  EXPECT_EQ(cfg.port, 6379);
  EXPECT_EQ(cfg.db, 0);

  const auto named = parse_ok("redis-cache.internal:7000");
  EXPECT_EQ(named.host, "redis-cache.internal");
  EXPECT_EQ(named.port, 7000);
}

TEST(RedisUrl, RedisSchemeWithPortAndDb) {
  const auto cfg = parse_ok("redis://localhost:6380/9");
  EXPECT_EQ(cfg.host, "localhost");
  EXPECT_EQ(cfg.port, 6380);
  EXPECT_EQ(cfg.db, 9);
}

TEST(RedisUrl, RedisSchemeDefaults) {
  const auto bare = parse_ok("redis://example.com");
  EXPECT_EQ(bare.host, "example.com");
  EXPECT_EQ(bare.port, 6379);
  EXPECT_EQ(bare.db, 0);

  const auto slash = parse_ok("redis://example.com/");
  EXPECT_EQ(slash.db, 0);

  const auto db_only = parse_ok("redis://10.0.0.5/3");
  EXPECT_EQ(db_only.port, 6379);
  EXPECT_EQ(db_only.db, 3);
}

TEST(RedisUrl, Ipv6InBrackets) {
  const auto plain = parse_ok("[::1]:6379");
  EXPECT_EQ(plain.host, "::1");
  EXPECT_EQ(plain.port, 6379);

  const auto url = parse_ok("redis://[fe80::1]:7001/2");
  EXPECT_EQ(url.host, "fe80::1");
  EXPECT_EQ(url.port, 7001);
  EXPECT_EQ(url.db, 2);
}

TEST(RedisUrl, TimeoutsKeepTheirDefaults) {
  const auto cfg = parse_ok("redis://h:1/1");
  EXPECT_EQ(cfg.connect_timeout, RedisConfig{}.connect_timeout);
  EXPECT_EQ(cfg.command_timeout, RedisConfig{}.command_timeout);
}

TEST(RedisUrl, ReasonNamesTheProblem) {
  EXPECT_NE(parse_bad("").find("empty"), std::string::npos);
  EXPECT_NE(parse_bad("localhost").find("no port"), std::string::npos);
  EXPECT_NE(parse_bad("localhost:").find("port"), std::string::npos);
  EXPECT_NE(parse_bad("localhost:0").find("'0'"), std::string::npos);
  EXPECT_NE(parse_bad("localhost:65536").find("'65536'"), std::string::npos);
  EXPECT_NE(parse_bad("localhost:-1").find("'-1'"), std::string::npos);
  EXPECT_NE(parse_bad("localhost:63x9").find("'63x9'"), std::string::npos);
  EXPECT_NE(parse_bad(":6379").find("host is empty"), std::string::npos);
  EXPECT_NE(parse_bad("redis://:6379").find("host is empty"), std::string::npos);
  EXPECT_NE(parse_bad("::1:6379").find("brackets"), std::string::npos);
  EXPECT_NE(parse_bad("[::1:6379").find("']'"), std::string::npos);
  EXPECT_NE(parse_bad("[zz]:6379").find("IPv6"), std::string::npos);
  EXPECT_NE(parse_bad("local host:6379").find("whitespace"), std::string::npos);
  EXPECT_NE(parse_bad("loc/al:6379").find("not allowed"), std::string::npos);
}

TEST(RedisUrl, UnsupportedFeaturesAreRejectedByName) {
  EXPECT_NE(parse_bad("rediss://h:6379").find("TLS"), std::string::npos);
  EXPECT_NE(parse_bad("unix:///tmp/redis.sock").find("unix"), std::string::npos);
  EXPECT_NE(parse_bad("http://h:6379").find("'http://'"), std::string::npos);
  EXPECT_NE(parse_bad("redis://user@h:6379").find("user:password@"), std::string::npos);
  EXPECT_NE(parse_bad("redis://user:@h:6379").find("password in the Redis URL is empty"),
            std::string::npos);
  EXPECT_NE(parse_bad("redis://u:p%zz@h:6379").find("%-escape"), std::string::npos);
  EXPECT_NE(parse_bad("redis://h:6379/1?timeout=3").find("query"), std::string::npos);
}

TEST(RedisUrl, BadDatabase) {
  EXPECT_NE(parse_bad("redis://h:6379/x").find("database 'x'"), std::string::npos);
  EXPECT_NE(parse_bad("redis://h:6379/-1").find("database"), std::string::npos);
  EXPECT_NE(parse_bad("redis://h:6379/1/2").find("database"), std::string::npos);
  EXPECT_NE(parse_bad("redis://h:6379/99999999999").find("database"), std::string::npos);
}

TEST(RedisUrl, ReasonIsOptional) {
  EXPECT_FALSE(parse_redis_url("nope").has_value());
  EXPECT_TRUE(parse_redis_url("h:1").has_value());
}

}  // namespace
}  // namespace xbanku::mirror

namespace xbanku::mirror {
namespace {

TEST(RedisUrl, CredentialsForRequirepassAndAclUsers) {
  auto pw = parse_redis_url("redis://:s3cret@h:6380/2");
  ASSERT_TRUE(pw);
  EXPECT_EQ(pw->username, "");
  EXPECT_EQ(pw->password, "s3cret");
  EXPECT_EQ(pw->host, "h");
  EXPECT_EQ(pw->port, 6380);
  EXPECT_EQ(pw->db, 2);
  // Percent-encoding lets a password hold '@', ':' and '/'.
  auto acl = parse_redis_url("redis://mirror:p%40ss%3Aw%2Frd@[::1]:6379");
  ASSERT_TRUE(acl);
  EXPECT_EQ(acl->username, "mirror");
  EXPECT_EQ(acl->password, "p@ss:w/rd");
  EXPECT_EQ(acl->host, "::1");
}

TEST(RedisUrl, RedisPasswordIsTheFallback) {
  auto env = parse_redis_url("127.0.0.1:6379", nullptr, "from-env");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->password, "from-env");
  auto url = parse_redis_url("redis://:from-url@h:1", nullptr, "from-env");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->password, "from-url");
  EXPECT_EQ(parse_redis_url("redis://h:1")->password, "");
}

TEST(RedisUrl, RedactedForLogs) {
  EXPECT_EQ(redact_redis_url("redis://:s3cret@h:6379/1"), "redis://:***@h:6379/1");
  EXPECT_EQ(redact_redis_url("redis://mirror:s3cret@h:6379"), "redis://mirror:***@h:6379");
  EXPECT_EQ(redact_redis_url("redis://h:6379/1"), "redis://h:6379/1");
  EXPECT_EQ(redact_redis_url("h:6379"), "h:6379");
}

}  // namespace
}  // namespace xbanku::mirror
