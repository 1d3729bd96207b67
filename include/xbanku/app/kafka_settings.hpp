#pragma once
// The Kafka client settings every mode derives from the service configuration.

#include "xbanku/app/config.hpp"
#include "xbanku/log/kafka_config.hpp"

#include <fmt/format.h>

#include <string_view>

namespace xbanku::app {

// `role` names the client in the broker's logs (xbanku-producer-<instance>, …).
[[nodiscard]] inline log::KafkaConfig kafka_settings(const Config& c, std::string_view role) {
  log::KafkaConfig k;
  k.brokers = c.brokers;
  k.client_id = fmt::format("xbanku-{}{}{}", role, c.instance_id.empty() ? "" : "-", c.instance_id);
  k.delivery_timeout = c.delivery_timeout;
  k.properties = c.kafka_properties;
  return k;
}

}  // namespace xbanku::app
