// The user's Kafka client properties: a Java .properties file and --kafka-property, merged,
// refused when xbanku owns them, validated by librdkafka, and never logged with their secrets.
#include "xbanku/log/kafka_properties.hpp"

#include <gtest/gtest.h>

namespace xbanku::log {
namespace {

Properties parse_ok(std::string_view text) {
  std::string why;
  auto p = parse_properties(text, "f.properties", &why);
  EXPECT_TRUE(p) << why;
  return p ? *p : Properties{};
}

std::string parse_bad(std::string_view text) {
  std::string why;
  EXPECT_FALSE(parse_properties(text, "f.properties", &why));
  return why;
}

TEST(KafkaProperties, JavaPropertiesSyntax) {
  const auto p = parse_ok(
      "# a comment\n"
      "! another\n"
      "\n"
      "security.protocol=SASL_SSL\n"
      "  sasl.mechanism : SCRAM-SHA-512\r\n"
      "sasl.username xbanku\n"
      "sasl.password=a=b c\\\\d\n"
      "ssl.ca.location=/etc/ca\\\n"
      "    /ca.pem\n"
      "client.rack=eu\\u002d1\n");
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0].name, "security.protocol");
  EXPECT_EQ(p[0].value, "SASL_SSL");
  EXPECT_EQ(p[0].origin, "f.properties:4");
  EXPECT_EQ(p[1].name, "sasl.mechanism");
  EXPECT_EQ(p[1].value, "SCRAM-SHA-512");
  EXPECT_EQ(p[2].value, "xbanku");
  EXPECT_EQ(p[3].value, "a=b c\\d");  // only the first separator counts
  EXPECT_EQ(p[4].value, "/etc/ca/ca.pem");
  EXPECT_EQ(p[4].origin, "f.properties:8");
  EXPECT_EQ(p[5].value, "eu-1");
}

TEST(KafkaProperties, MalformedLinesNameTheLine) {
  EXPECT_NE(parse_bad("a=1\nlonely\n").find("f.properties:2"), std::string::npos);
  EXPECT_NE(parse_bad("a=\\u12\n").find("escape"), std::string::npos);
  EXPECT_NE(parse_bad("a=\\u00e9\n").find("non-ASCII"), std::string::npos);
}

TEST(KafkaProperties, CommandLineArgument) {
  std::string why;
  auto p = parse_property_arg("ssl.ca.location=/a=b", &why);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "ssl.ca.location");
  EXPECT_EQ(p->value, "/a=b");
  EXPECT_EQ(p->origin, "--kafka-property");
  EXPECT_FALSE(parse_property_arg("novalue", &why));
  EXPECT_NE(why.find("KEY=VALUE"), std::string::npos);
  EXPECT_FALSE(parse_property_arg("=x", &why));
}

TEST(KafkaProperties, LaterOverridesEarlierInPlace) {
  std::string why;
  auto merged = validate_properties({{"security.protocol", "SSL", "f:1"},
                                     {"linger.ms", "5", "f:2"},
                                     {"security.protocol", "SASL_SSL", "--kafka-property"}},
                                    &why);
  ASSERT_TRUE(merged) << why;
  ASSERT_EQ(merged->size(), 2u);
  EXPECT_EQ((*merged)[0], (std::pair<std::string, std::string>{"security.protocol", "SASL_SSL"}));
  EXPECT_EQ((*merged)[1], (std::pair<std::string, std::string>{"linger.ms", "5"}));
}

TEST(KafkaProperties, OwnedPropertiesAreRefusedWithTheReason) {
  for (const char* name :
       {"partitioner", "enable.auto.commit", "enable.auto.offset.store", "group.id",
        "auto.offset.reset", "enable.idempotence", "acks", "request.required.acks", "max.in.flight",
        "bootstrap.servers", "metadata.broker.list", "transactional.id",
        "partition.assignment.strategy", "session.timeout.ms", "message.timeout.ms"}) {
    EXPECT_TRUE(owned_property(name)) << name;
    std::string why;
    EXPECT_FALSE(validate_properties({{name, "x", "f:3"}}, &why)) << name;
    EXPECT_NE(why.find(std::string("'") + name + "'"), std::string::npos) << why;
    EXPECT_NE(why.find("f:3"), std::string::npos) << why;
    EXPECT_NE(why.find("xbanku's own"), std::string::npos) << why;
  }
  EXPECT_FALSE(owned_property("security.protocol"));
  EXPECT_FALSE(owned_property("linger.ms"));
}

TEST(KafkaProperties, LibrdkafkaRejectsUnknownAndInvalidAtStartUp) {
  std::string why;
  EXPECT_FALSE(validate_properties({{"sasl.jaas.config", "x", "f:1"}}, &why));
  EXPECT_NE(why.find("'sasl.jaas.config'"), std::string::npos) << why;
  EXPECT_NE(why.find("f:1"), std::string::npos) << why;
  EXPECT_FALSE(validate_properties({{"security.protocol", "SASL_TLS", "--kafka-property"}}, &why));
  EXPECT_NE(why.find("'security.protocol'"), std::string::npos) << why;
  EXPECT_NE(why.find("SASL_TLS"), std::string::npos) << why;
  EXPECT_EQ(why.find('\n'), std::string::npos) << why;  // one line
  EXPECT_TRUE(validate_properties({{"security.protocol", "SASL_SSL", "a"},
                                   {"sasl.mechanism", "SCRAM-SHA-512", "a"},
                                   {"sasl.username", "u", "a"},
                                   {"sasl.password", "p", "a"},
                                   {"ssl.endpoint.identification.algorithm", "https", "a"}},
                                  &why))
      << why;
}

TEST(KafkaProperties, SecretsAreNeverShown) {
  for (const char* name :
       {"sasl.password", "ssl.key.password", "ssl.keystore.password",
        "sasl.oauthbearer.client.secret", "ssl.key.pem", "sasl.oauthbearer.config"}) {
    EXPECT_TRUE(secret_property(name)) << name;
    EXPECT_EQ(redact(name, "hunter2"), "[redacted]");
  }
  EXPECT_EQ(redact("sasl.username", "alice"), "alice");
  EXPECT_EQ(describe({{"sasl.username", "alice", ""}, {"sasl.password", "hunter2", ""}}),
            "sasl.username=alice, sasl.password=[redacted]");
  // A rejected secret is named, its value is not.
  std::string why;
  EXPECT_FALSE(validate_properties({{"ssl.keystore.password", "hunter2", "f:9"},
                                    {"ssl.key.pem", "hunter2", "f:10"},
                                    {"bogus.password", "hunter2", "f:11"}},
                                   &why));
  EXPECT_EQ(why.find("hunter2"), std::string::npos) << why;
  EXPECT_FALSE(parse_property_arg("sasl.password", &why));
  EXPECT_FALSE(validate_properties({{"bogus.secret", "hunter2", "--kafka-property"}}, &why));
  EXPECT_NE(why.find("'bogus.secret'"), std::string::npos) << why;
  EXPECT_EQ(why.find("hunter2"), std::string::npos) << why;
}

}  // namespace
}  // namespace xbanku::log
