// The member table (DESIGN §8): who owns which partition, from `<topic>.members`.
#include "xbanku/cluster/members.hpp"

#include <gtest/gtest.h>

namespace xbanku::cluster {
namespace {

Announcement ann(std::string who, std::vector<std::int32_t> parts) {
  return Announcement{who, "http://127.0.0.1:80" + who.substr(who.size() - 1), std::move(parts),
                      1700000000000};
}

TEST(Announcement, RoundTrip) {
  const auto a = ann("node-1", {0, 3, 5});
  const auto text = encode(a);
  EXPECT_EQ(decode_announcement("node-1", text), a);
}

TEST(Announcement, RejectsWhatIsNotOne) {
  EXPECT_FALSE(decode_announcement("k", "not json"));
  EXPECT_FALSE(decode_announcement("k", "[]"));
  EXPECT_FALSE(
      decode_announcement("k", R"({"instance":"other","url":"http://h:1","partitions":[]})"))
      << "the key names the instance";
  EXPECT_FALSE(decode_announcement("k", R"({"instance":"k","partitions":[]})"));
  EXPECT_FALSE(
      decode_announcement("k", R"({"instance":"k","url":"http://h:1","partitions":[-1]})"));
  EXPECT_FALSE(
      decode_announcement("k", R"({"instance":"k","url":"http://h:1","partitions":["0"]})"));
  const auto sorted =
      decode_announcement("k", R"({"instance":"k","url":"http://h:1","partitions":[4,1]})");
  ASSERT_TRUE(sorted);
  EXPECT_EQ(sorted->partitions, (std::vector<std::int32_t>{1, 4}));
}

TEST(Announcement, TombstoneOwnsNothing) {
  const auto a = decode_announcement("node-9", "");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->instance, "node-9");
  EXPECT_TRUE(a->partitions.empty());
}

TEST(MemberTable, TheLatestClaimWins) {
  MemberTable t;
  t.apply(ann("node-1", {0, 1}), 10);
  t.apply(ann("node-2", {2, 3}), 11);
  EXPECT_EQ(t.owner(0)->instance, "node-1");
  EXPECT_EQ(t.owner(3)->instance, "node-2");
  EXPECT_EQ(t.owner(3)->url, "http://127.0.0.1:802");
  EXPECT_FALSE(t.owner(4));

  // node-2 is killed (it cannot retract); the group gives its partitions to node-1.
  t.apply(ann("node-1", {0, 1, 2, 3}), 12);
  EXPECT_EQ(t.owner(2)->instance, "node-1");
  EXPECT_EQ(t.owner(3)->instance, "node-1");
  // node-2 restarts with the same id and takes 2 and 3 back.
  t.apply(ann("node-2", {2, 3}), 13);
  EXPECT_EQ(t.owner(2)->instance, "node-2");
  // ...and node-1 announces its smaller share.
  t.apply(ann("node-1", {0, 1}), 14);
  EXPECT_EQ(t.owner(3)->instance, "node-2");
  EXPECT_EQ(t.owner(0)->instance, "node-1");
}

TEST(MemberTable, ARetractedClaimLeavesNoOwner) {
  MemberTable t;
  t.apply(ann("node-1", {0, 1}), 1);
  t.apply(ann("node-1", {}), 2);  // clean stop
  EXPECT_FALSE(t.owner(0));
  EXPECT_TRUE(t.owners(6).empty());
}

TEST(MemberTable, DistinctOwnersInPartitionOrder) {
  MemberTable t;
  t.apply(ann("node-2", {1, 3}), 1);
  t.apply(ann("node-1", {0, 2}), 2);
  const auto owners = t.owners(4);
  ASSERT_EQ(owners.size(), 2u);
  EXPECT_EQ(owners[0].instance, "node-1");
  EXPECT_EQ(owners[1].instance, "node-2");
}

}  // namespace
}  // namespace xbanku::cluster
