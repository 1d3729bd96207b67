#pragma once
// Routing of DESIGN §3 as a pure function of (method, target): no allocation, no I/O, so it
// can be unit-tested and benchmarked on its own. Path ids are returned raw (not validated):
// the handler turns a non-UUID id into 400 invalid_id.

#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <ostream>  // Boost 1.81: boost/core/detail/string_view.hpp needs it, verb.hpp omits it
#include <string_view>

namespace xbanku::api {

enum class Route : std::uint8_t {
  not_found,
  accounts,          // /accounts                      GET list, POST create
  account,           // /accounts/{id}                 GET
  account_events,    // /accounts/{id}/events          GET
  account_deposit,   // /accounts/{id}/deposit         POST
  account_withdraw,  // /accounts/{id}/withdraw        POST
  transfers,         // /transfers                     POST
  transfer,          // /transfers/{transfer_id}?to=   GET (a transfer at its target, §8)
  command,           // /commands/{command_id}         GET
  healthz,           // /healthz                       GET
  readyz,            // /readyz                        GET
  metrics,           // /metrics                       GET
  openapi,           // /openapi.json                  GET
  cluster,           // /cluster                       GET (members, partitions, progress)
  dlq,               // /dlq                           GET (dead letters, paged)
  ws,                // /ws                            GET + Upgrade
  // The web console (console.hpp): open to everyone, like a login page; the pages ask for a
  // token themselves. It routes with the URL's fragment (#/accounts/…), so only these exist.
  console_index,  // / and /index.html             GET
  console_asset,  // /assets/{file}                GET (hashed names)
};

struct RouteMatch {
  Route route = Route::not_found;
  bool method_allowed = false;
  std::string_view allow;  // value of the Allow header for this path ("" for not_found)
  std::string_view id;     // the {id} / {command_id} path segment, still percent-encoded
  std::string_view query;  // after '?', without it ("" if none)
};

// Matches `target` (origin-form, e.g. "/accounts/x/deposit?wait=false"). Thread-safe.
[[nodiscard]] RouteMatch route(boost::beast::http::verb method, std::string_view target) noexcept;

// The route's path template for metrics labels, e.g. "/accounts/{id}/deposit".
[[nodiscard]] std::string_view route_name(Route) noexcept;

// Percent-decodes a path segment or query value ('+' is a space only when `plus_is_space`).
// False on a malformed escape.
[[nodiscard]] bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

// The decoded value of query parameter `name` (first occurrence); false if absent.
// `malformed` is set when the parameter is present but its escapes are invalid.
[[nodiscard]] bool query_param(std::string_view query, std::string_view name, std::string& value,
                               bool& malformed);

}  // namespace xbanku::api
