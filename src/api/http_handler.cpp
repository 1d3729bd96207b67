#include "xbanku/api/http_handler.hpp"

#include "xbanku/api/console.hpp"
#include "xbanku/api/json_input.hpp"
#include "xbanku/api/router.hpp"
#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/domain/uuid.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <exception>

namespace xbanku::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kJson = "application/json";

Response make_response(const Reply& r, unsigned version, std::string_view request_id) {
  Response res{static_cast<http::status>(r.status), version};
  res.set(http::field::content_type, kJson);
  res.set("X-Request-Id", request_id);
  if (!r.command_id.empty()) res.set("X-Command-Id", r.command_id);
  if (!r.served_by.empty()) res.set("X-Served-By", r.served_by);
  if (r.stale) res.set("X-Stale", "true");
  if (!r.served_role.empty()) res.set("X-Served-Role", r.served_role);
  if (r.replica_lag) res.set("X-Replica-Lag", std::to_string(*r.replica_lag));
  if (!r.position.empty()) res.set("X-Position", r.position);
  if (r.retry_after) res.set(http::field::retry_after, "1");
  if (!r.www_authenticate.empty()) res.set(http::field::www_authenticate, r.www_authenticate);
  res.body() = json::serialize(r.body);
  res.prepare_payload();
  return res;
}

// Reads optional `limit` and `after`; returns an error reply on a bad value.
std::optional<Reply> paging(std::string_view query, std::size_t& limit, std::string& after) {
  std::string value;
  bool malformed = false;
  limit = kDefaultLimit;
  if (query_param(query, "limit", value, malformed)) {
    auto l = malformed ? std::nullopt : parse_limit(value);
    if (!l)
      return error_reply(400, "bad_request",
                         "parameter \"limit\" must be an integer from 1 to 1000");
    limit = *l;
  }
  after.clear();
  if (query_param(query, "after", after, malformed) && malformed) {
    return error_reply(400, "bad_request", "parameter \"after\" is not correctly percent-encoded");
  }
  return std::nullopt;
}

std::optional<Reply> wait_param(std::string_view query, bool& wait) {
  std::string value;
  bool malformed = false;
  wait = true;
  if (!query_param(query, "wait", value, malformed)) return std::nullopt;
  if (value == "true" || value == "1") return std::nullopt;
  if (value == "false" || value == "0") {
    wait = false;
    return std::nullopt;
  }
  return error_reply(400, "bad_request", "parameter \"wait\" must be true or false");
}

// min_position: the query parameter, else the X-Min-Position header (DESIGN §8).
std::optional<Reply> position_param(const Request& req, std::string_view query,
                                    app::Origin& origin) {
  std::string value;
  bool malformed = false;
  if (query_param(query, "min_position", value, malformed)) {
    if (malformed || value.empty()) {
      return error_reply(400, "bad_request",
                         "parameter \"min_position\" is empty or not "
                         "correctly percent-encoded");
    }
  } else if (const auto it = req.find("X-Min-Position"); it != req.end()) {
    value = std::string(it->value());
    if (value.empty()) return error_reply(400, "bad_request", "header X-Min-Position is empty");
  }
  return min_position_param(value, origin.min_position);
}

// X-Xbanku-Hops: set by an instance forwarding the request (DESIGN §8).
std::optional<Reply> origin_header(const Request& req, app::Origin& origin) {
  origin = {};
  const auto it = req.find(cluster::kHopsHeader);
  if (it == req.end()) return std::nullopt;
  const std::string_view v = it->value();
  int hops = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), hops);
  if (ec != std::errc() || p != v.data() + v.size() || hops < 0 || hops > 16) {
    return error_reply(400, "bad_request", "header X-Xbanku-Hops must be an integer from 0 to 16");
  }
  origin.hops = hops;
  return std::nullopt;
}

std::optional<Reply> wait_ms_param(std::string_view query, std::chrono::milliseconds max,
                                   std::chrono::milliseconds& wait) {
  std::string value;
  bool malformed = false;
  wait = std::chrono::milliseconds(0);
  if (!query_param(query, "wait_ms", value, malformed)) return std::nullopt;
  long long ms = -1;
  const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
  if (malformed || ec != std::errc() || p != value.data() + value.size() || ms < 0 ||
      ms > max.count()) {
    return error_reply(
        400, "bad_request",
        fmt::format("parameter \"wait_ms\" must be an integer from 0 to {}", max.count()));
  }
  wait = std::chrono::milliseconds(ms);
  return std::nullopt;
}

// `partitions=0,3,5` (a forwarded listing, DESIGN §8).
std::optional<Reply> partitions_param(std::string_view query, std::vector<std::int32_t>& out) {
  std::string value;
  bool malformed = false;
  out.clear();
  if (!query_param(query, "partitions", value, malformed)) return std::nullopt;
  std::string_view rest = value;
  while (!malformed && !rest.empty()) {
    const auto comma = rest.find(',');
    const auto item = rest.substr(0, comma);
    std::int32_t p = -1;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), p);
    malformed =
        ec != std::errc() || end != item.data() + item.size() || p < 0 || out.size() >= 10000;
    out.push_back(p);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  if (malformed || out.empty()) {
    return error_reply(400, "bad_request",
                       "parameter \"partitions\" must be a comma-separated list of partitions");
  }
  return std::nullopt;
}

// A query parameter only another instance may set (owner=, principal=, partition=); "" for
// anyone else.
std::string peer_param(const RequestContext& ctx, std::string_view query, std::string_view name) {
  std::string value;
  bool malformed = false;
  if (!ctx.peer_headers || !query_param(query, name, value, malformed) || malformed) return {};
  return value;
}

// `partition=3`: the partition whose outcome of a key another instance waits for (the one it
// wrote its record to). `value` is "" when absent or not from an instance.
std::optional<Reply> partition_param(std::string_view value,
                                     std::optional<std::int32_t>& partition) {
  partition.reset();
  if (value.empty()) return std::nullopt;
  std::int32_t p = -1;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), p);
  if (ec != std::errc() || end != value.data() + value.size() || p < 0) {
    return error_reply(400, "bad_request", "parameter \"partition\" must be a partition number");
  }
  partition = p;
  return std::nullopt;
}

boost::asio::awaitable<Reply> dispatch(const Request& req, const RouteMatch& m, Services& s,
                                       const RequestContext& ctx) {
  std::string id;
  if (!m.id.empty() && !percent_decode(m.id, id, false)) {
    co_return error_reply(400, "invalid_id", "the id in the path is not correctly percent-encoded");
  }
  const Caller& caller = ctx.caller;
  app::Origin origin;
  // X-Xbanku-Hops from anyone but another instance is ignored: a client is never a peer.
  if (ctx.peer_headers) {
    if (auto err = origin_header(req, origin)) co_return std::move(*err);
  }
  if (m.route == Route::account || m.route == Route::account_events || m.route == Route::transfer) {
    if (auto err = position_param(req, m.query, origin)) co_return std::move(*err);
  }
  switch (m.route) {
    case Route::healthz: {
      json::object o;
      o["status"] = "ok";
      co_return Reply{200, std::move(o), {}, {}, false, false};
    }
    case Route::account: co_return co_await get_account(s, caller, std::move(id), origin);
    case Route::account_events: {
      std::size_t limit = 0;
      std::string after;
      if (auto err = paging(m.query, limit, after)) co_return std::move(*err);
      co_return co_await account_history(s, caller, std::move(id), std::move(after), limit, origin);
    }
    case Route::command: {
      std::chrono::milliseconds wait{0};
      if (auto err = wait_ms_param(m.query, ctx.max_wait, wait)) co_return std::move(*err);
      std::optional<std::int32_t> partition;
      if (auto err = partition_param(peer_param(ctx, m.query, "partition"), partition)) {
        co_return std::move(*err);
      }
      co_return co_await get_command(s, caller, std::move(id), wait,
                                     peer_param(ctx, m.query, "principal"), origin, partition);
    }
    case Route::transfer: {
      std::string to;
      bool malformed = false;
      if (!query_param(m.query, "to", to, malformed) || malformed) {
        co_return error_reply(400, "bad_request",
                              "parameter \"to\" (the target account id) is required");
      }
      co_return co_await get_transfer(s, caller, std::move(id), std::move(to), origin);
    }
    case Route::accounts:
      if (req.method() == http::verb::get) {
        std::size_t limit = 0;
        std::string after;
        if (auto err = paging(m.query, limit, after)) co_return std::move(*err);
        if (auto err = partitions_param(m.query, origin.partitions)) co_return std::move(*err);
        std::string prefix;
        bool malformed = false;
        if (query_param(m.query, "prefix", prefix, malformed) && malformed) {
          co_return error_reply(400, "bad_request",
                                "parameter \"prefix\" is not correctly percent-encoded");
        }
        co_return co_await list_accounts(s, caller, std::move(after), limit,
                                         peer_param(ctx, m.query, "owner"), std::move(origin),
                                         std::move(prefix));
      }
      break;  // POST: a command, below
    case Route::cluster: co_return co_await cluster_view(s, caller, origin);
    case Route::dlq: {
      std::size_t limit = 0;
      std::string after;
      if (auto err = paging(m.query, limit, after)) co_return std::move(*err);
      co_return co_await dead_letters(s, caller, std::move(after), limit);
    }
    case Route::account_deposit:
    case Route::account_withdraw:
    case Route::transfers: break;
    case Route::ws:
      co_return error_reply(426, "upgrade_required", "/ws expects a WebSocket upgrade");
    default: co_return error_reply(404, "not_found", "no such resource");
  }

  // Commands: POST with a JSON object body.
  if (!is_json_content_type(req[http::field::content_type])) {
    co_return error_reply(415, "unsupported_media_type",
                          "the body must be sent as Content-Type: application/json");
  }
  if ((m.route == Route::account_deposit || m.route == Route::account_withdraw) &&
      !domain::is_uuid(id)) {
    co_return error_reply(400, "invalid_id", "the account id must be a UUID");
  }
  CommandOptions options;
  options.request_id = ctx.request_id;
  if (auto err = wait_param(m.query, options.wait)) co_return std::move(*err);
  std::optional<std::string_view> key;
  if (const auto it = req.find("Idempotency-Key"); it != req.end()) key = it->value();
  if (auto err = set_command_id(options, key, "header Idempotency-Key")) co_return std::move(*err);
  auto body = parse_client_json(req.body(), "the body");
  if (!body) co_return error_reply(400, "bad_request", body.error());
  const json::object* obj = body->if_object();
  if (obj == nullptr) co_return error_reply(400, "bad_request", "the body must be a JSON object");

  CommandKind kind = CommandKind::create;
  if (m.route == Route::account_deposit) kind = CommandKind::deposit;
  if (m.route == Route::account_withdraw) kind = CommandKind::withdraw;
  if (m.route == Route::transfers) kind = CommandKind::transfer;
  co_return co_await run_command(s, caller, kind, std::move(id), *obj, std::move(options));
}

}  // namespace

bool is_json_content_type(std::string_view v) noexcept {
  const auto semi = v.find(';');
  v = v.substr(0, semi);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  if (v.size() != kJson.size()) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kJson[i]) return false;
  }
  return true;
}

Response error_response(unsigned status, std::string_view code, std::string_view message,
                        unsigned version, std::string_view request_id) {
  return make_response(error_reply(status, code, message), version, request_id);
}

boost::asio::awaitable<Response> handle(const Request& req, Services& s, std::string request_id) {
  // A named context: GCC 12 destroys an aggregate temporary inside co_await twice.
  RequestContext ctx;
  ctx.request_id = std::move(request_id);
  co_return co_await handle(req, s, std::move(ctx));
}

boost::asio::awaitable<Response> handle(const Request& req, Services& s, RequestContext ctx) {
  const RouteMatch m = route(req.method(), req.target());
  const std::string& request_id = ctx.request_id;
  Response res;
  bool failed = false;
  try {
    if (m.route == Route::not_found) {
      res = error_response(404, "not_found", "no such resource", req.version(), request_id);
    } else if (!m.method_allowed) {
      res = error_response(405, "method_not_allowed", "this method is not allowed here",
                           req.version(), request_id);
      res.set(http::field::allow, m.allow);
    } else if (m.route == Route::console_index || m.route == Route::console_asset) {
      const std::string_view target = req.target();
      res = console_response(req, target.substr(0, target.find('?')), request_id);
    } else if (m.route == Route::metrics && !ctx.caller.admin()) {
      res = make_response(insufficient_scope(kScopeAdmin), req.version(), request_id);
    } else if (m.route == Route::metrics) {
      res = Response{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.set("X-Request-Id", request_id);
      res.body() = s.metrics.registry().render();
      res.prepare_payload();
    } else if (m.route == Route::openapi) {
      res = Response{http::status::ok, req.version()};
      res.set(http::field::content_type, kJson);
      res.set("X-Request-Id", request_id);
      res.body() = std::string(openapi_json());
      res.prepare_payload();
    } else if (m.route == Route::readyz) {
      const bool ready = s.health.ready();
      res = Response{ready ? http::status::ok : http::status::service_unavailable, req.version()};
      res.set(http::field::content_type, kJson);
      res.set("X-Request-Id", request_id);
      if (!ready) res.set(http::field::retry_after, "1");
      res.body() = s.health.describe();
      res.prepare_payload();
    } else {
      Reply r = co_await dispatch(req, m, s, ctx);
      res = make_response(r, req.version(), request_id);
    }
  } catch (const boost::system::system_error& e) {
    // Cancelled because the client went away (http_session.cpp): nobody reads the answer.
    if (e.code() != boost::asio::error::operation_aborted) {
      spdlog::error("api: request {} {} {} failed: {}", request_id,
                    std::string_view(req.method_string()), route_name(m.route), e.what());
    }
    failed = true;
  } catch (const std::exception& e) {
    spdlog::error("api: request {} {} {} failed: {}", request_id,
                  std::string_view(req.method_string()), route_name(m.route), e.what());
    failed = true;
  } catch (...) {
    spdlog::error("api: request {} {} {} failed with an unknown exception", request_id,
                  std::string_view(req.method_string()), route_name(m.route));
    failed = true;
  }
  if (failed) res = error_response(500, "internal", "internal error", req.version(), request_id);
  res.keep_alive(req.keep_alive());
  s.metrics.request(m.route, res.result_int());
  co_return res;
}

}  // namespace xbanku::api
