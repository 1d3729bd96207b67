#pragma once
// Private to src/api: the state shared by the acceptor and the sessions of one Server, and the
// pieces every session (HTTP or WebSocket, plain or TLS) uses. Everything here runs on the
// core thread (the executor given to the Server), except what says otherwise: with
// ApiConfig::session_threads > 0, plain HTTP sessions run on session threads (session_threads.hpp)
// and hand each request to the core with on_core().

#include "xbanku/api/api_metrics.hpp"
#include "xbanku/api/caller.hpp"
#include "xbanku/api/config.hpp"
#include "xbanku/api/http_handler.hpp"
#include "xbanku/api/limits.hpp"
#include "xbanku/api/operations.hpp"
#include "xbanku/api/server.hpp"
#include "xbanku/common/task_group.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace xbanku::api::detail {

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// A live connection as stop() sees it.
class Connection {
 public:
  virtual ~Connection() = default;
  // stop() was called: close if idle, else finish the request(s) in flight and then close.
  virtual void graceful_stop() = 0;
  // shutdown_grace passed: close the socket now.
  virtual void force_close() = 0;
};

// A WebSocket session as the update fan-out sees it.
class UpdateSink {
 public:
  virtual ~UpdateSink() = default;
  [[nodiscard]] virtual bool wants(const app::AccountUpdate& update) const = 0;
  // Queues one serialized update; never blocks.
  virtual void deliver(const std::shared_ptr<const std::string>& message) = 0;
};

class SessionThreads;

struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(boost::asio::any_io_executor ex, ApiConfig config, app::CommandService& commands,
             app::QueryService& queries, app::UpdateFeed& feed, app::Health& health,
             metrics::Registry& registry, ServerSecurity security);

  boost::asio::any_io_executor ex;
  ApiConfig cfg;
  ApiMetrics metrics;
  Services services;
  app::UpdateFeed& feed;
  ServerSecurity security;
  boost::asio::ip::tcp::acceptor acceptor;
  std::uint16_t bound_port = 0;

  // Read by session threads too (set once by stop(), on the core).
  std::atomic<bool> stopping = false;
  bool forced = false;
  std::atomic<std::uint64_t> next_id = 0;  // request ids, drawn on any thread
  std::string request_prefix;              // set in the constructor, then only read
  // Plain HTTP sessions run here when set (ApiConfig::session_threads > 0); owned by the Server.
  SessionThreads* threads = nullptr;
  // Every live session registers here, from its own thread, so `connections` and its keys are
  // guarded; stop() calls each Connection under the lock, which is why their graceful_stop()
  // and force_close() never block and never register or unregister anything.
  std::mutex connections_mutex;
  std::uint64_t next_connection = 0;  // keys of `connections`
  std::unordered_map<std::uint64_t, Connection*> connections;
  ConnectionLimits limits;
  std::unordered_map<std::string, TokenBucket> principal_rates;  // by principal or address
  std::unordered_set<UpdateSink*> sinks;                         // for the update fan-out
  // Every session and every WebSocket request or writer: coroutines that may still touch the
  // ports; run() returns once they have all ended.
  TaskGroup tasks;
  boost::asio::steady_timer grace;         // stop(): fires after shutdown_grace
  std::shared_ptr<spdlog::logger> access;  // null when cfg.access_log is off

  // The next X-Request-Id value.
  [[nodiscard]] std::string request_id();
  // Delivers an update to every WebSocket subscribed to its account (never blocks).
  void fan_out(const app::AccountUpdate& update);
  // One request from `key` (a principal, or "addr:<ip>") against the per-principal rate:
  // zero when allowed, else how long until it would be.
  [[nodiscard]] std::chrono::steady_clock::duration principal_rate(const std::string& key);
};

// Runs `work` on the core thread and resumes the caller on its own thread: the one hand-over a
// session on a session thread makes per request (at once when the caller is on the core).
// The hop is not cancellable: `work` bounds itself (every wait in it has a deadline), and a
// cancellation emitted from another thread than the one `work` runs on would race it.
// (Each part named: GCC 12 mishandles temporaries in a co_await expression.)
inline auto uncancellable() {
  return boost::asio::bind_cancellation_slot(boost::asio::cancellation_slot(),
                                             boost::asio::use_awaitable);
}

template <class T>
boost::asio::awaitable<T> on_core(ServerCore& core, boost::asio::awaitable<T> work) {
  const boost::asio::any_io_executor here = co_await boost::asio::this_coro::executor;
  if (here == core.ex) co_return co_await std::move(work);
  auto handed = boost::asio::co_spawn(core.ex, std::move(work), uncancellable());
  co_return co_await std::move(handed);
}

// Who is asking, as established from the request's headers (and the WebSocket upgrade's
// access_token), or the reply that refuses it before anything runs: 403 for a Host or Origin
// not allowed, 401 for a missing or bad token or peer credential.
struct Identified {
  Caller caller;
  // X-Xbanku-Hops and the peer-only query parameters come from an instance of this cluster
  // (verified, or trusted without authentication on loopback).
  bool peer_headers = false;
};
[[nodiscard]] std::variant<Identified, Reply> identify(const ServerCore& core, const Request& req,
                                                       Route route, bool websocket_upgrade);

// A JSON error response for a refusal (WWW-Authenticate on 401, Retry-After on 429/503).
[[nodiscard]] Response refusal_response(const Reply& r, unsigned version, std::string_view rid);

// Registers a Connection in ServerCore::connections for its lifetime; re-pointable when an
// HTTP session is upgraded to a WebSocket.
class ConnectionRegistration {
 public:
  ConnectionRegistration(ServerCore& core, Connection* c) : core_(core) {
    const std::lock_guard lock(core_.connections_mutex);
    id_ = ++core_.next_connection;
    core_.connections.emplace(id_, c);
  }
  ~ConnectionRegistration() {
    const std::lock_guard lock(core_.connections_mutex);
    core_.connections.erase(id_);
  }
  ConnectionRegistration(const ConnectionRegistration&) = delete;
  ConnectionRegistration& operator=(const ConnectionRegistration&) = delete;
  void reset(Connection* c) {
    const std::lock_guard lock(core_.connections_mutex);
    core_.connections[id_] = c;
  }

 private:
  ServerCore& core_;
  std::uint64_t id_ = 0;
};

// Runs an HTTP session on an accepted socket: TLS handshake first when the server has TLS.
// `reserved`: admitted over the limits; answers one health or readiness probe, then closes.
boost::asio::awaitable<void> run_http_session(std::shared_ptr<ServerCore> core,
                                              boost::asio::ip::tcp::socket socket,
                                              std::string address, bool reserved);

// Runs a WebSocket session on a stream whose upgrade request has been read (websocket.cpp).
// Returns when the WebSocket is closed. `reg` is re-pointed at the WebSocket session.
template <class Stream>
boost::asio::awaitable<void> run_websocket(std::shared_ptr<ServerCore> core, Stream stream,
                                           Request req, Identified who, std::string address,
                                           ConnectionRegistration& reg);

}  // namespace xbanku::api::detail
