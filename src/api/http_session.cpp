// The HTTP session, plain or TLS: reading each request within its deadlines, who is asking and
// how fast (identify, rate limits), the answer (raced against the client going away when it can
// wait), one access-log line, keep-alive, the WebSocket hand-off and graceful stop.
//
// Threads: the session runs on its socket's executor, the core or a session thread
// (session_threads.hpp). It reads, parses and writes there; decide() — everything between a
// parsed request and the answer to write — runs on the core (on_core), while the session waits.
// Only one of the two touches the stream at a time: decide() may wait on the socket for the
// client going away, and the session does not use it until decide() has returned.
#include "server_core.hpp"
#include "xbanku/api/router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <optional>
#include <type_traits>

namespace xbanku::api::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

template <class Stream>
constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

// An HTTP connection as stop() sees it. stop() runs on the core, the session perhaps on a
// session thread: both calls are posted to the session's executor, and do nothing once the
// session has ended (`alive_` is only read and cleared there).
template <class Stream>
class HttpConnection final : public Connection {
 public:
  explicit HttpConnection(Stream& s) : stream_(s) {}
  ~HttpConnection() override { *alive_ = false; }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  // Session's thread only: waiting for the first byte of the next request; in decide() on the
  // core, which may be waiting on the socket itself.
  bool idle = false;
  bool in_core = false;

  void graceful_stop() override {
    asio::post(stream_.get_executor(), [this, alive = alive_] {
      if (*alive && idle) beast::get_lowest_layer(stream_).cancel();
    });
  }
  void force_close() override {
    asio::post(stream_.get_executor(), [this, alive = alive_] {
      if (!*alive) return;
      beast::error_code ec;
      auto& socket = beast::get_lowest_layer(stream_).socket();
      // Shutting down wakes the core's wait on the socket (end of stream: the client is gone)
      // and fails every later read and write; closing it under that wait would race it, so
      // while the core has the request the session closes the socket when it ends.
      socket.shutdown(tcp::socket::shutdown_both, ec);
      if (!in_core) socket.close(ec);
    });
  }

 private:
  Stream& stream_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

std::string request_id_for(ServerCore& core, const Request& req) {
  if (const auto it = req.find("X-Request-Id"); it != req.end() && valid_command_id(it->value())) {
    return std::string(it->value());
  }
  return core.request_id();
}

// Closes after an error response without resetting the connection before the client has read
// it: TLS says goodbye (close_notify, bounded); plain TCP half-closes and drains what the client
// still sends (at most ~1 MiB / 1 s).
template <class Stream>
asio::awaitable<void> linger_close(Stream& stream) {
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(std::chrono::seconds(1));
  if constexpr (kTls<Stream>) {
    co_await stream.async_shutdown(kToken);
  } else {
    beast::error_code ec;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 8192> sink{};
    std::size_t drained = 0;
    while (!ec && drained < (1u << 20)) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kToken);
      ec = rec;
      drained += n;
    }
  }
  lowest.close();
}

bool quiet_read_error(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == beast::error::timeout || ec == asio::error::operation_aborted ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::bad_descriptor || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

// Completes when the client has gone away: the socket reads end-of-stream. It only peeks, so a
// pipelined request (or TLS record) stays for the session; once bytes are waiting a close can
// no longer be told apart, and it waits until cancelled. It peeks before each wait: the socket
// is registered edge-triggered and a wait is not speculative, so a close that arrived before
// the wait was queued (e.g. during the hand-over to the core) would otherwise go unseen. The
// peek is a non-blocking recv(2): Asio's receive() on a socket without user non-blocking mode
// would poll(2), blocking the core.
asio::awaitable<void> until_gone(tcp::socket& socket) {
  for (;;) {
    char c;
    const auto n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) co_return;  // end of stream
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) co_return;  // broken
    if (n > 0) {
      asio::steady_timer forever(socket.get_executor(), asio::steady_timer::time_point::max());
      co_await forever.async_wait(kToken);
      co_return;
    }
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kToken);
    if (ec) co_return;  // cancelled (the answer is ready) or broken: either way, done
  }
}

// Requests that may wait (for a projection, or a command id) end when their client goes away:
// a disconnect frees the session's slot at once instead of after the wait.
bool may_wait(const RouteMatch& m) {
  return m.route == Route::command || m.route == Route::accounts ||
         m.route == Route::account_deposit || m.route == Route::account_withdraw ||
         m.route == Route::transfers;
}

// What the core decided for one request; the session carries it out on its own thread.
struct Decision {
  enum class Kind {
    reply,    // write `res`; keep the connection if it says keep-alive
    close,    // write `res`, then close gently (refusals that end the connection)
    drop,     // close without writing (the client went away, or the server stops)
    upgrade,  // hand the stream to a WebSocket session for `who`
  };
  Kind kind = Kind::reply;
  Response res;
  std::optional<Identified> who;
};

// Moves a plain socket from a session thread to the core's io_context, so that its WebSocket
// session runs where the fan-out and the app are (Beast's WebSocket timers run on the stream's
// own executor). Closed on failure.
PlainStream moved_to(asio::any_io_executor ex, tcp::socket& from) {
  beast::error_code ec;
  const auto protocol = from.local_endpoint(ec).protocol();
  tcp::socket to(ex);
  if (!ec) {
    const auto fd = from.release(ec);
    if (!ec) to.assign(protocol, fd, ec);
    if (ec) ::close(fd);
  }
  if (ec) spdlog::warn("api: could not move a WebSocket to the core thread: {}", ec.message());
  return PlainStream(std::move(to));
}

template <class Stream>
class HttpSession {
 public:
  HttpSession(std::shared_ptr<ServerCore> core, Stream& stream, std::string address, bool reserved)
      : core_(std::move(core)),
        stream_(stream),
        address_(std::move(address)),
        reserved_(reserved),
        conn_(stream),
        reg_(*core_, &conn_),
        rate_(core_->cfg.rate_per_connection, core_->cfg.burst_per_connection) {}

  asio::awaitable<void> run();
  // The stream now belongs to a WebSocket session: the caller must not touch it any more.
  [[nodiscard]] bool upgraded() const noexcept { return upgraded_; }

 private:
  asio::awaitable<void> refuse_and_close(Response res);
  // On the core: who asks, how fast, and the answer (or the upgrade).
  asio::awaitable<Decision> decide(const Request& req, const RouteMatch& m, const std::string& rid,
                                   bool upgrade, Clock::time_point started);
  // The reply to a request from `who`, or why it is not run.
  asio::awaitable<Response> answer(const Request& req, const RouteMatch& m, const Identified& who,
                                   const std::string& rid);
  std::optional<Response> rate_limited(const Request& req, const Identified& who,
                                       std::string_view rid);
  void log_access(const Request& req, unsigned status, const Identified* who,
                  Clock::time_point start, std::string_view rid) const;

  std::shared_ptr<ServerCore> core_;
  Stream& stream_;
  std::string address_;
  bool reserved_;
  HttpConnection<Stream> conn_;
  ConnectionRegistration reg_;
  TokenBucket rate_;
  bool upgraded_ = false;
};

template <class Stream>
asio::awaitable<void> HttpSession<Stream>::refuse_and_close(Response res) {
  res.keep_alive(false);
  beast::get_lowest_layer(stream_).expires_after(core_->cfg.read_timeout);
  auto [wec, wn] = co_await http::async_write(stream_, res, kToken);
  if (!wec) co_await linger_close(stream_);
}

template <class Stream>
std::optional<Response> HttpSession<Stream>::rate_limited(const Request& req, const Identified& who,
                                                          std::string_view rid) {
  if (who.caller.peer) return std::nullopt;  // bounded by the peers' own outbound limit
  // Rates are for principals. Without --auth every caller is the operator's own loopback client
  // (protected mode), and a rate would only throttle the operator's load; the probes and the
  // description (no principal) answer load balancers, which the connection caps bound already.
  if (!who.caller.authenticated || who.caller.principal.empty()) return std::nullopt;
  const auto now = Clock::now();
  auto wait = rate_.take(now);
  if (wait == Clock::duration::zero()) wait = core_->principal_rate(who.caller.principal);
  if (wait == Clock::duration::zero()) return std::nullopt;
  const auto seconds = static_cast<long>(std::ceil(std::chrono::duration<double>(wait).count()));
  Response res = error_response(429, "rate_limited", "too many requests; slow down and retry",
                                req.version(), rid);
  res.set(http::field::retry_after, std::to_string(std::max(1L, seconds)));
  return res;
}

template <class Stream>
void HttpSession<Stream>::log_access(const Request& req, unsigned status, const Identified* who,
                                     Clock::time_point start, std::string_view rid) const {
  if (!core_->access) return;
  std::string_view path = req.target();
  path = path.substr(0, path.find('?'));  // queries may carry an access_token
  std::string_view principal = "-";
  if (who != nullptr) {
    principal = who->caller.principal;
    // No principal: a local administrator (no authentication) or an anonymous probe.
    if (principal.empty()) principal = who->caller.authenticated ? "-" : "local";
  }
  core_->access->info("{} {} {} principal={} {:.3f}ms rid={} from={}",
                      std::string_view(req.method_string()), path, status, principal,
                      std::chrono::duration<double, std::milli>(Clock::now() - start).count(), rid,
                      address_);
}

template <class Stream>
asio::awaitable<Response> HttpSession<Stream>::answer(const Request& req, const RouteMatch& m,
                                                      const Identified& who,
                                                      const std::string& rid) {
  RequestContext ctx{rid, who.caller, who.peer_headers,
                     who.peer_headers ? app::kMaxCommandWait : core_->cfg.max_client_wait};
  if (!may_wait(m)) co_return co_await handle(req, core_->services, std::move(ctx));
  auto raced = co_await (handle(req, core_->services, std::move(ctx)) ||
                         until_gone(beast::get_lowest_layer(stream_).socket()));
  if (raced.index() == 0) co_return std::get<0>(std::move(raced));
  Response gone = error_response(499, "client_closed", "the client went away", req.version(), rid);
  gone.keep_alive(false);
  co_return gone;
}

template <class Stream>
asio::awaitable<void> HttpSession<Stream>::run() {
  const ApiConfig& cfg = core_->cfg;
  auto& lowest = beast::get_lowest_layer(stream_);
  beast::flat_buffer buffer(cfg.max_header + cfg.max_body + 16 * 1024);
  bool first = true;
  for (;;) {
    if (core_->stopping) co_return;
    // Wait for the next request: a short bound for a new connection (shorter still for a
    // reserved one), the idle bound between keep-alive requests. A pipelined request may
    // already be buffered.
    if (buffer.size() == 0) {
      conn_.idle = true;
      using Ms = std::chrono::milliseconds;
      lowest.expires_after(reserved_ ? cfg.reserved_timeout
                           : first   ? Ms(cfg.read_timeout)
                                     : Ms(cfg.idle_timeout));
      auto [ec, n] = co_await stream_.async_read_some(buffer.prepare(4096), kToken);
      conn_.idle = false;
      if (ec) co_return;
      buffer.commit(n);
    }
    first = false;

    // The whole request (header + body) must arrive within read_timeout: a client dribbling
    // bytes (slowloris) is dropped.
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(cfg.max_header));
    parser.body_limit(cfg.max_body);
    lowest.expires_after(reserved_ ? cfg.reserved_timeout : cfg.read_timeout);
    auto [hec, hn] = co_await http::async_read_header(stream_, buffer, parser, kToken);
    beast::error_code ec = hec;
    if (!ec) {
      const auto expect = parser.get()[http::field::expect];
      if (beast::iequals(expect, "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
        auto [cec, cn] = co_await http::async_write(stream_, cont, kToken);
        if (cec) co_return;
      }
      auto [bec, bn] = co_await http::async_read(stream_, buffer, parser, kToken);
      ec = bec;
    }
    const auto started = Clock::now();
    if (ec) {
      if (quiet_read_error(ec)) co_return;
      const Route r = parser.is_header_done()
                          ? route(parser.get().method(), parser.get().target()).route
                          : Route::not_found;
      const std::string rid = core_->request_id();
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
      asio::post(core_->ex, [core = core_, r, code = res.result_int()] {
        core->metrics.request(r, code);  // its map of counters lives on the core
      });
      co_await refuse_and_close(std::move(res));
      co_return;
    }

    Request req = parser.release();
    const RouteMatch m = route(req.method(), req.target());
    const std::string rid = request_id_for(*core_, req);
    const bool upgrade = m.route == Route::ws && beast::websocket::is_upgrade(req);
    conn_.in_core = true;
    auto decided = decide(req, m, rid, upgrade, started);  // named: GCC 12 and co_await temporaries
    Decision d = co_await on_core(*core_, std::move(decided));
    conn_.in_core = false;

    switch (d.kind) {
      case Decision::Kind::drop: co_return;
      case Decision::Kind::close: co_await refuse_and_close(std::move(d.res)); co_return;
      case Decision::Kind::upgrade:
        lowest.expires_never();
        upgraded_ = true;
        if constexpr (!kTls<Stream>) {
          if (stream_.get_executor() != core_->ex) {
            auto ws = asio::co_spawn(
                core_->ex,
                run_websocket<PlainStream>(core_, moved_to(core_->ex, lowest.socket()),
                                           std::move(req), std::move(*d.who), address_, reg_),
                uncancellable());
            co_await std::move(ws);
            co_return;
          }
        }
        co_await run_websocket<Stream>(core_, std::move(stream_), std::move(req), std::move(*d.who),
                                       address_, reg_);
        co_return;
      case Decision::Kind::reply: break;
    }
    Response& res = d.res;
    if (core_->stopping || reserved_) res.keep_alive(false);
    lowest.expires_after(cfg.read_timeout);
    auto [wec, wn] = co_await http::async_write(stream_, res, kToken);
    if (wec) co_return;
    if (!res.keep_alive()) {
      if constexpr (kTls<Stream>) {
        lowest.expires_after(std::chrono::seconds(1));
        co_await stream_.async_shutdown(kToken);
      } else {
        beast::error_code sec;
        lowest.socket().shutdown(tcp::socket::shutdown_send, sec);
      }
      co_return;
    }
  }
}

template <class Stream>
asio::awaitable<Decision> HttpSession<Stream>::decide(const Request& req, const RouteMatch& m,
                                                      const std::string& rid, bool upgrade,
                                                      Clock::time_point started) {
  using Kind = Decision::Kind;
  if (reserved_ && !(req.method() == http::verb::get &&
                     (m.route == Route::healthz || m.route == Route::readyz))) {
    // Admitted over the limits for probes only.
    Response res =
        error_response(503, "overloaded", "too many connections; retry later", req.version(), rid);
    res.set(http::field::retry_after, "1");
    core_->metrics.request(m.route, 503);
    log_access(req, 503, nullptr, started, rid);
    co_return Decision{Kind::close, std::move(res), std::nullopt};
  }
  auto identified = identify(*core_, req, m.route, upgrade);
  if (auto* refused = std::get_if<Reply>(&identified)) {
    Response res = refusal_response(*refused, req.version(), rid);
    res.keep_alive(req.keep_alive() && !upgrade);
    core_->metrics.request(m.route, res.result_int());
    log_access(req, res.result_int(), nullptr, started, rid);
    co_return Decision{Kind::reply, std::move(res), std::nullopt};
  }
  Identified& who = std::get<Identified>(identified);
  if (auto limited = rate_limited(req, who, rid)) {
    limited->keep_alive(req.keep_alive());
    core_->metrics.request(m.route, 429);
    log_access(req, 429, &who, started, rid);
    co_return Decision{Kind::reply, std::move(*limited), std::nullopt};
  }
  if (upgrade) {
    if (core_->stopping) co_return Decision{Kind::drop, {}, std::nullopt};
    log_access(req, 101, &who, started, rid);
    co_return Decision{Kind::upgrade, {}, std::move(who)};
  }
  Response res = co_await answer(req, m, who, rid);
  log_access(req, res.result_int(), &who, started, rid);
  if (res.result_int() == 499) co_return Decision{Kind::drop, {}, std::nullopt};
  co_return Decision{Kind::reply, std::move(res), std::nullopt};
}

// Runs the session; true when it ended in a WebSocket session that took the stream over.
template <class Stream>
asio::awaitable<bool> serve(std::shared_ptr<ServerCore> core, Stream& stream, std::string address,
                            bool reserved) {
  HttpSession<Stream> session(core, stream, std::move(address), reserved);
  co_await session.run();
  co_return session.upgraded();
}

template <class Stream>
void close(Stream& stream) {
  beast::error_code ec;
  auto& socket = beast::get_lowest_layer(stream).socket();
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace

asio::awaitable<void> run_http_session(std::shared_ptr<ServerCore> core, tcp::socket socket,
                                       std::string address, bool reserved) {
  try {
    if (core->security.tls) {
      TlsStream stream(std::move(socket), *core->security.tls);
      auto& lowest = beast::get_lowest_layer(stream);
      lowest.expires_after(core->cfg.read_timeout);
      auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kToken);
      if (hec) {
        spdlog::debug("api: TLS handshake with {} failed: {}", address, hec.message());
        close(stream);
        co_return;
      }
      const bool upgraded = co_await serve(core, stream, std::move(address), reserved);
      if (!upgraded) close(stream);
    } else {
      PlainStream stream(std::move(socket));
      const bool upgraded = co_await serve(core, stream, std::move(address), reserved);
      if (!upgraded) close(stream);
    }
  } catch (const std::exception& e) {
    spdlog::error("api: HTTP session failed: {}", e.what());
  }
}

}  // namespace xbanku::api::detail
