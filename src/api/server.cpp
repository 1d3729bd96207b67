// The acceptor and the HTTP session: reading with limits and deadlines, keep-alive, the
// WebSocket upgrade hand-off and graceful stop. Request semantics live in http_handler.cpp.
#include "xbanku/api/server.hpp"

#include "server_core.hpp"
#include "xbanku/api/router.hpp"
#include "xbanku/domain/uuid.hpp"
#include "xbanku/wire/json.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <vector>

namespace xbanku::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using detail::ServerCore;

namespace detail {

ServerCore::ServerCore(asio::any_io_executor executor, ApiConfig config,
                       app::CommandService& commands, app::QueryService& queries,
                       app::UpdateFeed& update_feed, app::Health& health,
                       metrics::Registry& registry)
    : ex(executor),
      cfg(std::move(config)),
      metrics(registry),
      services{commands, queries, health, metrics},
      feed(update_feed),
      acceptor(executor),
      tasks(executor),
      grace(executor) {
  request_prefix = cfg.instance_id.empty() ? domain::new_uuid().substr(0, 8) : cfg.instance_id;
}

std::string ServerCore::request_id() {
  std::string id = request_prefix;
  id.push_back('-');
  id += std::to_string(++next_id);
  return id;
}

}  // namespace detail

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);

// An HTTP connection as stop() sees it.
class HttpConnection final : public detail::Connection {
 public:
  explicit HttpConnection(beast::tcp_stream& s) : stream_(s) {}
  bool idle = false;  // waiting for the first byte of the next request

  void graceful_stop() override {
    if (idle) stream_.cancel();
  }
  void force_close() override {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  beast::tcp_stream& stream_;
};

std::string request_id_for(ServerCore& core, const Request& req) {
  if (const auto it = req.find("X-Request-Id"); it != req.end() && valid_command_id(it->value())) {
    return std::string(it->value());
  }
  return core.request_id();
}

// Half-closes and drains what the client is still sending (at most ~1 MiB / 1 s), so that
// closing does not reset the connection before the client has read our error response.
asio::awaitable<void> linger_close(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(1));
  std::array<char, 8192> sink{};
  std::size_t drained = 0;
  while (!ec && drained < (1u << 20)) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kToken);
    ec = rec;
    drained += n;
  }
  stream.close();
}

bool quiet_read_error(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == beast::error::timeout || ec == asio::error::operation_aborted ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::bad_descriptor || ec == asio::error::broken_pipe;
}

asio::awaitable<void> serve(std::shared_ptr<ServerCore> core, beast::tcp_stream& stream,
                            HttpConnection& conn, detail::ConnectionRegistration& reg) {
  const ApiConfig& cfg = core->cfg;
  beast::flat_buffer buffer(cfg.max_header + cfg.max_body + 16 * 1024);
  bool first = true;
  for (;;) {
    if (core->stopping) co_return;
    // Wait for the next request: a short bound for a new connection, the idle bound between
    // keep-alive requests. A pipelined request may already be buffered.
    if (buffer.size() == 0) {
      conn.idle = true;
      stream.expires_after(first ? cfg.read_timeout : cfg.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kToken);
      conn.idle = false;
      if (ec) co_return;
      buffer.commit(n);
    }
    first = false;

    // The whole request (header + body) must arrive within read_timeout: a client dribbling
    // bytes (slowloris) is dropped.
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(cfg.max_header));
    parser.body_limit(cfg.max_body);
    stream.expires_after(cfg.read_timeout);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kToken);
    beast::error_code ec = hec;
    if (!ec) {
      const auto expect = parser.get()[http::field::expect];
      if (beast::iequals(expect, "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
        auto [cec, cn] = co_await http::async_write(stream, cont, kToken);
        if (cec) co_return;
      }
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kToken);
      ec = bec;
    }
    if (ec) {
      if (quiet_read_error(ec)) co_return;
      const Route r = parser.is_header_done()
                          ? route(parser.get().method(), parser.get().target()).route
                          : Route::not_found;
      const std::string rid = core->request_id();
      Response res;
      if (ec == http::error::body_limit) {
        res = error_response(413, "payload_too_large",
                             "the body is larger than " + std::to_string(cfg.max_body) + " bytes",
                             11, rid);
      } else if (ec == http::error::header_limit) {
        res = error_response(
            431, "header_too_large",
            "the header is larger than " + std::to_string(cfg.max_header) + " bytes", 11, rid);
      } else {
        res = error_response(400, "bad_request", "malformed HTTP request", 11, rid);
      }
      res.keep_alive(false);
      core->metrics.request(r, res.result_int());
      stream.expires_after(cfg.read_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, kToken);
      if (!wec) co_await linger_close(stream);
      co_return;
    }

    Request req = parser.release();
    if (route(req.method(), req.target()).route == Route::ws && beast::websocket::is_upgrade(req)) {
      if (core->stopping) co_return;
      stream.expires_never();
      co_await detail::run_websocket(core, std::move(stream), std::move(req), reg);
      co_return;
    }

    Response res = co_await handle(req, core->services, request_id_for(*core, req));
    if (core->stopping) res.keep_alive(false);
    stream.expires_after(cfg.read_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, kToken);
    if (wec) co_return;
    if (!res.keep_alive()) {
      beast::error_code sec;
      stream.socket().shutdown(tcp::socket::shutdown_send, sec);
      co_return;
    }
  }
}

asio::awaitable<void> http_session(std::shared_ptr<ServerCore> core, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  HttpConnection conn(stream);
  detail::ConnectionRegistration reg(*core, &conn);
  try {
    co_await serve(core, stream, conn, reg);
  } catch (const std::exception& e) {
    spdlog::error("api: HTTP session failed: {}", e.what());
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.socket().close(ec);
}

// Over the connection cap: answer 503 without a session. The socket is fresh, so its send
// buffer has room and a non-blocking write completes at once.
void reject(tcp::socket& socket, const std::string& canned) {
  beast::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(canned), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

std::string canned_503() {
  const std::string body =
      boost::json::serialize(wire::error_body("overloaded", "too many connections; retry later"));
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

Server::Server(asio::any_io_executor ex, ApiConfig config, app::CommandService& commands,
               app::QueryService& queries, app::UpdateFeed& feed, app::Health& health,
               metrics::Registry& registry)
    : core_(std::make_shared<ServerCore>(std::move(ex), std::move(config), commands, queries, feed,
                                         health, registry)) {}

Server::~Server() = default;

boost::system::result<tcp::acceptor> bind(asio::any_io_executor ex, const ApiConfig& config) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config.listen_host, ec);
  if (ec) return ec;
  const tcp::endpoint ep{address, config.listen_port};
  tcp::acceptor a(ex);
  a.open(ep.protocol(), ec);
  if (ec) return ec;
  a.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return ec;
  a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  return a;
}

boost::system::error_code Server::listen() {
  auto a = bind(core_->ex, core_->cfg);
  if (!a) return a.error();
  adopt(std::move(*a));
  return {};
}

void Server::adopt(tcp::acceptor acceptor) {
  core_->acceptor = std::move(acceptor);
  boost::system::error_code ec;
  core_->bound_port = core_->acceptor.local_endpoint(ec).port();
}

std::uint16_t Server::port() const {
  return core_->bound_port;
}

asio::awaitable<void> Server::run() {
  std::shared_ptr<ServerCore> core = core_;
  const std::uint64_t token =
      core->feed.subscribe([weak = std::weak_ptr<ServerCore>(core)](const app::AccountUpdate& u) {
        if (auto c = weak.lock()) c->fan_out(u);
      });
  const std::string canned = canned_503();
  while (!core->stopping && core->acceptor.is_open()) {
    auto [ec, socket] = co_await core->acceptor.async_accept(kToken);
    if (ec) {
      if (core->stopping || ec == asio::error::operation_aborted) break;
      // E.g. EMFILE: back off instead of spinning.
      spdlog::warn("api: accept failed: {}", ec.message());
      asio::steady_timer backoff(core->ex, std::chrono::milliseconds(100));
      co_await backoff.async_wait(kToken);
      continue;
    }
    if (core->stopping) break;
    if (core->connections.size() >= core->cfg.max_connections) {
      reject(socket, canned);
      core->metrics.request(Route::not_found, 503);
      continue;
    }
    core->tasks.spawn(http_session(core, std::move(socket)), "HTTP session");
  }
  // Sessions end on their own (stop() closed idle ones; the grace timer closes the rest).
  co_await core->tasks.wait();
  core->grace.cancel();
  core->feed.unsubscribe(token);
}

void Server::stop() {
  auto core = core_;
  if (core->stopping) return;
  core->stopping = true;
  boost::system::error_code ec;
  core->acceptor.close(ec);
  std::vector<detail::Connection*> live;
  for (auto& [id, c] : core->connections) {
    if (c != nullptr) live.push_back(c);
  }
  for (auto* c : live) c->graceful_stop();
  core->grace.expires_after(core->cfg.shutdown_grace);
  core->grace.async_wait([weak = std::weak_ptr<ServerCore>(core)](boost::system::error_code wec) {
    auto self = weak.lock();
    if (wec || !self) return;  // run() finished first
    self->forced = true;
    std::vector<detail::Connection*> left;
    for (auto& [id, c] : self->connections) {
      if (c != nullptr) left.push_back(c);
    }
    if (!left.empty())
      spdlog::warn("api: closing {} connection(s) after the shutdown grace", left.size());
    for (auto* c : left) c->force_close();
  });
}

}  // namespace xbanku::api
