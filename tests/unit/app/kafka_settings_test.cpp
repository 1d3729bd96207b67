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
