// The fairness bookkeeping on its own (api/limits.hpp): admissions per address and in all with
// reserved probe slots, and the token bucket's rate, burst and refill.
#include "xbanku/api/limits.hpp"

#include <gtest/gtest.h>

namespace xbanku::api {
namespace {

using Admission = ConnectionLimits::Admission;
using namespace std::chrono_literals;

TEST(ConnectionLimits, OneAddressCannotTakeEveryonesSlots) {
  ConnectionLimits limits(/*total=*/10, /*per_address=*/3, /*reserved=*/2);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limits.admit("10.0.0.1"), Admission::session);
  // Past its own cap the flooding address gets the reserved probe slots, then nothing.
  EXPECT_EQ(limits.admit("10.0.0.1"), Admission::reserved);
  EXPECT_EQ(limits.admit("10.0.0.1"), Admission::reserved);
  EXPECT_EQ(limits.admit("10.0.0.1"), Admission::refused);
  // Everyone else is still served.
  EXPECT_EQ(limits.admit("10.0.0.2"), Admission::session);
  EXPECT_EQ(limits.sessions(), 4u);
  EXPECT_EQ(limits.reserved_in_use(), 2u);
  // Releasing a reserved slot gives it back; releasing a session frees the address's share.
  limits.release("10.0.0.1", Admission::reserved);
  EXPECT_EQ(limits.reserved_in_use(), 1u);
  limits.release("10.0.0.1", Admission::session);
  EXPECT_EQ(limits.admit("10.0.0.1"), Admission::session);
}

TEST(ConnectionLimits, TheTotalCapHoldsAcrossAddresses) {
  ConnectionLimits limits(2, 2, 1);
  EXPECT_EQ(limits.admit("a"), Admission::session);
  EXPECT_EQ(limits.admit("b"), Admission::session);
  EXPECT_EQ(limits.admit("c"), Admission::reserved);
  EXPECT_EQ(limits.admit("d"), Admission::refused);
  limits.release("a", Admission::session);
  EXPECT_EQ(limits.admit("d"), Admission::session);
  EXPECT_EQ(limits.sessions(), 2u);
}

TEST(TokenBucket, BurstThenRate) {
  const TokenBucket::Clock::time_point t0{std::chrono::seconds(1000)};
  TokenBucket bucket(/*rate=*/10, /*burst=*/5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(bucket.take(t0), TokenBucket::Clock::duration::zero());
  const auto wait = bucket.take(t0);
  EXPECT_GT(wait, 0ms);
  EXPECT_LE(wait, 100ms);  // one token every 1/10 s
  EXPECT_FALSE(bucket.idle(t0));
  // 100 ms later one more token is there, and only one.
  EXPECT_EQ(bucket.take(t0 + 100ms), TokenBucket::Clock::duration::zero());
  EXPECT_GT(bucket.take(t0 + 100ms), 0ms);
  // Half a second later the bucket is full again: nothing to remember about the client.
  EXPECT_TRUE(bucket.idle(t0 + 700ms));
}

TEST(TokenBucket, ZeroRateMeansNoLimit) {
  TokenBucket bucket(0, 0);
  const auto now = TokenBucket::Clock::now();
  for (int i = 0; i < 10'000; ++i)
    ASSERT_EQ(bucket.take(now), TokenBucket::Clock::duration::zero());
  EXPECT_TRUE(bucket.idle(now));
}

}  // namespace
}  // namespace xbanku::api
