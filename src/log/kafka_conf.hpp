#pragma once
// Private to src/log: the one place that turns KafkaConfig into a librdkafka configuration.

#include "rdkafka_holders.hpp"
#include "xbanku/log/kafka_config.hpp"

#include <boost/system/result.hpp>

namespace xbanku::log {

// Builds a configuration: brokers, client id, socket.nagle.disable=true, spdlog logging, then
// `module_settings`, then the user's `cfg.properties`, then `cfg.overrides`. A rejected property is
// logged with its name, value and librdkafka's reason, and returns errc::invalid_config.
// Thread-safe.
[[nodiscard]] boost::system::result<ConfPtr> make_conf(const KafkaConfig& cfg,
                                                       const KafkaSettings& module_settings);

}  // namespace xbanku::log
