#pragma once
// Strict parsing of client JSON (HTTP bodies, WebSocket frames): what Boost.JSON accepts, minus
// duplicate keys. Boost 1.81's parser keeps the last of two equal keys, so {"amount":1,
// "amount":1000000} would mean whatever the last one says while a log or a proxy that reads the
// first sees another request; one meaning per message is the only safe reading.
// Pure, thread-safe.

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace xbanku::api {

// The parsed value, or a one-line message for a 400: "the body is not valid JSON: …" or
// "field \"amount\" appears more than once" (`what` names the input: "the body", "the message").
[[nodiscard]] boost::system::result<boost::json::value, std::string> parse_client_json(
    std::string_view text, std::string_view what);

// `s` cut to at most `max_bytes` on a code-point boundary, with "…" when it was cut, for
// quoting client text in an error message (JSON escaping then makes it safe to send).
[[nodiscard]] std::string quote_client_text(std::string_view s, std::size_t max_bytes = 64);

}  // namespace xbanku::api
