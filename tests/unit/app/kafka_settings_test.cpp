// The Kafka client settings every mode derives from the configuration.
#include "xbanku/app/kafka_settings.hpp"

#include <gtest/gtest.h>

namespace xbanku::app {
namespace {

TEST(KafkaSettings, NameTheClientByRoleAndInstance) {
  Config c;
  c.brokers = "k1:9092,k2:9092";
  c.delivery_timeout = std::chrono::milliseconds(2500);
  auto k = kafka_settings(c, "producer");
  EXPECT_EQ(k.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(k.client_id, "xbanku-producer");
  EXPECT_EQ(k.delivery_timeout, std::chrono::milliseconds(2500));
  c.instance_id = "node-2";
  EXPECT_EQ(kafka_settings(c, "projector").client_id, "xbanku-projector-node-2");
}

}  // namespace
}  // namespace xbanku::app

#include <cstdio>
#include <fstream>
#include <vector>

namespace xbanku::app {
namespace {

boost::system::result<Config, ConfigError> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "xbanku");
  return parse_config(static_cast<int>(args.size()), args.data());
}

TEST(KafkaSettings, FileThenFlagsReachEveryClient) {
  const std::string file = testing::TempDir() + "/xbanku-kafka.properties";
  {
    std::ofstream out(file);
    out << "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=xbanku\n"
           "sasl.password=hunter2\nlinger.ms=3\n";
  }
  auto c = parse({"--kafka-config", file.c_str(), "--kafka-property", "linger.ms=7",
                  "--kafka-property", "ssl.ca.location=/tmp/ca.pem"});
  ASSERT_TRUE(c) << c.error().message;
  for (const char* role : {"producer", "projector", "admin", "console", "members", "watch"}) {
    const auto k = kafka_settings(*c, role);
    EXPECT_EQ(k.properties, c->kafka_properties) << role;
  }
  const std::vector<std::pair<std::string, std::string>> expected{
      {"security.protocol", "SASL_SSL"},
      {"sasl.mechanism", "SCRAM-SHA-512"},
      {"sasl.username", "xbanku"},
      {"sasl.password", "hunter2"},
      {"linger.ms", "7"},
      {"ssl.ca.location", "/tmp/ca.pem"}};
  EXPECT_EQ(c->kafka_properties, expected);
  EXPECT_EQ(c->kafka_properties_described.find("hunter2"), std::string::npos);
  EXPECT_NE(c->kafka_properties_described.find("sasl.password=[redacted]"), std::string::npos);
  std::remove(file.c_str());
}

TEST(KafkaSettings, StartUpStopsWithOneLineNamingTheProperty) {
  auto owned = parse({"--kafka-property", "enable.auto.commit=true"});
  ASSERT_FALSE(owned);
  EXPECT_NE(owned.error().message.find("'enable.auto.commit'"), std::string::npos);
  auto unknown = parse({"--kafka-property", "sasl.jaas.config=x"});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("'sasl.jaas.config'"), std::string::npos);
  EXPECT_EQ(unknown.error().message.find('\n'), std::string::npos);
  auto missing = parse({"--kafka-config", "/nonexistent/kafka.properties"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("--kafka-config"), std::string::npos);
}

}  // namespace
}  // namespace xbanku::app
