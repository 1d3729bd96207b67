#include "xbanku/api/api_metrics.hpp"

#include "xbanku/wire/json.hpp"

#include <string>

namespace xbanku::api {

namespace {
constexpr std::string_view kLatency = "xbanku_command_latency_seconds";
constexpr std::string_view kLatencyHelp =
    "Wall time of a command at the API: stage=ack (wait=false) or projected (read-your-writes).";
}  // namespace

ApiMetrics::ApiMetrics(metrics::Registry& registry)
    : registry_(registry),
      ack_(registry.histogram(kLatency, kLatencyHelp, metrics::latency_buckets(),
                              {{"stage", "ack"}})),
      projected_(registry.histogram(kLatency, kLatencyHelp, metrics::latency_buckets(),
                                    {{"stage", "projected"}})),
      ws_connections_(registry.gauge("xbanku_ws_connections", "Open WebSocket connections.")),
      ws_subscriptions_(
          registry.gauge("xbanku_ws_subscriptions",
                         "WebSocket subscriptions (account ids, or * once) over all connections.")),
      sessions_(registry.gauge("xbanku_http_connections",
                               "Open HTTP/WebSocket connections by admission.",
                               {{"admission", "session"}})),
      reserved_(registry.gauge("xbanku_http_connections",
                               "Open HTTP/WebSocket connections by admission.",
                               {{"admission", "reserved"}})),
      refused_(registry.counter("xbanku_http_connections_refused_total",
                                "Connections answered 503 at accept: over every limit.")) {}

void ApiMetrics::connections(std::size_t sessions, std::size_t reserved) noexcept {
  sessions_.set(static_cast<double>(sessions));
  reserved_.set(static_cast<double>(reserved));
}

void ApiMetrics::connection_refused() noexcept {
  refused_.inc();
}

void ApiMetrics::request(Route route, unsigned code) {
  const auto key = std::make_pair(route, code);
  auto it = requests_.find(key);
  if (it == requests_.end()) {
    auto& c = registry_.counter(
        "xbanku_http_requests_total", "HTTP requests by route and status code.",
        {{"route", std::string(route_name(route))}, {"code", std::to_string(code)}});
    it = requests_.emplace(key, &c).first;
  }
  it->second->inc();
}

void ApiMetrics::command(domain::EventType type, std::string_view outcome) {
  auto key = std::make_pair(type, std::string(outcome));
  auto it = commands_.find(key);
  if (it == commands_.end()) {
    auto& c =
        registry_.counter("xbanku_commands_total", "Commands submitted through the API by outcome.",
                          {{"type", std::string(wire::op_name(type))}, {"outcome", key.second}});
    it = commands_.emplace(std::move(key), &c).first;
  }
  it->second->inc();
}

void ApiMetrics::latency(bool projected, double seconds) noexcept {
  (projected ? projected_ : ack_).observe(seconds);
}

void ApiMetrics::ws_connections(long delta) noexcept {
  ws_connections_value_ += delta;
  ws_connections_.set(static_cast<double>(ws_connections_value_));
}

void ApiMetrics::ws_subscriptions(long delta) noexcept {
  ws_subscriptions_value_ += delta;
  ws_subscriptions_.set(static_cast<double>(ws_subscriptions_value_));
}

}  // namespace xbanku::api
