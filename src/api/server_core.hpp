#pragma once
// Private to src/api: the state shared by the acceptor and the sessions of one Server.
// Everything here runs on the Server's single io_context thread (see api/server.hpp).

#include "xbanku/api/api_metrics.hpp"
#include "xbanku/api/config.hpp"
#include "xbanku/api/http_handler.hpp"
#include "xbanku/api/operations.hpp"
#include "xbanku/common/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace xbanku::api::detail {

// A live connection as stop() sees it.
class Connection {
 public:
  virtual ~Connection() = default;
  // stop() was called: close if idle, else finish the request(s) in flight and then close.
  virtual void graceful_stop() = 0;
  // shutdown_grace passed: close the socket now.
  virtual void force_close() = 0;
};

class WsSession;

struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(boost::asio::any_io_executor ex, ApiConfig config, app::CommandService& commands,
             app::QueryService& queries, app::UpdateFeed& feed, app::Health& health,
             metrics::Registry& registry);

  boost::asio::any_io_executor ex;
  ApiConfig cfg;
  ApiMetrics metrics;
  Services services;
  app::UpdateFeed& feed;
  boost::asio::ip::tcp::acceptor acceptor;
  std::uint16_t bound_port = 0;

  bool stopping = false;
  bool forced = false;
  std::uint64_t next_id = 0;
  std::string request_prefix;
  std::unordered_map<std::uint64_t, Connection*> connections;
  std::unordered_set<WsSession*> ws_sessions;  // for the update fan-out
  // Every session and every WebSocket request or writer: coroutines that may still touch the
  // ports; run() returns once they have all ended.
  TaskGroup tasks;
  boost::asio::steady_timer grace;  // stop(): fires after shutdown_grace

  // The next X-Request-Id value.
  [[nodiscard]] std::string request_id();
  // Delivers an update to every WebSocket subscribed to its account (never blocks).
  void fan_out(const app::AccountUpdate& update);
};

// Registers a Connection in ServerCore::connections for its lifetime; re-pointable when an
// HTTP session is upgraded to a WebSocket.
class ConnectionRegistration {
 public:
  ConnectionRegistration(ServerCore& core, Connection* c) : core_(core), id_(++core.next_id) {
    core_.connections.emplace(id_, c);
  }
  ~ConnectionRegistration() { core_.connections.erase(id_); }
  ConnectionRegistration(const ConnectionRegistration&) = delete;
  ConnectionRegistration& operator=(const ConnectionRegistration&) = delete;
  void reset(Connection* c) { core_.connections[id_] = c; }

 private:
  ServerCore& core_;
  std::uint64_t id_;
};

// Runs a WebSocket session on a stream whose upgrade request has been read (websocket.cpp).
// Returns when the WebSocket is closed. `reg` is re-pointed at the WebSocket session.
boost::asio::awaitable<void> run_websocket(std::shared_ptr<ServerCore> core,
                                           boost::beast::tcp_stream stream, Request req,
                                           ConnectionRegistration& reg);

}  // namespace xbanku::api::detail
