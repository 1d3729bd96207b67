#pragma once
// Connection settings shared by every Kafka client of xbanku (src/log/kafka_conf.hpp turns them
// into a librdkafka configuration: librdkafka's types stay inside src/log/).

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace xbanku::log {

struct KafkaConfig {
  std::string brokers = "127.0.0.1:9092";
  std::string client_id = "xbanku";
  // Upper bound for a send to be acknowledged or failed. librdkafka's message.timeout.ms is set
  // below it (by up to 1 s) because librdkafka only notices some expiries once per second.
  std::chrono::milliseconds delivery_timeout{5000};
  // Sent at once: with one request in flight (producer.cpp) records still batch while the
  // previous request is out, so under load linger buys little (raw produce of 1M records
  // 347,000-353,000/s with 1 ms, 340,000-347,000 with 0), and at 1,000 commands/s its 1 ms
  // was half of a read-your-writes command's median (2.2 ms with 1 ms, 1.0 ms with 0).
  // --kafka-property linger.ms=N sets it for a deployment that prefers fewer requests.
  std::chrono::milliseconds linger{0};
  // Deadline for admin and metadata requests (topic creation, partition count, end offsets).
  std::chrono::milliseconds request_timeout{10000};
  // The user's properties (--kafka-config, --kafka-property; validated, none of xbanku's own),
  // applied after xbanku's defaults and the module's settings: security, SASL, TLS, tuning.
  std::vector<std::pair<std::string, std::string>> properties;
  // Raw librdkafka properties applied LAST: they override the module's settings, guarantees
  // included (e.g. acks), so use them for tuning and tests only.
  std::map<std::string, std::string> overrides;
};

using KafkaSettings = std::vector<std::pair<std::string, std::string>>;

}  // namespace xbanku::log
