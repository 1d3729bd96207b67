#include "xbanku/api/router.hpp"

namespace xbanku::api {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kGet = "GET";
constexpr std::string_view kPost = "POST";
constexpr std::string_view kGetPost = "GET, POST";

RouteMatch make(Route r, bool allowed, std::string_view allow, std::string_view id,
                std::string_view query) noexcept {
  return RouteMatch{r, allowed, allow, id, query};
}

// Splits off the next '/'-separated segment of `path` (which starts after a '/').
std::string_view next_segment(std::string_view& path) noexcept {
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) {
    const auto seg = path;
    path = {};
    return seg;
  }
  const auto seg = path.substr(0, slash);
  path.remove_prefix(slash + 1);
  return seg;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

RouteMatch route(http::verb method, std::string_view target) noexcept {
  std::string_view query;
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  if (target.empty() || target.front() != '/') return {};
  std::string_view rest = target.substr(1);
  const bool has_more = rest.find('/') != std::string_view::npos;
  const std::string_view first = next_segment(rest);
  const bool get = method == http::verb::get;
  const bool post = method == http::verb::post;

  if (!has_more) {
    if (first == "accounts") return make(Route::accounts, get || post, kGetPost, {}, query);
    if (first == "transfers") return make(Route::transfers, post, kPost, {}, query);
    if (first == "healthz") return make(Route::healthz, get, kGet, {}, query);
    if (first == "readyz") return make(Route::readyz, get, kGet, {}, query);
    if (first == "metrics") return make(Route::metrics, get, kGet, {}, query);
    if (first == "openapi.json") return make(Route::openapi, get, kGet, {}, query);
    if (first == "cluster") return make(Route::cluster, get, kGet, {}, query);
    if (first == "dlq") return make(Route::dlq, get, kGet, {}, query);
    if (first == "ws") return make(Route::ws, get, kGet, {}, query);
    if (first.empty() || first == "index.html") {
      return make(Route::console_index, get, kGet, {}, query);
    }
    return {};
  }
  const bool two_only = rest.find('/') == std::string_view::npos;
  const std::string_view id = next_segment(rest);
  if (id.empty()) return {};
  if (first == "commands") {
    if (!two_only) return {};
    return make(Route::command, get, kGet, id, query);
  }
  if (first == "assets") {
    if (!two_only) return {};
    return make(Route::console_asset, get, kGet, id, query);
  }
  if (first == "transfers") {
    if (!two_only) return {};
    return make(Route::transfer, get, kGet, id, query);
  }
  if (first != "accounts") return {};
  if (two_only) return make(Route::account, get, kGet, id, query);
  if (rest == "events") return make(Route::account_events, get, kGet, id, query);
  if (rest == "deposit") return make(Route::account_deposit, post, kPost, id, query);
  if (rest == "withdraw") return make(Route::account_withdraw, post, kPost, id, query);
  return {};
}

std::string_view route_name(Route r) noexcept {
  switch (r) {
    case Route::not_found: return "unmatched";
    case Route::accounts: return "/accounts";
    case Route::account: return "/accounts/{id}";
    case Route::account_events: return "/accounts/{id}/events";
    case Route::account_deposit: return "/accounts/{id}/deposit";
    case Route::account_withdraw: return "/accounts/{id}/withdraw";
    case Route::transfers: return "/transfers";
    case Route::transfer: return "/transfers/{transfer_id}";
    case Route::command: return "/commands/{command_id}";
    case Route::healthz: return "/healthz";
    case Route::readyz: return "/readyz";
    case Route::metrics: return "/metrics";
    case Route::openapi: return "/openapi.json";
    case Route::cluster: return "/cluster";
    case Route::dlq: return "/dlq";
    case Route::ws: return "/ws";
    case Route::console_index: return "/";
    case Route::console_asset: return "/assets/{file}";
  }
  return "unmatched";
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool query_param(std::string_view query, std::string_view name, std::string& value,
                 bool& malformed) {
  malformed = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    const std::string_view raw =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!percent_decode(raw, value, true)) malformed = true;
    return true;
  }
  return false;
}

}  // namespace xbanku::api
