// The WebSocket session (DESIGN §4), over plain TCP or TLS. One reader coroutine parses frames;
// each request runs as its own coroutine (at most ws_max_in_flight per connection); every
// outgoing message — replies and subscription updates alike — goes through ONE bounded queue
// drained by ONE writer coroutine, because a Beast WebSocket allows a single write at a time. A
// client that stops reading fills the queue and is closed with 1008 (policy violation): the
// server never holds more than ws_send_queue messages (or ws_send_queue_bytes) for it.
//
// Who the client is was settled at the upgrade (the token in Authorization or ?access_token=);
// a session whose token expires is closed with 1008 unless the client renews it with
// {"op":"auth","token":"…"} (same principal).
#include "server_core.hpp"
#include "xbanku/api/json_input.hpp"
#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/common/clock.hpp"
#include "xbanku/domain/uuid.hpp"
#include "xbanku/wire/json.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <deque>
#include <string>
#include <unordered_set>

namespace xbanku::api::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);
using Message = std::shared_ptr<const std::string>;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxRequestIdBytes = 256;  // a request's "id", serialized

bool known_op(std::string_view op) {
  return op == "create" || op == "deposit" || op == "withdraw" || op == "transfer" || op == "get" ||
         op == "command" || op == "subscribe" || op == "unsubscribe" || op == "auth";
}

template <class Stream>
class WsSession final : public Connection,
                        public UpdateSink,
                        public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(std::shared_ptr<ServerCore> core, Stream stream, Identified who, std::string address)
      : core_(std::move(core)),
        ws_(std::move(stream)),
        who_(std::move(who)),
        address_(std::move(address)),
        wake_(core_->ex),
        write_deadline_(core_->ex),
        expiry_(core_->ex),
        rate_(core_->cfg.rate_per_connection, core_->cfg.burst_per_connection) {}

  asio::awaitable<void> run(Request req);

  // UpdateSink
  [[nodiscard]] bool wants(const app::AccountUpdate& u) const override {
    // Another instance following our updates gets only what we project: no relaying loops.
    if (peer_ && u.relayed) return false;
    return all_ || accounts_.count(u.account.id) != 0;
  }
  void deliver(const Message& msg) override { enqueue(msg); }

  // Queues one outgoing message; never blocks. Past either bound (messages or bytes) the
  // connection is closed (1008): a client that does not read cannot grow the server's memory.
  void enqueue(Message msg) {
    if (closing_ || dead_) return;
    if (queue_.size() >= core_->cfg.ws_send_queue ||
        queued_bytes_ + msg->size() > core_->cfg.ws_send_queue_bytes) {
      spdlog::warn(
          "api: WebSocket client is not reading ({} messages, {} bytes queued): closing with 1008",
          queue_.size(), queued_bytes_);
      initiate_close(websocket::close_code::policy_error, /*drop_queue=*/true);
      return;
    }
    queued_bytes_ += msg->size();
    queue_.push_back(std::move(msg));
    wake_.cancel();
  }

  // Leaves the fan-out and closes the socket. Idempotent.
  void cleanup();

  void graceful_stop() override {
    stopping_ = true;
    if (in_flight_ == 0) initiate_close(websocket::close_code::going_away, /*drop_queue=*/false);
  }

  void force_close() override {
    dead_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    wake_.cancel();
    expiry_.cancel();
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  using Self = std::shared_ptr<WsSession>;
  static asio::awaitable<void> writer_task(Self self) { co_await self->writer(); }
  static asio::awaitable<void> request_task(Self self, json::value id, std::string op,
                                            json::object msg);
  static asio::awaitable<void> expiry_task(Self self);

  asio::awaitable<void> writer();
  asio::awaitable<Reply> perform(const std::string& op, const json::object& msg);
  asio::awaitable<Reply> subscription(bool subscribe, const json::object& msg);
  Reply renew(const json::object& msg);
  void on_frame(std::string_view text);
  void send_reply(const json::value& id, const Reply& r);
  void send_error(const json::value& id, std::string_view code, std::string_view message) {
    send_reply(id, error_reply(400, code, message));
  }
  [[nodiscard]] std::optional<Reply> rate_limited();
  void log_access(std::string_view op, unsigned status, Clock::time_point started) const;

  void initiate_close(websocket::close_code code, bool drop_queue) {
    if (closing_ || dead_) return;
    closing_ = true;
    close_code_ = code;
    if (drop_queue) {
      queue_.clear();
      queued_bytes_ = 0;
    }
    wake_.cancel();
    expiry_.cancel();
  }

  // Bounds one write (or the close handshake): a peer that does not read loses its socket.
  void arm_write_deadline() {
    const std::uint64_t gen = ++write_gen_;
    write_deadline_.expires_after(core_->cfg.read_timeout);
    write_deadline_.async_wait([weak = this->weak_from_this(), gen](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->write_gen_ != gen) return;
      self->force_close();
    });
  }
  void disarm_write_deadline() {
    ++write_gen_;
    write_deadline_.cancel();
  }

  // Metrics count every subscription; the update feed only clients' (not other instances'):
  // while a client subscribes, it brings in what other instances project.
  void subscriptions_changed(long delta) {
    core_->metrics.ws_subscriptions(delta);
    if (!peer_ && delta != 0) core_->feed.client_subscriptions(delta);
  }

  [[nodiscard]] long subscription_count() const noexcept {
    return static_cast<long>(accounts_.size()) + (all_ ? 1 : 0);
  }

  std::shared_ptr<ServerCore> core_;
  websocket::stream<Stream> ws_;
  Identified who_;
  std::string address_;
  std::deque<Message> queue_;
  std::size_t queued_bytes_ = 0;  // payload bytes in queue_
  asio::steady_timer wake_;       // the writer sleeps on it; enqueue() cancels it
  asio::steady_timer write_deadline_;
  asio::steady_timer expiry_;  // the token's expiry: the session closes with 1008
  std::uint64_t write_gen_ = 0;
  TokenBucket rate_;
  bool closing_ = false;   // a close frame is due: nothing more is queued
  bool dead_ = false;      // the reader ended or the socket was closed
  bool stopping_ = false;  // Server::stop(): no new requests, close once in-flight ones answer
  websocket::close_code close_code_ = websocket::close_code::normal;
  std::size_t in_flight_ = 0;
  bool registered_ = false;  // in core_->sinks
  bool all_ = false;
  bool peer_ = false;  // opened by another instance (a peer credential, §8)
  std::unordered_set<std::string> accounts_;
};

template <class Stream>
asio::awaitable<void> WsSession<Stream>::run(Request req) {
  // Another instance following our updates: a verified peer, or without authentication the
  // instance's hop header, as before authentication existed.
  peer_ = who_.caller.peer || (who_.peer_headers && req.find(cluster::kHopsHeader) != req.end());
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
  // Pings keep a quiet but live client connected; one that answers nothing for idle_timeout is
  // dropped.
  timeouts.idle_timeout = core_->cfg.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "xbanku"); }));
  ws_.read_message_max(core_->cfg.max_ws_frame);
  auto [aec] = co_await ws_.async_accept(req, kToken);
  if (aec) co_return;
  ws_.text(true);

  core_->sinks.insert(this);
  core_->metrics.ws_connections(+1);
  registered_ = true;
  core_->tasks.spawn(writer_task(this->shared_from_this()), "WebSocket writer");
  if (who_.caller.expires_at > 0) {
    core_->tasks.spawn(expiry_task(this->shared_from_this()), "WebSocket token expiry");
  }

  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, n] = co_await ws_.async_read(buffer, kToken);
    if (ec) break;
    if (!ws_.got_text()) {
      send_error(nullptr, "bad_request", "frames must be text (one JSON object each)");
    } else {
      on_frame(std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()));
    }
    buffer.consume(buffer.size());
  }

  cleanup();
}

template <class Stream>
void WsSession<Stream>::cleanup() {
  if (registered_) {
    registered_ = false;
    core_->sinks.erase(this);
    core_->metrics.ws_connections(-1);
    subscriptions_changed(-subscription_count());
    all_ = false;
    accounts_.clear();
  }
  // Ends the writer even if it is stuck in a write to a peer that does not read.
  force_close();
}

// Closes the session with 1008 when its token expires, unless a renewal moved the expiry.
template <class Stream>
asio::awaitable<void> WsSession<Stream>::expiry_task(Self self) {
  while (!self->dead_ && !self->closing_) {
    const std::int64_t left_ms = self->who_.caller.expires_at * 1000 - now_ms();
    if (left_ms <= 0) {
      spdlog::info("api: WebSocket token of {} expired: closing with 1008",
                   self->who_.caller.principal);
      self->initiate_close(websocket::close_code::policy_error, /*drop_queue=*/false);
      break;
    }
    self->expiry_.expires_after(std::chrono::milliseconds(left_ms));
    co_await self->expiry_.async_wait(kToken);  // a renewal cancels it to look again
  }
}

template <class Stream>
asio::awaitable<void> WsSession<Stream>::writer() {
  for (;;) {
    if (dead_) break;
    if (!queue_.empty()) {
      Message msg = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= msg->size();
      arm_write_deadline();
      auto [ec, n] = co_await ws_.async_write(asio::buffer(*msg), kToken);
      disarm_write_deadline();
      if (ec) break;
      continue;
    }
    if (closing_) {
      arm_write_deadline();
      co_await ws_.async_close(close_code_, kToken);  // best effort: the peer may be gone
      disarm_write_deadline();
      break;
    }
    wake_.expires_at(asio::steady_timer::time_point::max());
    co_await wake_.async_wait(kToken);
  }
}

template <class Stream>
void WsSession<Stream>::send_reply(const json::value& id, const Reply& r) {
  json::object o;
  o["id"] = id;
  if (!r.position.empty()) o["position"] = r.position;
  if (r.status < 400) {
    o["ok"] = true;
    o["result"] = r.body;
  } else {
    o["ok"] = false;
    if (r.status == 504) {
      // Read-your-writes wait passed: the command is durable, its fate is in GET /commands/{id}.
      json::object e;
      e["code"] = "pending";
      e["message"] = "the command was written but is not projected yet; ask with op \"command\"";
      if (const auto* b = r.body.if_object()) {
        for (const auto& kv : *b) {
          if (kv.key() != "status") e[kv.key()] = kv.value();
        }
      }
      o["error"] = std::move(e);
    } else if (const auto* b = r.body.if_object(); b != nullptr && b->contains("error")) {
      o["error"] = b->at("error");
    } else {
      o["error"] = wire::error_body("internal", "internal error").at("error");
    }
  }
  enqueue(std::make_shared<const std::string>(json::serialize(o)));
}

template <class Stream>
std::optional<Reply> WsSession<Stream>::rate_limited() {
  if (peer_ || who_.caller.peer) return std::nullopt;
  // Rates are for principals (see HttpSession::rate_limited).
  if (!who_.caller.authenticated || who_.caller.principal.empty()) return std::nullopt;
  auto wait = rate_.take(Clock::now());
  if (wait == Clock::duration::zero()) wait = core_->principal_rate(who_.caller.principal);
  if (wait == Clock::duration::zero()) return std::nullopt;
  return error_reply(429, "rate_limited", "too many messages; slow down and retry");
}

template <class Stream>
void WsSession<Stream>::log_access(std::string_view op, unsigned status,
                                   Clock::time_point started) const {
  if (!core_->access) return;
  core_->access->info("WS {} {} principal={} {:.3f}ms from={}", op, status,
                      who_.caller.principal.empty() ? "local" : who_.caller.principal,
                      std::chrono::duration<double, std::milli>(Clock::now() - started).count(),
                      address_);
}

template <class Stream>
void WsSession<Stream>::on_frame(std::string_view text) {
  auto parsed = parse_client_json(text, "the message");
  if (!parsed) {
    send_error(nullptr, "bad_request", parsed.error());
    return;
  }
  json::value& v = *parsed;
  if (!v.is_object()) {
    send_error(nullptr, "bad_request", "each frame must be one JSON object");
    return;
  }
  json::object& obj = v.as_object();
  json::value id = nullptr;
  if (const auto* p = obj.if_contains("id")) {
    // Every reply repeats the id: a large one would multiply what a client can make us send.
    if (json::serialize(*p).size() > kMaxRequestIdBytes) {
      send_error(
          nullptr, "bad_request",
          "field \"id\" must be at most " + std::to_string(kMaxRequestIdBytes) + " bytes of JSON");
      return;
    }
    id = *p;
  }
  const json::value* opv = obj.if_contains("op");
  if (opv == nullptr || !opv->is_string()) {
    send_error(id, "bad_request", "field \"op\" is required (a string)");
    return;
  }
  const std::string_view op = opv->get_string();
  if (!known_op(op)) {
    send_error(id, "unknown_op", "unknown op \"" + quote_client_text(op) + "\"");
    return;
  }
  if (auto limited = rate_limited()) {
    send_reply(id, *limited);
    return;
  }
  // A peer session exists to follow updates (cluster::PeerFeed subscribes and nothing else).
  // Its credential is not a principal's: a replayed one must not be able to move money.
  if (peer_ && op != "subscribe" && op != "unsubscribe") {
    send_reply(id, error_reply(403, "forbidden", "a peer session only follows updates"));
    return;
  }
  if (op == "auth") {
    send_reply(id, renew(obj));
    return;
  }
  if (stopping_) {
    send_reply(id, error_reply(503, "shutting_down", "the service is shutting down; retry"));
    return;
  }
  if (in_flight_ >= core_->cfg.ws_max_in_flight) {
    send_reply(id, error_reply(429, "too_many_in_flight",
                               "too many requests in flight on this connection; wait for replies"));
    return;
  }
  ++in_flight_;
  std::string op_copy(op);
  core_->tasks.spawn(
      request_task(this->shared_from_this(), std::move(id), std::move(op_copy), std::move(obj)),
      "WebSocket request");
}

template <class Stream>
asio::awaitable<void> WsSession<Stream>::request_task(Self self, json::value id, std::string op,
                                                      json::object msg) {
  const auto started = Clock::now();
  Reply r;
  try {
    r = co_await self->perform(op, msg);
  } catch (const std::exception& e) {
    spdlog::error("api: WebSocket op {} failed: {}", op, e.what());
    r = error_reply(500, "internal", "internal error");
  }
  --self->in_flight_;
  self->log_access(op, r.status, started);
  self->send_reply(id, r);
  if (self->stopping_ && self->in_flight_ == 0) {
    self->initiate_close(websocket::close_code::going_away, /*drop_queue=*/false);
  }
}

// {"op":"auth","token":"…"}: a fresh token for the same principal moves the session's expiry.
template <class Stream>
Reply WsSession<Stream>::renew(const json::object& msg) {
  const Authenticator* auth = core_->security.auth;
  if (auth == nullptr || !who_.caller.authenticated || who_.caller.peer) {
    return error_reply(400, "bad_request", "this session has no token to renew");
  }
  const json::value* token = msg.if_contains("token");
  if (token == nullptr || !token->is_string()) {
    return error_reply(400, "bad_request", "field \"token\" is required (a string)");
  }
  auto caller = auth->bearer(std::string_view(token->get_string()), now_ms() / 1000);
  if (!caller) return error_reply(401, "unauthorized", caller.error().message);
  if (caller->principal != who_.caller.principal) {
    return error_reply(403, "forbidden", "a renewed token must be for the same principal");
  }
  who_.caller = std::move(*caller);
  expiry_.cancel();  // the expiry task looks again
  json::object result;
  result["expires_at"] = who_.caller.expires_at;
  return Reply{200, std::move(result)};
}

template <class Stream>
asio::awaitable<Reply> WsSession<Stream>::perform(const std::string& op, const json::object& msg) {
  Services& s = core_->services;
  const Caller& caller = who_.caller;
  auto string_field = [&msg](std::string_view name, std::string& out) -> std::optional<Reply> {
    const json::value* v = msg.if_contains(name);
    if (v == nullptr || !v->is_string()) {
      return error_reply(400, "bad_request",
                         "field \"" + std::string(name) + "\" is required (a string)");
    }
    out = std::string(v->get_string());
    return std::nullopt;
  };
  if (op == "subscribe" || op == "unsubscribe")
    co_return co_await subscription(op == "subscribe", msg);
  std::string value;
  const app::Origin local;  // named, not a temporary in co_await (GCC 12, see http_handler.cpp)
  if (op == "get") {
    if (auto err = string_field("account", value)) co_return std::move(*err);
    app::Origin at;
    if (const json::value* p = msg.if_contains("min_position"); p != nullptr && !p->is_null()) {
      // Not a string: refused with the same message as a malformed token.
      const std::string_view token =
          p->is_string() && !p->get_string().empty() ? std::string_view(p->get_string()) : "-";
      if (auto err = min_position_param(token, at.min_position)) co_return std::move(*err);
    }
    co_return co_await get_account(s, caller, std::move(value), at);
  }
  if (op == "command") {
    if (auto err = string_field("command_id", value)) co_return std::move(*err);
    co_return co_await get_command(s, caller, std::move(value), std::chrono::milliseconds(0), "",
                                   local);
  }

  CommandOptions options;
  options.create_id_field = "account";
  std::optional<std::string_view> key;
  if (const json::value* k = msg.if_contains("idempotency_key"); k != nullptr && !k->is_null()) {
    // Not a string: an empty key, which set_command_id refuses with the same message.
    key = k->is_string() ? std::string_view(k->get_string()) : std::string_view{};
  }
  if (auto err = set_command_id(options, key, "field \"idempotency_key\"")) {
    co_return std::move(*err);
  }
  options.request_id = core_->request_id();
  if (const json::value* w = msg.if_contains("wait"); w != nullptr && !w->is_null()) {
    if (!w->is_bool())
      co_return error_reply(400, "bad_request", "field \"wait\" must be true or false");
    options.wait = w->get_bool();
  }
  CommandKind kind = CommandKind::create;
  if (op == "deposit" || op == "withdraw") {
    kind = op == "deposit" ? CommandKind::deposit : CommandKind::withdraw;
    if (auto err = string_field("account", value)) co_return std::move(*err);
  } else if (op == "transfer") {
    kind = CommandKind::transfer;
  }
  co_return co_await run_command(s, caller, kind, std::move(value), msg, std::move(options));
}

// Subscribing needs the same right as reading each account: its owner (or an administrator);
// "*" (every account) is for administrators and other instances.
template <class Stream>
asio::awaitable<Reply> WsSession<Stream>::subscription(bool subscribe, const json::object& msg) {
  const Caller& caller = who_.caller;
  if (!caller.can_read()) co_return insufficient_scope(kScopeRead);
  const json::value* a = msg.if_contains("accounts");
  const long before = subscription_count();
  if (a != nullptr && a->is_string() && a->get_string() == "*") {
    if (subscribe && !caller.admin()) co_return insufficient_scope(kScopeAdmin);
    if (subscribe) {
      all_ = true;
    } else {
      all_ = false;
      accounts_.clear();
    }
  } else if (a != nullptr && a->is_array()) {
    std::vector<std::string> ids;
    ids.reserve(a->get_array().size());
    for (std::size_t i = 0; i < a->get_array().size(); ++i) {
      const json::value& e = a->get_array()[i];
      auto canonical =
          e.is_string() ? domain::canonical_uuid(std::string_view(e.get_string())) : std::nullopt;
      if (!canonical) {
        co_return error_reply(400, "invalid_id",
                              "field \"accounts[" + std::to_string(i) + "]\" must be a UUID");
      }
      ids.push_back(std::move(*canonical));
    }
    if (subscribe) {
      if (accounts_.size() + ids.size() > core_->cfg.ws_max_subscriptions) {
        co_return error_reply(400, "too_many_subscriptions",
                              "at most " + std::to_string(core_->cfg.ws_max_subscriptions) +
                                  " accounts per connection");
      }
      if (!caller.admin()) {
        for (const auto& i : ids) {
          if (auto refused = co_await check_owner(core_->services, caller, i))
            co_return std::move(*refused);
        }
      }
      for (auto& i : ids) accounts_.insert(std::move(i));
    } else {
      for (const auto& i : ids) accounts_.erase(i);
    }
  } else {
    co_return error_reply(400, "bad_request",
                          "field \"accounts\" is required: an array of account ids or \"*\"");
  }
  subscriptions_changed(subscription_count() - before);
  json::object result;
  result["all"] = all_;
  result["accounts"] = accounts_.size();
  co_return Reply{200, std::move(result)};
}

}  // namespace

template <class Stream>
asio::awaitable<void> run_websocket(std::shared_ptr<ServerCore> core, Stream stream, Request req,
                                    Identified who, std::string address,
                                    ConnectionRegistration& reg) {
  auto session = std::make_shared<WsSession<Stream>>(core, std::move(stream), std::move(who),
                                                     std::move(address));
  reg.reset(session.get());
  // From a session thread the upgrade took a few turns to get here: a stop() in between found
  // the HTTP connection busy and did not stop it. Dropped, as an upgrade during a stop always is.
  if (core->stopping) {
    session->cleanup();
    reg.reset(nullptr);
    co_return;
  }
  try {
    co_await session->run(std::move(req));
  } catch (const std::exception& e) {
    spdlog::error("api: WebSocket session failed: {}", e.what());
    session->cleanup();
  }
  reg.reset(nullptr);
}

template asio::awaitable<void> run_websocket<PlainStream>(std::shared_ptr<ServerCore>, PlainStream,
                                                          Request, Identified, std::string,
                                                          ConnectionRegistration&);
template asio::awaitable<void> run_websocket<TlsStream>(std::shared_ptr<ServerCore>, TlsStream,
                                                        Request, Identified, std::string,
                                                        ConnectionRegistration&);

}  // namespace xbanku::api::detail
