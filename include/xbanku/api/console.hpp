#pragma once
// The web console's files (console/assets.hpp) as HTTP responses: GET / and /index.html answer
// the page, /assets/{file} its scripts, styles and icon. Every answer carries the strict
// Content-Security-Policy, X-Content-Type-Options: nosniff, a strong ETag (If-None-Match → 304)
// and Cache-Control: immutable for the hashed /assets/ names, no-cache for the page, so a new
// build is picked up at the next load. Pure: no I/O. Thread-safe.

#include "xbanku/api/http_handler.hpp"

#include <string_view>

namespace xbanku::api {

// `path` is the request target's path ("/", "/index.html", "/assets/index-abc.js"). 404 JSON
// when there is no such file, or no console (-DXBANKU_CONSOLE=OFF, which the message says).
[[nodiscard]] Response console_response(const Request& req, std::string_view path,
                                        std::string_view request_id);

// True when the If-None-Match value `header` names `etag` (or is "*"): a list of strong or weak
// tags, compared weakly as RFC 9110 §13.1.2 says for If-None-Match.
[[nodiscard]] bool etag_matches(std::string_view header, std::string_view etag) noexcept;

}  // namespace xbanku::api
