#include "xbanku/domain/position.hpp"

#include <algorithm>
#include <charconv>

namespace xbanku::domain {

std::string to_token(const Position& p) {
  return std::to_string(p.partition) + ':' + std::to_string(p.offset);
}

std::string to_token(std::span<const Position> ps) {
  std::string out;
  for (const auto& p : ps) {
    if (!out.empty()) out += ',';
    out += to_token(p);
  }
  return out;
}

namespace {
template <typename Int>
bool parse_number(std::string_view s, Int& out) {
  if (s.empty() || s.size() > 19) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out >= 0;
}
}  // namespace

std::optional<std::vector<Position>> parse_positions(std::string_view token) {
  std::vector<Position> out;
  while (true) {
    const auto comma = token.find(',');
    const auto item = token.substr(0, comma);
    const auto colon = item.find(':');
    Position p;
    if (colon == std::string_view::npos || !parse_number(item.substr(0, colon), p.partition) ||
        !parse_number(item.substr(colon + 1), p.offset) || out.size() == kMaxPositions) {
      return std::nullopt;
    }
    out.push_back(p);
    if (comma == std::string_view::npos) return out;
    token.remove_prefix(comma + 1);
  }
}

std::optional<std::int64_t> offset_in(std::span<const Position> ps, std::int32_t partition) {
  std::optional<std::int64_t> out;
  for (const auto& p : ps) {
    if (p.partition == partition) out = std::max(out.value_or(p.offset), p.offset);
  }
  return out;
}

}  // namespace xbanku::domain
