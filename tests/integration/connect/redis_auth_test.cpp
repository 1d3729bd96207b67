// README "Redis credentials": the mirror AUTHs to a password-protected redis-server (started
// here on a free loopback port: the run's shared Redis has no password) with a password in the
// URL, with REDIS_PASSWORD, and as an ACL user; a wrong password stops start-up with one line,
// and no password ever reaches the log.
#include "support/service_instance.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>

namespace xbanku::test {
namespace {

using namespace std::chrono_literals;

const std::string kPassword = "redis p@ss:w/rd";  // blanks and URL delimiters on purpose
const std::string kAclPassword = "mirror-secret";

class ProtectedRedis {
 public:
  ProtectedRedis() : port_(free_port()) {
    const auto log =
        (std::filesystem::current_path() / ("redis-" + std::to_string(port_))).string();
    server_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass",
                                 kPassword},
        log + ".log");
  }
  // redis-cli as the default user (the password) or as `user`.
  RunResult cli(std::vector<std::string> command, const std::string& user = {},
                const std::string& password = kPassword) const {
    std::vector<std::string> args{
        "/usr/bin/redis-cli", "--no-auth-warning", "-h", "127.0.0.1", "-p", std::to_string(port_)};
    if (!user.empty()) args.insert(args.end(), {"--user", user});
    args.insert(args.end(), {"-a", password});
    args.insert(args.end(), command.begin(), command.end());
    return run(args, (std::filesystem::current_path() / "redis-cli.log").string(), 10s);
  }
  bool ready() const {
    return wait_until([&] { return cli({"PING"}).output.find("PONG") != std::string::npos; }, 10s,
                      100ms);
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  std::unique_ptr<ChildProcess> server_;
};

std::string encoded(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Starts an instance mirroring to `url` (with `env`), creates an account, and returns true once
// the protected Redis has it with the right balance.
bool mirrors(const ProtectedRedis& redis, const std::string& name, const std::string& url,
             std::vector<std::string> env, std::string* log) {
  auto options = fresh_instance(name, 1);
  options.redis = url;
  options.env = std::move(env);
  ServiceInstance service(options);
  if (!service.start()) {
    *log = service.output();
    return false;
  }
  auto created = service.post("/accounts", R"({"name":"Mirrored"})");
  const std::string id(created.status == 201 ? created.json().at("id").as_string() : "");
  auto deposit = service.post("/accounts/" + id + "/deposit", R"({"amount":42})");
  const bool ok =
      created.status == 201 && deposit.status == 200 &&
      wait_until(
          [&] {
            return redis.cli({"HGET", id, "Balance"}).output.find("42") != std::string::npos;
          },
          15s, 200ms);
  service.stop();
  *log = service.output();
  return ok;
}

TEST(RedisAuth, MirrorsWithPasswordEnvironmentAndAclUser) {
  ProtectedRedis redis;
  ASSERT_TRUE(redis.ready()) << "redis-server with --requirepass did not start";
  const auto where = "127.0.0.1:" + std::to_string(redis.port());
  std::string log;

  EXPECT_TRUE(mirrors(redis, "redis-url-pw", "redis://:" + encoded(kPassword) + "@" + where + "/0",
                      {}, &log))
      << log;
  EXPECT_EQ(log.find(kPassword), std::string::npos) << "password in the log";
  EXPECT_EQ(log.find(encoded(kPassword)), std::string::npos) << "password in the log";
  EXPECT_NE(log.find("redis://:***@"), std::string::npos) << log;

  EXPECT_TRUE(mirrors(redis, "redis-env-pw", where, {"REDIS_PASSWORD=" + kPassword}, &log)) << log;
  EXPECT_EQ(log.find(kPassword), std::string::npos) << "password in the log";

  const auto acl = redis.cli({"ACL", "SETUSER", "mirror", "on", ">" + kAclPassword, "~*", "+@all"});
  ASSERT_NE(acl.output.find("OK"), std::string::npos) << acl.output;
  EXPECT_TRUE(mirrors(redis, "redis-acl", "redis://mirror:" + kAclPassword + "@" + where, {}, &log))
      << log;
  EXPECT_EQ(log.find(kAclPassword), std::string::npos) << "password in the log";
}

TEST(RedisAuth, WrongPasswordStopsStartUpWithOneLine) {
  ProtectedRedis redis;
  ASSERT_TRUE(redis.ready());
  for (const auto& [name, url] : std::vector<std::pair<std::string, std::string>>{
           {"wrong password", "redis://:not-it@127.0.0.1:" + std::to_string(redis.port())},
           {"unknown user", "redis://nobody:not-it@127.0.0.1:" + std::to_string(redis.port())}}) {
    auto options = fresh_instance("redis-wrong", 1);
    options.redis = url;
    ServiceInstance service(options);
    const auto started = std::chrono::steady_clock::now();
    service.launch();
    wait_until([&] { return !service.running(); }, 30s, 100ms);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto log = service.output();
    const auto at = log.find("cannot mirror to Redis");
    const auto line = at == std::string::npos ? "" : log.substr(at, log.find('\n', at) - at);
    std::printf("%s: stopped after %.2f s: %s\n", name.c_str(), s, line.c_str());
    EXPECT_FALSE(service.running()) << log;
    EXPECT_NE(line.find("authentication refused"), std::string::npos) << log;
    EXPECT_EQ(log.find("not-it"), std::string::npos) << "password in the log";
    service.kill9();
  }
}

}  // namespace
}  // namespace xbanku::test
