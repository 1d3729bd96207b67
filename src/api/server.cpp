// The acceptor (admission under the fairness limits), who-is-asking for every request, and the
// Server's lifecycle. Sessions live in http_session.cpp and websocket.cpp; request semantics in
// http_handler.cpp and operations.cpp.
#include "xbanku/api/server.hpp"

#include "server_core.hpp"
#include "session_threads.hpp"
#include "xbanku/api/router.hpp"
#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/common/clock.hpp"
#include "xbanku/domain/uuid.hpp"
#include "xbanku/wire/json.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace xbanku::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using detail::ServerCore;

namespace detail {

namespace {

std::shared_ptr<spdlog::logger> access_logger() {
  // One line per request; asynchronous so that logging never waits on stderr on the io thread.
  if (auto existing = spdlog::get("access")) return existing;
  spdlog::init_thread_pool(8192, 1);
  auto logger = spdlog::stderr_color_mt<spdlog::async_factory>("access");
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [access] %v");
  return logger;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The host of a Host header or an Origin URL, lower case, without port or brackets.
std::string host_of(std::string_view value) {
  if (const auto scheme = value.find("://"); scheme != std::string_view::npos) {
    value.remove_prefix(scheme + 3);
  }
  if (const auto slash = value.find('/'); slash != std::string_view::npos)
    value = value.substr(0, slash);
  if (value.starts_with('[')) {  // [v6]:port
    const auto close = value.find(']');
    return lower(
        value.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  if (const auto colon = value.rfind(':'); colon != std::string_view::npos)
    value = value.substr(0, colon);
  return lower(value);
}

bool host_allowed(const ApiConfig& cfg, std::string_view host_header) {
  if (cfg.allowed_hosts.empty()) return true;
  const std::string host = host_of(host_header);
  return std::find(cfg.allowed_hosts.begin(), cfg.allowed_hosts.end(), host) !=
         cfg.allowed_hosts.end();
}

Reply forbidden(std::string_view code, std::string message) {
  return error_reply(403, code, message);
}

Reply unauthorized(std::string message, std::string www_authenticate) {
  Reply r = error_reply(401, "unauthorized", message);
  r.www_authenticate = std::move(www_authenticate);
  return r;
}

// The bearer token of a request: the Authorization header (RFC 6750 §2.1), or for a WebSocket
// upgrade the access_token query parameter (§2.3), since browsers cannot set headers there.
std::optional<std::string> bearer_token(const Request& req, bool websocket_upgrade) {
  if (const auto it = req.find(http::field::authorization); it != req.end()) {
    std::string_view v = it->value();
    if (v.size() > 7 && beast::iequals(v.substr(0, 7), "Bearer ")) return std::string(v.substr(7));
    return std::string();  // present but not a bearer token: refused as malformed
  }
  if (websocket_upgrade) {
    std::string token;
    bool malformed = false;
    const auto m = route(req.method(), req.target());
    if (query_param(m.query, "access_token", token, malformed) && !malformed) return token;
  }
  return std::nullopt;
}

}  // namespace

ServerCore::ServerCore(asio::any_io_executor executor, ApiConfig config,
                       app::CommandService& commands, app::QueryService& queries,
                       app::UpdateFeed& update_feed, app::Health& health,
                       metrics::Registry& registry, ServerSecurity sec)
    : ex(executor),
      cfg(std::move(config)),
      metrics(registry),
      services{commands, queries, health, metrics},
      feed(update_feed),
      security(std::move(sec)),
      acceptor(executor),
      limits(cfg.max_connections, cfg.max_connections_per_address, cfg.reserved_connections),
      tasks(executor),
      grace(executor) {
  request_prefix = cfg.instance_id.empty() ? domain::new_uuid().substr(0, 8) : cfg.instance_id;
  if (cfg.access_log) access = access_logger();
}

std::string ServerCore::request_id() {
  std::string id = request_prefix;
  id.push_back('-');
  id += std::to_string(++next_id);
  return id;
}

void ServerCore::fan_out(const app::AccountUpdate& update) {
  std::shared_ptr<const std::string> msg;  // serialized once, shared by every subscriber
  for (UpdateSink* s : sinks) {
    if (!s->wants(update)) continue;
    if (!msg) {
      msg = std::make_shared<const std::string>(
          boost::json::serialize(wire::to_json(wire::Update{update.account, update.pos})));
    }
    s->deliver(msg);
  }
}

std::chrono::steady_clock::duration ServerCore::principal_rate(const std::string& key) {
  const auto now = std::chrono::steady_clock::now();
  auto [it, added] =
      principal_rates.try_emplace(key, cfg.rate_per_principal, cfg.burst_per_principal);
  const auto wait = it->second.take(now);
  // Forget clients whose bucket is full again, now and then: the map stays as small as the set
  // of clients active in the last few seconds.
  if (principal_rates.size() > 4096) {
    std::erase_if(principal_rates, [&](const auto& kv) { return kv.second.idle(now); });
  }
  return wait;
}

std::variant<Identified, Reply> identify(const ServerCore& core, const Request& req, Route route,
                                         bool websocket_upgrade) {
  if (!host_allowed(core.cfg, req[http::field::host])) {
    return forbidden(
        "host_not_allowed",
        "the Host of this request is not one this service answers to (--allowed-hosts)");
  }
  if (websocket_upgrade) {
    if (const auto it = req.find(http::field::origin);
        it != req.end() && !host_allowed(core.cfg, it->value())) {
      return forbidden("origin_not_allowed",
                       "a page from this Origin may not open a WebSocket here (--allowed-hosts)");
    }
  }
  const Authenticator* auth = core.security.auth;
  if (auth == nullptr) return Identified{Caller::local(), true};  // protected mode: loopback only

  // Probes and the public description answer everyone.
  // The console's files too: the page asks for a token itself (and keeps it in the tab).
  if (route == Route::healthz || route == Route::readyz || route == Route::openapi ||
      route == Route::console_index || route == Route::console_asset) {
    Caller nobody;
    nobody.authenticated = true;
    return Identified{nobody, false};
  }
  if (const auto it = req.find(cluster::kPeerHeader); it != req.end()) {
    auto instance = auth->peer(it->value(), req.method_string(), req.target(), now_ms());
    if (!instance) return unauthorized("the peer credential is not valid", "");
    Caller peer;
    peer.authenticated = true;
    peer.peer = true;
    peer.principal = "peer:" + *instance;
    peer.scopes = {std::string(kScopeAdmin)};
    return Identified{std::move(peer), true};
  }
  const auto token = bearer_token(req, websocket_upgrade);
  if (!token) {
    return unauthorized("a bearer token is required (Authorization: Bearer <token>)",
                        R"(Bearer realm="xbanku")");
  }
  auto caller = auth->bearer(*token, now_ms() / 1000);
  if (!caller) return unauthorized(caller.error().message, caller.error().www_authenticate);
  return Identified{std::move(*caller), false};
}

Response refusal_response(const Reply& r, unsigned version, std::string_view rid) {
  Response res = error_response(r.status, r.body.at("error").at("code").as_string(),
                                r.body.at("error").at("message").as_string(), version, rid);
  if (!r.www_authenticate.empty()) res.set(http::field::www_authenticate, r.www_authenticate);
  if (r.retry_after) res.set(http::field::retry_after, "1");
  return res;
}

}  // namespace detail

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);

// Over every limit: answer 503 without a session. The socket is fresh, so its send buffer has
// room and a non-blocking write completes at once.
void refuse(tcp::socket& socket, const std::string& canned) {
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
               metrics::Registry& registry, ServerSecurity security)
    : core_(std::make_shared<ServerCore>(std::move(ex), std::move(config), commands, queries, feed,
                                         health, registry, std::move(security))) {
  // TLS sessions stay on the core: a WebSocket upgrade moves its stream to the core (see
  // http_session.cpp), and Boost 1.81 cannot move an SSL stream to another io_context.
  if (core_->cfg.session_threads > 0 && !core_->security.tls) {
    threads_ = std::make_unique<detail::SessionThreads>(core_->cfg.session_threads);
    core_->threads = threads_.get();
  }
}

Server::~Server() {
  // Session threads first: what is left on them may still hold the core.
  core_->threads = nullptr;
  threads_.reset();
}

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

void Server::inspect(app::Inspector& inspector) {
  core_->services.inspector = &inspector;
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
    // The new socket belongs to the executor its session will run on (named: GCC 12 mishandles
    // temporaries in a co_await expression, see http_handler.cpp).
    const asio::any_io_executor session_ex =
        core->threads != nullptr ? core->threads->next() : core->ex;
    auto [ec, socket] = co_await core->acceptor.async_accept(session_ex, kToken);
    if (ec) {
      if (core->stopping || ec == asio::error::operation_aborted) break;
      // E.g. EMFILE: back off instead of spinning.
      spdlog::warn("api: accept failed: {}", ec.message());
      asio::steady_timer backoff(core->ex, std::chrono::milliseconds(100));
      co_await backoff.async_wait(kToken);
      continue;
    }
    if (core->stopping) break;
    beast::error_code aec;
    std::string address = socket.remote_endpoint(aec).address().to_string();
    const auto admission = core->limits.admit(address);
    if (admission == ConnectionLimits::Admission::refused) {
      refuse(socket, canned);
      core->metrics.connection_refused();
      continue;
    }
    // Answers go out when written: with Nagle's algorithm an answer written while the previous
    // one is still unacknowledged waits for that ACK, which a WebSocket client sending one
    // command a millisecond piggybacks on its next command. Measured at 1,000 commands/s on one
    // socket: the median fell from 1.03 to 0.65 ms with it.
    socket.set_option(tcp::no_delay(true), aec);
    core->metrics.connections(core->limits.sessions(), core->limits.reserved_in_use());
    core->tasks.spawn(
        [](std::shared_ptr<ServerCore> c, tcp::socket s, std::string addr,
           ConnectionLimits::Admission a) -> asio::awaitable<void> {
          const bool reserved = a == ConnectionLimits::Admission::reserved;
          if (s.get_executor() == c->ex) {
            co_await detail::run_http_session(c, std::move(s), addr, reserved);
          } else {  // on its session thread; back here once it has ended
            const asio::any_io_executor thread_ex = s.get_executor();
            auto session =
                asio::co_spawn(thread_ex, detail::run_http_session(c, std::move(s), addr, reserved),
                               detail::uncancellable());
            co_await std::move(session);
          }
          c->limits.release(addr, a);
          c->metrics.connections(c->limits.sessions(), c->limits.reserved_in_use());
        }(core, std::move(socket), std::move(address), admission),
        "HTTP session");
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
  {
    // Under the lock: a session on a session thread may end (and unregister) meanwhile.
    const std::lock_guard lock(core->connections_mutex);
    for (auto& [id, c] : core->connections) {
      if (c != nullptr) c->graceful_stop();
    }
  }
  core->grace.expires_after(core->cfg.shutdown_grace);
  core->grace.async_wait([weak = std::weak_ptr<ServerCore>(core)](boost::system::error_code wec) {
    auto self = weak.lock();
    if (wec || !self) return;  // run() finished first
    self->forced = true;
    const std::lock_guard lock(self->connections_mutex);
    const auto left = std::count_if(self->connections.begin(), self->connections.end(),
                                    [](const auto& kv) { return kv.second != nullptr; });
    if (left > 0) spdlog::warn("api: closing {} connection(s) after the shutdown grace", left);
    for (auto& [id, c] : self->connections) {
      if (c != nullptr) c->force_close();
    }
  });
}

}  // namespace xbanku::api
