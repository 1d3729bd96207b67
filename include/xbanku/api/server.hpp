#pragma once
// The HTTP + WebSocket front end (DESIGN §3, §4) on Boost.Beast and C++20 coroutines.
//
// Executor model: one CORE thread (the executor given to the constructor) runs the acceptor,
// every request's handling, every WebSocket session (its reader, its single writer and each of
// its in-flight requests) and the ports they call (app/ports.hpp); so the app needs no
// strands and the update fan-out no locks. With ApiConfig::session_threads = N > 0, plain
// HTTP sessions' socket work (reading and parsing requests, writing answers) runs on N session
// threads of the Server's own, each of which hands every parsed request to the core and
// writes what comes back; a WebSocket upgrade moves its socket to the core. TLS connections
// stay on the core. Nothing blocks: every socket read and write has a deadline (ApiConfig),
// and work for other components is awaited, never waited for. Running the core's executor on
// several threads is NOT supported.
//
// Lifetime: the ports and the registry must outlive the Server; destroy the Server after run()
// has returned (or after the io_context has been destroyed).

#include "xbanku/api/caller.hpp"
#include "xbanku/api/config.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/metrics/registry.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>

namespace xbanku::api {

namespace detail {
struct ServerCore;
class SessionThreads;
}  // namespace detail

// How the server tells who asks, and whether it speaks TLS.
struct ServerSecurity {
  // Verifies bearer tokens and peer credentials; null = no authentication (every caller is a
  // local administrator: the service then listens on loopback only, like Redis's protected
  // mode, and trusts another instance's X-Xbanku-Hops).
  const Authenticator* auth = nullptr;
  // Set: every connection is TLS (HTTPS and WSS on the listen port).
  std::shared_ptr<boost::asio::ssl::context> tls;
};

// A socket bound and listening on config.listen_host:listen_port (an ephemeral port with 0),
// for Server::adopt(): the service learns its port before it builds what needs its address.
[[nodiscard]] boost::system::result<boost::asio::ip::tcp::acceptor> bind(
    boost::asio::any_io_executor ex, const ApiConfig& config);

class Server {
 public:
  Server(boost::asio::any_io_executor ex, ApiConfig config, app::CommandService& commands,
         app::QueryService& queries, app::UpdateFeed& feed, app::Health& health,
         metrics::Registry& registry, ServerSecurity security = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on config.listen_host:listen_port; an error if the address is invalid
  // or the port is taken. Call once, before run().
  [[nodiscard]] boost::system::error_code listen();
  // Or: serve on an acceptor bind() made. Call once, before run().
  void adopt(boost::asio::ip::tcp::acceptor acceptor);
  // What GET /cluster and GET /dlq read (without one they answer 503). It must outlive the
  // server. Call before run().
  void inspect(app::Inspector& inspector);
  // Accepts connections until stop(); then waits for every session to finish (in-flight
  // requests get shutdown_grace, after which their sockets are closed) and returns.
  boost::asio::awaitable<void> run();
  // Graceful stop: stop accepting, close idle connections, let in-flight requests answer
  // (with Connection: close) within shutdown_grace, then close what is left. Idempotent.
  // Call on the executor's thread (e.g. from a signal handler's completion).
  void stop();
  // The bound port (useful with listen_port = 0); 0 before listen().
  [[nodiscard]] std::uint16_t port() const;

 private:
  std::shared_ptr<detail::ServerCore> core_;
  std::unique_ptr<detail::SessionThreads> threads_;  // null: sessions on the core
};

}  // namespace xbanku::api
