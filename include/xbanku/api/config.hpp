#pragma once
// Configuration of the HTTP + WebSocket front end (DESIGN §3, §4). One plain struct with every
// limit and timeout, filled by app/ from flags and environment (CONVENTIONS 7).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xbanku::api {

struct ApiConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;      // 0 = an ephemeral port (see Server::port())
  std::size_t max_body = 64 * 1024;      // request body bytes; over it → 413
  std::size_t max_header = 8 * 1024;     // request header bytes; over it → 431
  std::size_t max_ws_frame = 64 * 1024;  // WebSocket message bytes (read_message_max)
  std::size_t max_connections = 1024;    // open sessions; over it a new socket gets 503 + close
  std::size_t ws_send_queue = 1024;  // queued outgoing WebSocket messages; over it → close 1008
  std::size_t ws_send_queue_bytes = 4 << 20;  // and their bytes (a reply echoes the request's id)
  std::size_t ws_max_in_flight = 1024;  // concurrent requests per WebSocket; over it → error reply
  std::size_t ws_max_subscriptions = 10'000;  // account ids one WebSocket may subscribe to
  std::chrono::seconds idle_timeout{30};  // keep-alive wait for the next request; WS idle (pings)
  std::chrono::seconds read_timeout{10};  // whole request (headers + body), and each write
  std::chrono::milliseconds shutdown_grace{5000};  // stop(): time in-flight requests get
  std::string instance_id;  // prefix of generated X-Request-Id values (empty = random)
  // Threads for plain HTTP sessions' socket work beside the core thread (api/server.hpp);
  // 0 = sessions on the core thread with everything else.
  unsigned session_threads = 0;

  // Fairness (api/limits.hpp). Sessions per client address; beyond them (or max_connections)
  // a few reserved slots answer one health or readiness probe within reserved_timeout.
  std::size_t max_connections_per_address = 256;
  std::size_t reserved_connections = 16;
  std::chrono::milliseconds reserved_timeout{1000};
  // Requests (HTTP) or messages (WebSocket) per second, with a burst: per connection, and per
  // principal across connections (per client address without authentication). 0 = no limit.
  double rate_per_connection = 500;
  double burst_per_connection = 1000;
  double rate_per_principal = 2000;
  double burst_per_principal = 4000;
  // The longest wait_ms (GET /commands/{id}?wait_ms=) a client may ask for; other instances
  // may ask up to app::kMaxCommandWait.
  std::chrono::milliseconds max_client_wait{10000};
  // Host header (and WebSocket Origin) allow-list, against DNS rebinding and cross-site
  // WebSocket hijacking: names or addresses, without port; empty = any.
  std::vector<std::string> allowed_hosts;
  bool access_log = true;  // one line per request on the "access" logger
};

}  // namespace xbanku::api
