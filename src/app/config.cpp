#include "xbanku/app/config.hpp"

#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/mirror/redis_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>

namespace xbanku::app {
namespace {

// "host:port" with a numeric port in 1..65535 and a non-empty host.
bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto port_text = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
      value > 65535) {
    return false;
  }
  host = std::string(text.substr(0, colon));
  port = static_cast<std::uint16_t>(value);
  return true;
}

// Kafka's rule for topic names: 1..249 of [a-zA-Z0-9._-].
bool valid_topic(std::string_view t) {
  return !t.empty() && t.size() <= 249 && t != "." && t != ".." &&
         std::all_of(t.begin(), t.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '_' || c == '-';
         });
}

}  // namespace

std::string_view to_string(Act act) noexcept {
  switch (act) {
    case Act::serve:
      return "serve";
    case Act::producer:
      return "producer";
    case Act::consumer:
      return "consumer";
    case Act::verify:
      return "verify";
  }
  return "serve";
}

boost::system::result<Config, ConfigError> parse_config(int argc, const char* const* argv) {
  Config c;
  CLI::App cli{"xbanku — an event-sourced bank-account service on Kafka, RocksDB and Redis"};
  cli.set_version_flag("--version", "xbanku 0.1.0");

  std::string act = "serve", listen = "127.0.0.1:8080";
  long long wait_ms = c.command_wait.count(), delivery_ms = c.delivery_timeout.count(),
            session_ms = c.session_timeout.count();
  cli.add_option("--act", act, "serve | producer | consumer | verify")->envname("XBANKU_ACT");
  cli.add_flag("--follow", c.follow, "consumer mode: keep printing new records");
  cli.add_option("--brokers", c.brokers, "Kafka bootstrap servers")->envname("KAFKA_BROKERS");
  cli.add_option("--topic", c.topic, "the event topic")->envname("XBANKU_TOPIC");
  cli.add_option("--partitions", c.partitions, "partitions when creating the topic")
      ->envname("XBANKU_PARTITIONS");
  cli.add_option("--group", c.group, "consumer group of the projector")->envname("XBANKU_GROUP");
  cli.add_option("--data-dir", c.data_dir, "RocksDB view folder")->envname("XBANKU_DATA_DIR");
  cli.add_option("--listen", listen, "HTTP/WebSocket address host:port")->envname("XBANKU_LISTEN");
  cli.add_option("--redis", c.redis_url, "Redis mirror: host:port or redis://host:port/db")
      ->envname("REDIS_URL");
  cli.add_option("--instance-id", c.instance_id, "static group membership id")
      ->envname("XBANKU_INSTANCE_ID");
  cli.add_option("--advertise", c.advertise, "URL other instances use to reach this one")
      ->envname("XBANKU_ADVERTISE");
  cli.add_option("--command-wait-ms", wait_ms, "read-your-writes wait bound")
      ->envname("XBANKU_COMMAND_WAIT_MS");
  cli.add_option("--delivery-timeout-ms", delivery_ms, "Kafka acknowledgement bound")
      ->envname("XBANKU_DELIVERY_TIMEOUT_MS");
  cli.add_option("--session-timeout-ms", session_ms, "consumer group session timeout")
      ->envname("XBANKU_SESSION_TIMEOUT_MS");
  cli.add_option("--log-level", c.log_level, "trace | debug | info | warn | error")
      ->envname("XBANKU_LOG_LEVEL");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return ConfigError{cli.help(), 0};
  } catch (const CLI::CallForVersion&) {
    return ConfigError{"xbanku 0.1.0", 0};
  } catch (const CLI::ParseError& e) {
    return ConfigError{fmt::format("xbanku: {}", e.what())};
  }

  auto bad = [](std::string_view setting, std::string_view why) {
    return ConfigError{fmt::format("xbanku: invalid {}: {}", setting, why)};
  };
  static const std::map<std::string, Act, std::less<>> acts{{"serve", Act::serve},
                                                            {"producer", Act::producer},
                                                            {"consumer", Act::consumer},
                                                            {"verify", Act::verify}};
  if (auto it = acts.find(act); it != acts.end()) {
    c.act = it->second;
  } else {
    return bad("--act/XBANKU_ACT",
               fmt::format("'{}' is not one of serve, producer, consumer, verify", act));
  }
  if (c.brokers.empty()) return bad("--brokers/KAFKA_BROKERS", "must not be empty");
  if (!valid_topic(c.topic)) {
    return bad("--topic/XBANKU_TOPIC", fmt::format("'{}' is not a Kafka topic name", c.topic));
  }
  if (c.partitions < 1 || c.partitions > 10000) {
    return bad("--partitions/XBANKU_PARTITIONS",
               fmt::format("{} is not in 1..10000", c.partitions));
  }
  if (c.group.empty()) return bad("--group/XBANKU_GROUP", "must not be empty");
  if (c.data_dir.empty()) return bad("--data-dir/XBANKU_DATA_DIR", "must not be empty");
  if (!split_host_port(listen, c.listen_host, c.listen_port)) {
    return bad("--listen/XBANKU_LISTEN", fmt::format("'{}' is not host:port", listen));
  }
  if (!c.redis_url.empty()) {
    std::string why;
    if (!mirror::parse_redis_url(c.redis_url, &why)) return bad("--redis/REDIS_URL", why);
  }
  if (c.instance_id.size() > 200)
    return bad("--instance-id/XBANKU_INSTANCE_ID", "longer than 200 characters");
  if (std::string host, port;
      !c.advertise.empty() && !cluster::split_peer_url(c.advertise, host, port)) {
    return bad("--advertise/XBANKU_ADVERTISE",
               fmt::format("'{}' is not an http://host:port URL", c.advertise));
  }
  if (wait_ms < 1 || wait_ms > 600000) return bad("--command-wait-ms", "must be in 1..600000");
  if (delivery_ms < 100 || delivery_ms > 600000)
    return bad("--delivery-timeout-ms", "must be in 100..600000");
  if (session_ms < 3000 || session_ms > 300000)
    return bad("--session-timeout-ms", "must be in 3000..300000");
  static const std::array levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(levels.begin(), levels.end(), c.log_level) == levels.end()) {
    return bad("--log-level/XBANKU_LOG_LEVEL", fmt::format("'{}' is not a log level", c.log_level));
  }
  c.command_wait = std::chrono::milliseconds(wait_ms);
  c.delivery_timeout = std::chrono::milliseconds(delivery_ms);
  c.session_timeout = std::chrono::milliseconds(session_ms);
  if (c.advertise.empty()) c.advertise = fmt::format("http://{}:{}", c.listen_host, c.listen_port);
  return c;
}

}  // namespace xbanku::app
