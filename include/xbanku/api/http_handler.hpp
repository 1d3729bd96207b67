#pragma once
// One HTTP request in, one response out (DESIGN §3): routing, validation and the call into the
// ports, with no socket in sight, so it is unit-testable and benchmarkable. The session
// (server.cpp) owns reading, limits, keep-alive and the WebSocket upgrade.
// Thread-safety: call only from the io_context thread that owns `Services`.

#include "xbanku/api/caller.hpp"
#include "xbanku/api/operations.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace xbanku::api {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// What the session established about a request before it is handled.
struct RequestContext {
  std::string request_id;           // → X-Request-Id
  Caller caller = Caller::local();  // who asks (authorization is decided per operation)
  // X-Xbanku-Hops and the peer-only query parameters (owner=, principal=) come from another
  // instance of this cluster: honoured; otherwise ignored.
  bool peer_headers = true;
  // The longest GET /commands/{id}?wait_ms= this caller may ask for.
  std::chrono::milliseconds max_wait{60000};
};

// Never throws: a bug becomes 500 "internal" (logged with the request id), never a crash.
// Counts xbanku_http_requests_total{route,code}.
[[nodiscard]] boost::asio::awaitable<Response> handle(const Request& req, Services& s,
                                                      RequestContext ctx);
// As above, for a local administrator (no authentication), e.g. in tests and benchmarks.
[[nodiscard]] boost::asio::awaitable<Response> handle(const Request& req, Services& s,
                                                      std::string request_id);

// A complete JSON error response (Content-Type, X-Request-Id, payload prepared).
[[nodiscard]] Response error_response(unsigned status, std::string_view code,
                                      std::string_view message, unsigned version,
                                      std::string_view request_id);

// True for "application/json", in any case, with optional parameters ("; charset=utf-8").
[[nodiscard]] bool is_json_content_type(std::string_view value) noexcept;

// The OpenAPI 3.0.3 document served at /openapi.json (openapi.cpp).
[[nodiscard]] std::string_view openapi_json() noexcept;

}  // namespace xbanku::api
