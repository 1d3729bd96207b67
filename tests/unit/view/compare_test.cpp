#include "view_test_support.hpp"
#include "xbanku/domain/partitioner.hpp"
#include "xbanku/view/store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace xbanku::view {
namespace {

using domain::EventType;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace testing;

// Two stores fed the same script, then nudged apart by each test.
class ViewCompare : public ::testing::Test {
 protected:
  void SetUp() override {
    live = open_store(live_dir.path());
    replayed = open_store(replayed_dir.path());
    ASSERT_TRUE(live && replayed);
  }

  // Accounts 1..3 with a few records each, on partition 0; outcomes by id and by pos.
  static std::vector<domain::Decision> script() {
    std::vector<domain::Decision> out;
    std::int64_t offset = 0;
    for (unsigned n = 1; n <= 3; ++n) {
      auto c =
          create(id(n), "name" + std::to_string(n), {0, offset++}, "create-" + std::to_string(n));
      auto d = change(c.changes[0], 100 * n, EventType::deposit, {0, offset++});
      out.push_back(c);
      out.push_back(d);
    }
    out.push_back(rejected(id(9), domain::Reason::account_not_found, {0, offset++}, "wd-9"));
    return out;
  }

  static void feed(Store& s, const std::vector<domain::Decision>& decisions) {
    Batch b = s.begin();
    for (const auto& d : decisions) b.apply(d);
    b.set_next_offset(0, static_cast<std::int64_t>(decisions.size()));
    ASSERT_FALSE(s.commit(b));
  }

  TempDir live_dir, replayed_dir;
  std::unique_ptr<Store> live, replayed;
};

TEST_F(ViewCompare, IdenticalStoresHaveNoDifferences) {
  feed(*live, script());
  feed(*replayed, script());
  EXPECT_THAT(compare(*live, *replayed), IsEmpty());
  EXPECT_THAT(compare(*live, *live), IsEmpty());
}

TEST_F(ViewCompare, IgnoresDeliveryState) {
  auto with_outbox = script();
  domain::Event credit;
  credit.type = EventType::transfer_credit;
  credit.acc_id = id(2);
  with_outbox[0].follow_ups.push_back(credit);
  feed(*live, with_outbox);
  feed(*replayed, script());
  // Different outbox, offsets and mirror debts: not the view.
  Batch b = live->begin();
  b.set_next_offset(0, 999);
  ASSERT_FALSE(live->commit(b));
  const std::pair<std::string, std::uint64_t> mirrored[] = {{id(1), 99}};
  ASSERT_FALSE(live->mark_mirrored(mirrored));
  EXPECT_THAT(compare(*live, *replayed), IsEmpty());
}

TEST_F(ViewCompare, ReportsABalanceDifference) {
  feed(*live, script());
  auto other = script();
  other[3].changes[0].balance += 1;  // account 2's deposit
  other[3].outcome.account->balance += 1;
  other[3].history[0].second.balance_after += 1;
  feed(*replayed, other);
  const auto diffs = compare(*live, *replayed);
  EXPECT_THAT(diffs, SizeIs(3));  // the account, its history entry, the record's outcome
  EXPECT_THAT(diffs, Contains(AllOf(HasSubstr("account " + id(2)), HasSubstr("balance=200"),
                                    HasSubstr("balance=201"))));
  EXPECT_THAT(diffs, Contains(HasSubstr("history of account " + id(2) + " #2")));
  EXPECT_THAT(diffs, Contains(HasSubstr("outcome of record 0:3")));
}

TEST_F(ViewCompare, ReportsAMissingAccount) {
  feed(*live, script());
  auto other = script();
  other.erase(other.begin() + 4, other.begin() + 6);  // no account 3 at all
  feed(*replayed, other);
  const auto diffs = compare(*live, *replayed);
  EXPECT_THAT(diffs, Contains(AllOf(HasSubstr("account " + id(3)),
                                    HasSubstr("missing in replayed store"))));
  EXPECT_THAT(diffs, Contains(HasSubstr("history of account " + id(3) + " #1")));
  EXPECT_THAT(diffs, Contains(HasSubstr("outcome of command create-3")));
  // And the other way round.
  EXPECT_THAT(compare(*replayed, *live),
              Contains(AllOf(HasSubstr("account " + id(3)), HasSubstr("missing in live store"))));
}

TEST_F(ViewCompare, ReportsAHistoryDifference) {
  feed(*live, script());
  auto other = script();
  other[1].history[0].second.ts += 1;  // same balances, different history line
  feed(*replayed, other);
  const auto diffs = compare(*live, *replayed);
  ASSERT_THAT(diffs, SizeIs(1));
  EXPECT_THAT(diffs[0], AllOf(HasSubstr("history of account " + id(1) + " #2"), HasSubstr("live {"),
                              HasSubstr("!= replayed {")));
}

TEST_F(ViewCompare, ReportsAnOutcomeDifference) {
  feed(*live, script());
  auto other = script();
  other.back().outcome.reason = domain::Reason::insufficient_funds;
  feed(*replayed, other);
  const auto diffs = compare(*live, *replayed);
  ASSERT_THAT(diffs, SizeIs(1));
  EXPECT_THAT(diffs[0],
              AllOf(HasSubstr("outcome of command wd-9"), HasSubstr("reason=account_not_found"),
                    HasSubstr("reason=insufficient_funds")));
}

TEST_F(ViewCompare, ScopeFiltersAccountsAndPartitions) {
  feed(*live, script());
  auto other = script();
  other[3].changes[0].balance += 1;  // account 2 differs...
  feed(*replayed, other);
  CompareScope not_two;
  not_two.account = [](std::string_view a) { return a != id(2); };
  not_two.partition = [](std::int32_t p) { return p != 0; };  // ...but is out of scope
  EXPECT_THAT(compare(*live, *replayed, not_two), IsEmpty());
  CompareScope only_accounts;
  only_accounts.partition = [](std::int32_t) { return false; };
  EXPECT_THAT(compare(*live, *replayed, only_accounts), SizeIs(1));

  // The usual scope from owned partitions and the real placement.
  const domain::Placement placement{6};
  const std::int32_t p2 = placement.partition_of(id(2));
  auto owns_p2 = CompareScope::partitions({p2}, placement);
  EXPECT_TRUE(owns_p2.account(id(2)));
  EXPECT_TRUE(owns_p2.partition(p2));
  EXPECT_FALSE(owns_p2.partition(p2 + 1));
  EXPECT_THAT(compare(*live, *replayed, CompareScope::partitions({}, placement)), IsEmpty());
}

TEST_F(ViewCompare, StopsAfterMaxDifferences) {
  feed(*live, script());
  const auto all = compare(*live, *replayed);
  EXPECT_THAT(all, SizeIs(3 + 6 + 4 + 3));  // accounts, history, outcomes by id, by pos
  const auto some = compare(*live, *replayed, {}, 2);
  ASSERT_THAT(some, SizeIs(3));
  EXPECT_THAT(some.back(), HasSubstr("stopped after 2 differences"));
  EXPECT_THAT(compare(*live, *replayed, {}, all.size()), SizeIs(all.size()));
}

}  // namespace
}  // namespace xbanku::view
