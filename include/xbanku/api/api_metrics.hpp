#pragma once
// The API's Prometheus series, with the registry's counters cached by label set so the hot path
// does one small map lookup instead of rendering labels under the registry's mutex.
// Thread-safety: NOT thread-safe (the cache is a plain map); used only from the io_context
// thread that runs the Server. The counters themselves are the registry's atomics.

#include "xbanku/api/router.hpp"
#include "xbanku/domain/events.hpp"
#include "xbanku/metrics/registry.hpp"

#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace xbanku::api {

class ApiMetrics {
 public:
  explicit ApiMetrics(metrics::Registry& registry);

  // xbanku_http_requests_total{route,code}
  void request(Route route, unsigned code);
  // xbanku_commands_total{type,outcome}
  void command(domain::EventType type, std::string_view outcome);
  // xbanku_command_latency_seconds{stage="ack"|"projected"}
  void latency(bool projected, double seconds) noexcept;
  // xbanku_ws_connections / xbanku_ws_subscriptions (absolute values kept here)
  void ws_connections(long delta) noexcept;
  void ws_subscriptions(long delta) noexcept;
  // xbanku_http_connections{admission="session"|"reserved"} (open now) and
  // xbanku_http_connections_refused_total (503 at accept, over every limit)
  void connections(std::size_t sessions, std::size_t reserved) noexcept;
  void connection_refused() noexcept;

  [[nodiscard]] metrics::Registry& registry() noexcept { return registry_; }

 private:
  metrics::Registry& registry_;
  std::map<std::pair<Route, unsigned>, metrics::Counter*> requests_;
  std::map<std::pair<domain::EventType, std::string>, metrics::Counter*, std::less<>> commands_;
  metrics::Histogram& ack_;
  metrics::Histogram& projected_;
  metrics::Gauge& ws_connections_;
  metrics::Gauge& ws_subscriptions_;
  metrics::Gauge& sessions_;
  metrics::Gauge& reserved_;
  metrics::Counter& refused_;
  long ws_connections_value_ = 0;
  long ws_subscriptions_value_ = 0;
};

}  // namespace xbanku::api
