#include "kafka_conf.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/log/kafka_properties.hpp"

#include <spdlog/spdlog.h>

namespace xbanku::log {
namespace {

// librdkafka logs from its own threads; spdlog's default logger is thread-safe.
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  const char* name = rk != nullptr ? rd_kafka_name(rk) : "rdkafka";
  // syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug.
  const auto lvl = level <= 3   ? spdlog::level::err
                   : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  spdlog::log(lvl, "librdkafka {} {}: {}", name, fac, buf);
}

}  // namespace

boost::system::result<ConfPtr> make_conf(const KafkaConfig& cfg,
                                         const KafkaSettings& module_settings) {
  ConfPtr conf{rd_kafka_conf_new()};
  char errstr[512];
  auto set = [&](const std::string& name, const std::string& value) {
    errstr[0] = '\0';
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      spdlog::error("kafka config: property '{}'='{}' rejected: {}", name, redact(name, value),
                    secret_property(name) ? "(reason withheld: the value is a secret)" : errstr);
      return false;
    }
    return true;
  };
  const KafkaSettings base{{"bootstrap.servers", cfg.brokers},
                           {"client.id", cfg.client_id},
                           // Latency of a command is a round trip; Nagle would add up to 40 ms.
                           {"socket.nagle.disable", "true"},
                           // Back on a returning broker within a second, not librdkafka's
                           // default of up to 10 s: a producer still backing off when the
                           // broker is back fails every command meanwhile (seen in
                           // broker_outage_test: 503 after readyz was 200 again).
                           {"reconnect.backoff.ms", "100"},
                           {"reconnect.backoff.max.ms", "1000"}};
  for (const auto& settings : {base, module_settings, cfg.properties}) {
    for (const auto& [name, value] : settings) {
      if (!set(name, value)) return make_error_code(errc::invalid_config);
    }
  }
  for (const auto& [name, value] : cfg.overrides) {
    if (!set(name, value)) return make_error_code(errc::invalid_config);
  }
  rd_kafka_conf_set_log_cb(conf.get(), &log_to_spdlog);
  return conf;
}

}  // namespace xbanku::log
