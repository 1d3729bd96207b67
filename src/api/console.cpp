#include "xbanku/api/console.hpp"

#include "xbanku/console/assets.hpp"

#include <boost/beast/http/field.hpp>

namespace xbanku::api {

namespace http = boost::beast::http;

namespace {

std::string_view trim(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

void security_headers(Response& res) {
  res.set("Content-Security-Policy", console::kContentSecurityPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("X-Frame-Options", "DENY");
}

}  // namespace

bool etag_matches(std::string_view header, std::string_view etag) noexcept {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (item == "*") return true;
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (!item.empty() && item == etag) return true;
  }
  return false;
}

Response console_response(const Request& req, std::string_view path, std::string_view request_id) {
  if (path == "/") path = "/index.html";
  const console::Asset* asset = console::find_asset(path);
  if (asset == nullptr) {
    Response res =
        console::console_built_in()
            ? error_response(404, "not_found", "no such resource", req.version(), request_id)
            : error_response(404, "not_found",
                             "this xbanku was built without the web console "
                             "(-DXBANKU_CONSOLE=OFF); the API is described at "
                             "/openapi.json",
                             req.version(), request_id);
    security_headers(res);
    return res;
  }
  const bool fresh = etag_matches(req[http::field::if_none_match], asset->etag);
  Response res{fresh ? http::status::not_modified : http::status::ok, req.version()};
  res.set("X-Request-Id", request_id);
  res.set(http::field::etag, asset->etag);
  res.set(http::field::cache_control,
          asset->immutable ? console::kCacheImmutable : console::kCacheRevalidate);
  security_headers(res);
  if (!fresh) {
    res.set(http::field::content_type, asset->content_type);
    res.body() = std::string(asset->body);
    res.prepare_payload();
  }
  return res;
}

}  // namespace xbanku::api
