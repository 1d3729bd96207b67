// parse_strict_json (keys.hpp). api/json_input.cpp finds duplicate keys the same way; auth/
// keeps its own copy so that it depends on nothing above domain/.
#include "keys.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace xbanku::auth::detail {
namespace {

namespace json = boost::json;
using boost::system::error_code;

constexpr std::size_t kMaxDepth = 16;

// A basic_parser handler that only looks at object keys. Each open object collects its keys,
// sorted and compared when it closes: n log n for a hostile object with many keys, not n².
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool duplicate = false;

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
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) duplicate = true;
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

boost::system::result<json::value, JsonFault> parse_strict_json(std::string_view text) {
  json::parse_options options;
  options.max_depth = kMaxDepth;
  error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return {boost::system::in_place_error, JsonFault::invalid};
  // Valid JSON: a second pass over at most a few KiB finds keys given twice.
  json::basic_parser<DuplicateKeyFinder> finder(options);
  finder.write_some(false, text.data(), text.size(), ec);
  if (ec || finder.handler().duplicate) {
    return {boost::system::in_place_error, JsonFault::duplicate_key};
  }
  return v;
}

}  // namespace xbanku::auth::detail
