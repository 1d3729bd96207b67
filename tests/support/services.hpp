#pragma once
// Test support: where the broker and Redis of this test run are. scripts/test.sh starts its own
// on free ports and exports them; run by hand, the tests use scripts/services.sh's defaults.

#include <cstdint>
#include <cstdlib>
#include <string>

namespace xbanku::test {

inline std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// host:port of the Kafka broker (XBANKU_TEST_BROKERS, else 127.0.0.1:9092).
inline const std::string kBrokers = env_or("XBANKU_TEST_BROKERS", "127.0.0.1:9092");

// Port of the shared Redis on 127.0.0.1 (XBANKU_TEST_REDIS_PORT, else 6379).
inline const std::uint16_t kRedisPort =
    static_cast<std::uint16_t>(std::stoi(env_or("XBANKU_TEST_REDIS_PORT", "6379")));

// host:port of the broker's SASL_SSL listener (XBANKU_TEST_SASL_BROKERS, else 127.0.0.1:9094).
inline const std::string kSaslBrokers = env_or("XBANKU_TEST_SASL_BROKERS", "127.0.0.1:9094");

// scripts/services.sh's broker state folder: client-sasl-ssl-*.properties and tls/ (the test
// CA ca.pem, and other-ca.pem that signed nothing the broker has). XBANKU_TEST_KAFKA_DIR, else
// the checkout's .cache/kafka.
inline std::string kafka_state_dir() {
  const char* dir = std::getenv("XBANKU_TEST_KAFKA_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  const char* src = std::getenv("XBANKU_SOURCE_DIR");
  return std::string(src != nullptr ? src : ".") + "/.cache/kafka";
}

}  // namespace xbanku::test
