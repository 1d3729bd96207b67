#pragma once
// The web console's files (web/, built with Vite), embedded in the binary at build time by
// cmake/console.cmake and cmake/embed_console.py. Built with -DXBANKU_CONSOLE=OFF, there are
// none: console_built_in() is false and find_asset() always answers nullptr.
#include <span>
#include <string_view>

namespace xbanku::console {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/index-abc123.js"
  std::string_view content_type;  // by extension, e.g. "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view etag;  // strong, quoted: "\"<hash of the bytes>\""
  bool immutable;         // under /assets/ (hashed names): cache for a year; else no-cache
};

// nullptr when there is no such file (or no console).
[[nodiscard]] const Asset* find_asset(std::string_view path) noexcept;
[[nodiscard]] bool console_built_in() noexcept;
// Every embedded file, sorted by path (empty without a console).
[[nodiscard]] std::span<const Asset> all_assets() noexcept;

// What every console response carries. The bundle is built to work under exactly this policy:
// no inline script or style, no eval, no request outside the service (embed_console.py checks
// index.html; tests/browser checks the pages in Chromium).
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

inline constexpr std::string_view kCacheImmutable = "public, max-age=31536000, immutable";
inline constexpr std::string_view kCacheRevalidate = "no-cache";

}  // namespace xbanku::console
