// GET /cluster's view from its parts: the members table with each member's current partitions
// and liveness, this instance's progress, and another member's progress folded in.
#include "xbanku/app/inspector.hpp"

#include <gtest/gtest.h>

namespace xbanku::app {
namespace {

using cluster::Owner;

TEST(ClusterInfo, MembersOwnWhatTheirLatestClaimsSay) {
  const std::vector<Owner> members = {
      {"a", "http://a:1"}, {"b", "http://b:2"}, {"c", "http://c:3"}};
  // c was killed: a's newer claim took its partition 2; nobody claims 3.
  const std::vector<std::optional<Owner>> owners = {
      Owner{"a", "http://a:1"}, Owner{"b", "http://b:2"}, Owner{"a", "http://a:1"}, std::nullopt};
  std::map<std::int32_t, PartitionInfo> progress;
  progress[0] = {0, "a", true, 40, 42, 2};
  progress[2] = {2, "a", false, 5, 90, 85};
  const ClusterInfo c = make_cluster_info("a", 4, members, owners, progress);
  EXPECT_EQ(c.instance, "a");
  EXPECT_EQ(c.partitions_total, 4);
  ASSERT_EQ(c.members.size(), 3u);
  EXPECT_EQ(c.members[0].partitions, (std::vector<std::int32_t>{0, 2}));
  EXPECT_TRUE(c.members[0].self);
  EXPECT_TRUE(c.members[0].alive);
  EXPECT_EQ(c.members[1].partitions, (std::vector<std::int32_t>{1}));
  EXPECT_TRUE(c.members[1].alive);
  EXPECT_TRUE(c.members[2].partitions.empty());
  EXPECT_FALSE(c.members[2].alive);
  ASSERT_EQ(c.partitions.size(), 4u);
  EXPECT_EQ(c.partitions[2].lag, 85);
  EXPECT_EQ(c.partitions[2].serving, false);
  EXPECT_EQ(c.partitions[1].owner, "b");
  EXPECT_FALSE(c.partitions[1].serving);  // b's: unknown here
  EXPECT_FALSE(c.partitions[3].owner);
}

TEST(ClusterInfo, ThisInstanceIsAMemberBeforeItsAnnouncementIsReadBack) {
  const ClusterInfo c = make_cluster_info("new", 2, {}, {std::nullopt, std::nullopt}, {});
  ASSERT_EQ(c.members.size(), 1u);
  EXPECT_EQ(c.members[0].instance, "new");
  EXPECT_TRUE(c.members[0].alive);
}

TEST(ClusterInfo, PeerProgressFillsOnlyItsOwnPartitions) {
  ClusterInfo c = make_cluster_info("a", 3, {{"a", "u"}, {"b", "v"}},
                                    {Owner{"a", "u"}, Owner{"b", "v"}, Owner{"b", "v"}},
                                    {{0, {0, "a", true, 1, 1, 0}}});
  const std::string body = R"({"instance":"b","partitions":[
      {"partition":0,"owner":"b","serving":true,"applied":99,"end":99,"lag":0},
      {"partition":1,"owner":"b","serving":true,"applied":7,"end":9,"lag":2},
      {"partition":2,"owner":"b","serving":false,"applied":null,"end":null,"lag":null}]})";
  ASSERT_TRUE(merge_peer_progress(c, "b", body));
  EXPECT_EQ(c.partitions[0].applied, 1);  // ours: b's claim on it is not what we see
  EXPECT_EQ(c.partitions[1].serving, true);
  EXPECT_EQ(c.partitions[1].applied, 7);
  EXPECT_EQ(c.partitions[1].lag, 2);
  EXPECT_EQ(c.partitions[2].serving, false);
  EXPECT_FALSE(c.partitions[2].lag);
  EXPECT_FALSE(merge_peer_progress(c, "b", "not json"));
  EXPECT_FALSE(merge_peer_progress(c, "b", R"({"partitions":3})"));
}

TEST(ClusterInfo, StandbysAreThisInstanceForItsShadowsAndEachMemberForItsOwn) {
  ClusterInfo c = make_cluster_info("a", 3, {{"a", "u"}, {"b", "v"}},
                                    {Owner{"a", "u"}, Owner{"b", "v"}, Owner{"b", "v"}},
                                    {{0, {0, "a", true, 1, 1, 0}}}, {1, 2});
  EXPECT_TRUE(c.partitions[0].standbys.empty());
  EXPECT_EQ(c.partitions[1].standbys, std::vector<std::string>{"a"});
  // b says it shadows 0, and names c as a standby of 2: only what it says of itself counts.
  const std::string body = R"({"instance":"b","partitions":[
      {"partition":0,"owner":"a","serving":null,"standbys":["b"]},
      {"partition":2,"owner":"b","serving":true,"applied":1,"end":1,"lag":0,"standbys":["c"]}]})";
  ASSERT_TRUE(merge_peer_progress(c, "b", body));
  EXPECT_EQ(c.partitions[0].standbys, std::vector<std::string>{"b"});
  EXPECT_EQ(c.partitions[2].standbys, std::vector<std::string>{"a"});
  ASSERT_TRUE(merge_peer_progress(c, "b", body));  // told twice: still once
  EXPECT_EQ(c.partitions[0].standbys, std::vector<std::string>{"b"});
}

}  // namespace
}  // namespace xbanku::app
