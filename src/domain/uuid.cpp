#include "xbanku/domain/uuid.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/string_generator.hpp>
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

std::string keyed_uuid(std::string_view principal, std::string_view key) {
  // xbanku's own RFC 4122 name space (a fixed random UUID), so these ids cannot coincide with
  // version-5 ids another application derives from the same names.
  static const boost::uuids::uuid kNamespace =
      boost::uuids::string_generator()("5d0c7a52-2f4e-4c3a-9d7e-0b8a1e6f3c21");
  std::string name;
  name.reserve(principal.size() + 1 + key.size());
  name.append(principal);
  name.push_back('\n');  // neither a principal nor a key contains a line break
  name.append(key);
  return boost::uuids::to_string(boost::uuids::name_generator_sha1(kNamespace)(name));
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
