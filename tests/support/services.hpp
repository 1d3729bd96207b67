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

}  // namespace xbanku::test
