#include "xbanku/api/json_input.hpp"

#include "xbanku/domain/events.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace xbanku::api {
namespace {

namespace json = boost::json;
using boost::system::error_code;

constexpr int kMaxDepth = 32;  // client messages are flat; deep nesting is an attack

// A basic_parser handler that only looks at object keys. Each open object collects its keys;
// they are sorted and compared when it closes, so a hostile object with thousands of keys
// costs n log n, not n².
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::optional<std::string> duplicate;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_object_begin(error_code&) {
    levels_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    auto& keys = levels_.back();
    std::sort(keys.begin(), keys.end());
    const auto it = std::adjacent_find(keys.begin(), keys.end());
    if (it != keys.end() && !duplicate) duplicate = *it;
    levels_.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    levels_.back().push_back(std::move(key_));
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, error_code&) { return true; }
  bool on_double(double, json::string_view, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  std::vector<std::vector<std::string>> levels_;
  std::string key_;
};

}  // namespace

std::string quote_client_text(std::string_view s, std::size_t max_bytes) {
  std::string out(domain::utf8_prefix(s, max_bytes));
  if (out.size() < s.size()) out += "\u2026";
  return out;
}

boost::system::result<json::value, std::string> parse_client_json(std::string_view text,
                                                                  std::string_view what) {
  json::parse_options options;
  options.max_depth = kMaxDepth;
  error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  using Result = boost::system::result<json::value, std::string>;
  // (in_place_error: a json::value can be made from a string too)
  if (ec)
    return Result(boost::system::in_place_error,
                  fmt::format("{} is not valid JSON: {}", what, ec.message()));
  // Valid JSON: a second pass finds keys given twice (see the header for why it matters).
  json::basic_parser<DuplicateKeyFinder> finder(options);
  finder.write_some(false, text.data(), text.size(), ec);
  if (!ec && finder.handler().duplicate) {
    return Result(boost::system::in_place_error,
                  fmt::format("field \"{}\" appears more than once in {}",
                              quote_client_text(*finder.handler().duplicate), what));
  }
  return v;
}

}  // namespace xbanku::api
