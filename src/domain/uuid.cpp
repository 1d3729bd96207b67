#include <xbanku/domain/uuid.hpp>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace xbanku::domain {

namespace {
constexpr bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_dash_pos(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}
}  // namespace

std::string new_uuid() {
  // One generator per thread: it is not thread-safe, and seeding one per call is slow.
  thread_local boost::uuids::random_generator gen;
  return boost::uuids::to_string(gen());  // lower case
}

bool is_uuid(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_dash_pos(i) ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

std::optional<std::string> canonical_uuid(std::string_view s) {
  if (!is_uuid(s)) return std::nullopt;
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace xbanku::domain
