// README "Connecting to your Kafka": an xbanku process given only --kafka-config serves and
// projects through the broker's SASL_SSL listener, never shows the password, and fails fast
// with one line saying why when the password is wrong, the CA untrusted or no broker answers.
#include "support/service_instance.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace xbanku::test {
namespace {

using namespace std::chrono_literals;

const std::string kPassword = "xbanku-test-secret";  // scripts/services.sh's test user

// The broker's client properties for librdkafka 2.0.2 (PLAIN: see services.sh), optionally
// with one line replaced, written to a file of this test.
std::string properties_file(const std::string& name, const std::string& from = {},
                            const std::string& to = {}) {
  std::string text = read_file(kafka_state_dir() + "/client-sasl-ssl-plain.properties");
  if (!from.empty()) {
    const auto at = text.find(from);
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  const auto path = (std::filesystem::current_path() / (name + ".properties")).string();
  std::ofstream(path) << text;
  return path;
}

struct Outcome {
  int exit_code;
  double seconds;
  std::string output;
};

// xbanku --act=serve that is expected to stop at start-up.
Outcome start_expecting_failure(const std::string& name, const std::string& brokers,
                                const std::vector<std::string>& extra) {
  auto o = fresh_instance(name, 1);
  std::vector<std::string> args{
      xbanku_binary(), "--act=serve", "--brokers", brokers,
      "--topic",       o.topic,       "--group",   o.group,
      "--data-dir",    o.data_dir,    "--listen",  "127.0.0.1:" + std::to_string(free_port())};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto started = std::chrono::steady_clock::now();
  auto r = run(args, o.data_dir + ".log", 60s);
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return {r.exit_code, s, r.output};
}

std::string critical_line(const std::string& output) {
  const auto at = output.find("cannot connect to Kafka");
  return at == std::string::npos ? "" : output.substr(at, output.find('\n', at) - at);
}

TEST(KafkaSecured, ServesAndProjectsThroughSaslSsl) {
  const auto config = properties_file("sasl-ssl");
  auto options = fresh_instance("sasl", 3);
  options.brokers = kSaslBrokers;
  options.extra_args = {"--kafka-config", config};
  ServiceInstance service(options);
  ASSERT_TRUE(service.start(90s)) << service.output();

  auto created = service.post("/accounts", R"({"name":"Secured"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(created.json().at("id").as_string());
  for (int i = 0; i < 5; ++i) {
    auto r = service.post("/accounts/" + id + "/deposit", R"({"amount":10})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto account = service.get("/accounts/" + id);
  ASSERT_EQ(account.status, 200) << account.body;
  EXPECT_EQ(account.json().at("balance").as_int64(), 50);
  EXPECT_EQ(service.get("/readyz").status, 200);

  // The records went through the secured listener to the same cluster: the plain listener
  // (what the rest of the suite uses) finds them, replayed by a console consumer.
  auto consumed =
      run({xbanku_binary(), "--act=consumer", "--brokers", kBrokers, "--topic", options.topic},
          options.data_dir + "-consumer.log", 60s);
  EXPECT_EQ(consumed.exit_code, 0) << consumed.output;
  EXPECT_NE(consumed.output.find(id), std::string::npos) << consumed.output;

  EXPECT_EQ(service.stop(), 0) << service.output();
  const auto log = service.output();
  EXPECT_NE(log.find("sasl.password=[redacted]"), std::string::npos) << log;
  EXPECT_EQ(log.find(kPassword), std::string::npos) << "the password reached the log";
}

TEST(KafkaSecured, WrongPasswordFailsFastWithOneLine) {
  const auto config =
      properties_file("wrong-password", "sasl.password=" + kPassword, "sasl.password=wrong");
  const auto r = start_expecting_failure("wrong-pw", kSaslBrokers, {"--kafka-config", config});
  std::printf("wrong password: exit %d after %.2f s: %s\n", r.exit_code, r.seconds,
              critical_line(r.output).c_str());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_LT(r.seconds, 15.0) << r.output;
  EXPECT_NE(critical_line(r.output).find("authentication failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("=wrong"), std::string::npos) << r.output;
}

TEST(KafkaSecured, UntrustedCertificateFailsFastWithOneLine) {
  const auto config = properties_file("untrusted", "/tls/ca.pem", "/tls/other-ca.pem");
  const auto r = start_expecting_failure("untrusted", kSaslBrokers, {"--kafka-config", config});
  std::printf("untrusted CA: exit %d after %.2f s: %s\n", r.exit_code, r.seconds,
              critical_line(r.output).c_str());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_LT(r.seconds, 15.0) << r.output;
  EXPECT_NE(critical_line(r.output).find("TLS handshake failed"), std::string::npos) << r.output;
}

// The broker also offers SCRAM-SHA-512 (its user made at format time); Debian's librdkafka
// 2.0.2 computes a proof Kafka 4.x rejects (fixed in 2.6.1), and the line says so.
TEST(KafkaSecured, ScramWithLibrdkafka202IsRefusedAndExplained) {
  const auto config =
      properties_file("scram", "sasl.mechanism=PLAIN", "sasl.mechanism=SCRAM-SHA-512");
  const auto r = start_expecting_failure("scram", kSaslBrokers, {"--kafka-config", config});
  std::printf("SCRAM-SHA-512: exit %d after %.2f s: %s\n", r.exit_code, r.seconds,
              critical_line(r.output).c_str());
  if (r.exit_code == -1 && r.output.find("xbanku serving") != std::string::npos)
    GTEST_SKIP() << "this librdkafka's SCRAM works with Kafka 4.x";
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(critical_line(r.output).find("fixed in 2.6.1"), std::string::npos) << r.output;
}

TEST(KafkaSecured, UnreachableBrokersFailWithinTheBound) {
  const auto port = std::to_string(free_port());  // nothing listens there
  const auto r = start_expecting_failure("unreachable", "127.0.0.1:" + port, {});
  std::printf("unreachable: exit %d after %.2f s: %s\n", r.exit_code, r.seconds,
              critical_line(r.output).c_str());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_LT(r.seconds, 20.0) << r.output;  // request timeout 10 s
  EXPECT_NE(critical_line(r.output).find("no broker answered"), std::string::npos) << r.output;
}

TEST(KafkaSecured, BadPropertiesStopStartUpNamingThem) {
  const auto owned =
      start_expecting_failure("owned", kBrokers, {"--kafka-property", "partitioner=random"});
  EXPECT_EQ(owned.exit_code, 2) << owned.output;
  EXPECT_NE(owned.output.find("'partitioner'"), std::string::npos) << owned.output;
  const auto unknown =
      start_expecting_failure("unknown", kBrokers, {"--kafka-property", "sasl.jaas.config=x"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("'sasl.jaas.config'"), std::string::npos) << unknown.output;
}

}  // namespace
}  // namespace xbanku::test
