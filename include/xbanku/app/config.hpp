#pragma once
// The service's configuration (DESIGN.md §6): each setting comes from its flag, else its
// environment variable, else its default; parse_config validates everything at start-up so a
// bad value stops the process with one line naming the setting.

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace xbanku::app {

enum class Act { serve, producer, consumer, verify };

struct Config {
  Act act = Act::serve;
  bool follow = false;  // consumer mode: keep going at the end of the log

  std::string brokers = "127.0.0.1:9092";
  std::string topic = "xbanku-transactions-t2";
  int partitions = 6;  // used when the service creates the topic
  std::string group = "xbanku-view";
  std::string data_dir = "./data";
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string redis_url;    // empty = no mirror
  std::string instance_id;  // empty = dynamic group membership
  std::string advertise;    // URL other instances use to reach this one

  std::chrono::milliseconds command_wait{5000};      // read-your-writes bound (§3)
  std::chrono::milliseconds delivery_timeout{5000};  // Kafka acknowledgement bound
  std::chrono::milliseconds session_timeout{10000};  // consumer group session
  std::string log_level = "info";
};

struct ConfigError {
  std::string message;  // one line, naming the setting
  int exit_code = 2;    // 0 for --help / --version
};

// Parses flags, then the environment, then defaults. Never exits the process itself.
[[nodiscard]] boost::system::result<Config, ConfigError> parse_config(int argc,
                                                                      const char* const* argv);

[[nodiscard]] std::string_view to_string(Act act) noexcept;

}  // namespace xbanku::app
