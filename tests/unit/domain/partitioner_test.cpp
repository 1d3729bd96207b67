#include "xbanku/domain/partitioner.hpp"

#include <gtest/gtest.h>

#include <string>

namespace xbanku::domain {
namespace {

// Vectors from Kafka's own UtilsTest.testMurmur2 (the full cross-check against Kafka's Java
// code is tests/integration/partitioner).
TEST(Murmur2, MatchesKafkaUtilsTest) {
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("21")), -973932308);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("foobar")), -790332482);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("a-little-bit-long-string")), -985981536);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("a-little-bit-longer-string")), -1486304829);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")),
            -58897971);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("abc")), 479470107);
}

// Checked against Kafka 4.1.1's Utils.murmur2 when written.
TEST(Murmur2, EmptyHighBytesAndUuid) {
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("")), 275646681);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2(std::string("\xff\x80", 2))), -442788720);
  EXPECT_EQ(static_cast<std::int32_t>(murmur2("0ef305f1-cb00-47db-a0cc-547f1127d00c")), -481227308);
  EXPECT_EQ(partition_for_key("0ef305f1-cb00-47db-a0cc-547f1127d00c", 64), 20);
  EXPECT_EQ(partition_for_key("foobar", 12), 6);
  EXPECT_EQ(partition_for_key("foobar", 64), 62);
}

TEST(Partition, InRangeAndDegenerateCounts) {
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    const auto p = partition_for_key(key, 6);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 6);
    ASSERT_EQ(partition_for_key(key, 1), 0);
  }
  EXPECT_EQ(partition_for_key("x", 0), 0);
  EXPECT_EQ(partition_for_key("x", -3), 0);
}

}  // namespace
}  // namespace xbanku::domain
