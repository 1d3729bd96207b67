// The routing decisions of DESIGN §8, stepped through without any I/O.
#include "xbanku/cluster/routing.hpp"

#include <gtest/gtest.h>

namespace xbanku::cluster {
namespace {

using Step = QueryRouting::Step;

const Owner kMe{"me", "http://127.0.0.1:1"};
const Owner kPeer{"peer", "http://127.0.0.1:2"};

TEST(QueryRouting, ServedHereIsAnsweredLocallyEvenWhenNotFound) {
  for (bool found : {true, false}) {
    QueryRouting r(/*serving_here=*/true, /*forwarded=*/false, kPeer, "me");
    ASSERT_EQ(r.next(), Step::read_local) << "never forwarded while served here";
    r.on_local(found);
    ASSERT_EQ(r.next(), Step::done);
    EXPECT_EQ(r.answer(), Answer::local) << "a fresh \"not found\" is an answer";
  }
}

TEST(QueryRouting, AnotherOwnersPartitionIsForwarded) {
  QueryRouting r(false, false, kPeer, "me");
  ASSERT_EQ(r.next(), Step::forward);
  EXPECT_EQ(r.target(), kPeer);
  r.on_peer(/*answered=*/true);
  ASSERT_EQ(r.next(), Step::done);
  EXPECT_EQ(r.answer(), Answer::remote);
}

TEST(QueryRouting, AnOwnerThatDoesNotAnswerFallsBackToTheLocalCopy) {
  QueryRouting found(false, false, kPeer, "me");
  found.on_peer(false);
  ASSERT_EQ(found.next(), Step::read_local);
  found.on_local(true);
  EXPECT_EQ(found.answer(), Answer::stale);

  QueryRouting missing(false, false, kPeer, "me");
  missing.on_peer(false);
  missing.on_local(false);
  EXPECT_EQ(missing.answer(), Answer::unavailable) << "never a wrong 404";
}

TEST(QueryRouting, AForwardedRequestIsNeverForwardedAgain) {
  QueryRouting r(false, /*forwarded=*/true, kPeer, "me");
  ASSERT_EQ(r.next(), Step::read_local);
  r.on_local(false);
  EXPECT_EQ(r.answer(), Answer::unavailable);
}

TEST(QueryRouting, NoOwnerOrThisInstanceCatchingUpFallsBack) {
  for (const std::optional<Owner>& owner : {std::optional<Owner>{}, std::optional<Owner>{kMe}}) {
    QueryRouting r(false, false, owner, "me");
    ASSERT_EQ(r.next(), Step::read_local);
    r.on_local(true);
    EXPECT_EQ(r.answer(), Answer::stale);
  }
}

TEST(QueryRouting, EventsOutOfTurnAreIgnored) {
  QueryRouting r(true, false, std::nullopt, "me");
  r.on_peer(true);  // not forwarding: ignored
  EXPECT_EQ(r.next(), Step::read_local);
  r.on_local(true);
  r.on_local(false);  // done: ignored
  EXPECT_EQ(r.answer(), Answer::local);
}

TEST(ListingPlan, SplitsPartitionsBetweenHereOwnersAndStaleCopies) {
  // 6 partitions: 0 and 1 served here; 2, 4 owned by peer; 3 by a third; 5 by nobody.
  const Owner third{"third", "http://127.0.0.1:3"};
  const std::vector<std::optional<Owner>> owners{kMe, kMe, kPeer, third, kPeer, std::nullopt};
  const auto plan = plan_listing(6, {0, 1}, owners, "me");
  EXPECT_EQ(plan.local, (std::set<std::int32_t>{0, 1, 5}));
  EXPECT_TRUE(plan.stale);
  ASSERT_EQ(plan.remote.size(), 2u);
  EXPECT_EQ(plan.remote[0].owner, kPeer);
  EXPECT_EQ(plan.remote[0].partitions, (std::vector<std::int32_t>{2, 4}));
  EXPECT_EQ(plan.remote[1].owner, third);
  EXPECT_EQ(plan.remote[1].partitions, (std::vector<std::int32_t>{3}));

  // Everything served here: nothing to ask, nothing stale.
  const auto alone = plan_listing(2, {0, 1}, {kMe, kMe}, "me");
  EXPECT_EQ(alone.local, (std::set<std::int32_t>{0, 1}));
  EXPECT_FALSE(alone.stale);
  EXPECT_TRUE(alone.remote.empty());

  // This instance owns a partition but has not caught up: its copy, stale.
  const auto catching_up = plan_listing(2, {0}, {kMe, kMe}, "me");
  EXPECT_EQ(catching_up.local, (std::set<std::int32_t>{0, 1}));
  EXPECT_TRUE(catching_up.stale);
}

TEST(ForwardedListing, AnswersOnlyForPartitionsServedHere) {
  EXPECT_EQ(forwarded_listing({}, {1, 2}), (std::set<std::int32_t>{1, 2}));
  EXPECT_EQ(forwarded_listing({2}, {1, 2}), (std::set<std::int32_t>{2}));
  EXPECT_EQ(forwarded_listing({2, 3}, {1, 2}), std::nullopt)
      << "a page missing partition 3 would look complete";
}

TEST(CommandLookup, NotFoundOnlyOnceEveryPartitionIsCovered) {
  const Owner third{"third", "http://127.0.0.1:3"};
  const std::vector<std::optional<Owner>> owners{kMe, kPeer, third, kPeer};
  CommandLookup lookup(4, {0});
  EXPECT_FALSE(lookup.complete());
  lookup.owner_said_not_found(kPeer, owners);
  EXPECT_FALSE(lookup.complete()) << "partition 2 is unaccounted for";
  lookup.owner_said_not_found(third, owners);
  EXPECT_TRUE(lookup.complete());

  CommandLookup orphan(2, {0});
  orphan.owner_said_not_found(kPeer, {kMe, std::nullopt});
  EXPECT_FALSE(orphan.complete()) << "a partition with no owner cannot be said to lack it";
}

}  // namespace
}  // namespace xbanku::cluster
