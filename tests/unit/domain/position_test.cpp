// Position tokens (DESIGN §3): what a command answer carries and min_position accepts.
#include "xbanku/domain/position.hpp"

#include <gtest/gtest.h>

namespace xbanku::domain {
namespace {

TEST(Position, ATokenRoundTrips) {
  const std::vector<Position> ps{{0, 17}, {3, 902}, {5, 0}};
  EXPECT_EQ(to_token(ps), "0:17,3:902,5:0");
  EXPECT_EQ(parse_positions(to_token(ps)), ps);
  EXPECT_EQ(parse_positions("4:9223372036854775807"),
            (std::vector<Position>{{4, 9223372036854775807}}));
}

TEST(Position, AQueryUsesTheHighestOffsetOfItsOwnPartition) {
  const std::vector<Position> ps{{1, 5}, {2, 9}, {1, 40}, {1, 7}};
  EXPECT_EQ(offset_in(ps, 1), 40);
  EXPECT_EQ(offset_in(ps, 2), 9);
  EXPECT_EQ(offset_in(ps, 3), std::nullopt);
}

TEST(Position, AnythingElseIsRefused) {
  for (const char* bad :
       {"", ":", "1:", ":5", "1:5,", ",1:5", "1;5", "-1:5", "1:-5", "1:5:6", "a:1", "1:0x10",
        "1 :5", "1:99999999999999999999", "2147483648:1", "1:5,,2:6"}) {
    EXPECT_EQ(parse_positions(bad), std::nullopt) << bad;
  }
  std::string many;
  for (std::size_t i = 0; i <= kMaxPositions; ++i)
    many += (i ? "," : "") + std::to_string(i) + ":1";
  EXPECT_EQ(parse_positions(many), std::nullopt);
}

}  // namespace
}  // namespace xbanku::domain
