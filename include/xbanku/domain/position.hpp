#pragma once
// A record's place in the log (DESIGN §3, §8): every command's answer carries the position of
// its record, and a query may pass positions (`min_position`) to be answered only by a replica
// whose view has applied past them — a client that writes through one instance and reads
// through another never reads older than its own writes.
//
// The token is "<partition>:<offset>"; several are joined with commas ("0:17,3:902"), so a
// client may keep one per partition it wrote to. A query uses the one of its own partition.
// Pure.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::domain {

struct Position {
  std::int32_t partition = 0;
  std::int64_t offset = 0;  // of the record itself: a view has applied it once next > offset
  friend bool operator==(const Position&, const Position&) = default;
};

inline constexpr std::size_t kMaxPositions = 64;  // in one min_position

[[nodiscard]] std::string to_token(const Position& p);
[[nodiscard]] std::string to_token(std::span<const Position> ps);
// nullopt unless `token` is 1..kMaxPositions comma-separated "<partition>:<offset>" (decimal,
// both >= 0).
[[nodiscard]] std::optional<std::vector<Position>> parse_positions(std::string_view token);
// The highest offset `ps` names in `partition`, if any.
[[nodiscard]] std::optional<std::int64_t> offset_in(std::span<const Position> ps,
                                                    std::int32_t partition);

}  // namespace xbanku::domain
