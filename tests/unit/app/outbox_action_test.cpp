// Which outbox entries an instance sends, holds or trims with standby replicas
// (app/outbox_sender.hpp, outbox_action), against a real view store: the follow-ups come from
// the rules folding real events, and "arrived" is the destination's own transfer state.
#include "app_test_support.hpp"
#include "xbanku/app/outbox_sender.hpp"

#include <gtest/gtest.h>

namespace xbanku::app {
namespace {

using domain::Event;
using domain::EventType;
using view::testing::id;

class OutboxActions : public ::testing::Test {
 protected:
  void SetUp() override {
    store = view::testing::open_store(dir.path());
    ASSERT_NE(store, nullptr);
  }
  // Folds `e` at `pos` through the rules into one commit; returns its follow-ups.
  std::vector<Event> fold(Event e, domain::RecordPos pos) {
    auto batch = store->begin();
    const auto d = domain::decide(batch, e, pos, placement);
    batch.apply(d);
    EXPECT_FALSE(store->commit(batch));
    return d.follow_ups;
  }
  Event event(EventType type, const std::string& account, std::int64_t amount = 0,
              const std::string& target = {}) {
    Event e;
    e.type = type;
    e.acc_id = account;
    e.acc_name = "A";
    e.amount = amount;
    e.target_id = target;
    return e;
  }
  std::string account_in(std::int32_t p, unsigned start = 1) const {
    for (unsigned n = start;; ++n) {
      if (placement.partition_of(id(n)) == p) return id(n);
    }
  }
  OutboxAction action(const Event& e) const { return outbox_action(e, own, *store, placement); }

  view::testing::TempDir dir;
  std::unique_ptr<view::Store> store;
  const domain::Placement placement{6};
  Ownership own;
};

TEST_F(OutboxActions, AShadowHoldsACreditUntilItArrivesThenTrimsIt) {
  const auto source = account_in(0), target = account_in(1);
  fold(event(EventType::create, source), {0, 0});
  fold(event(EventType::create, target), {1, 0});
  fold(event(EventType::deposit, source, 100), {0, 1});
  const auto follow_ups = fold(event(EventType::transfer, source, 10, target), {0, 2});
  ASSERT_EQ(follow_ups.size(), 1u);
  const Event& credit = follow_ups[0];
  ASSERT_EQ(credit.type, EventType::transfer_credit);

  own = {};  // no standbys (or before the first assignment): as before, whoever holds it sends
  EXPECT_EQ(action(credit), OutboxAction::send);
  own.assigned = {0};  // the origin is ours
  EXPECT_EQ(action(credit), OutboxAction::send);
  own.assigned = {2, 3, 4, 5};
  own.shadowed = {0, 1};  // the origin is another owner's: not arrived yet
  EXPECT_EQ(action(credit), OutboxAction::hold);
  own.shadowed = {0};  // the destination is not folded here: never known to have arrived
  EXPECT_EQ(action(credit), OutboxAction::hold);

  fold(credit, {1, 1});  // the owner sent it and it was folded in the destination
  own.shadowed = {0, 1};
  EXPECT_EQ(action(credit), OutboxAction::trim);
  own.shadowed = {0};
  EXPECT_EQ(action(credit), OutboxAction::hold);
  own.assigned = {0};  // promoted: sent again (the destination deduplicates the copy)
  own.shadowed = {1};
  EXPECT_EQ(action(credit), OutboxAction::send);
}

TEST_F(OutboxActions, ARefundIsTrimmedOnlyOnceTheSourceSideIsRefunded) {
  const auto source = account_in(0);
  const auto missing = account_in(1, 500);  // never created: the credit fails there
  fold(event(EventType::create, source), {0, 0});
  fold(event(EventType::deposit, source, 100), {0, 1});
  const auto credits = fold(event(EventType::transfer, source, 10, missing), {0, 2});
  ASSERT_EQ(credits.size(), 1u);
  const auto refunds = fold(credits[0], {1, 0});
  ASSERT_EQ(refunds.size(), 1u);
  const Event& refund = refunds[0];
  ASSERT_EQ(refund.type, EventType::transfer_refund);

  own.assigned = {2};
  own.shadowed = {0, 1};  // a refund leaves the target's partition (1): shadowed
  EXPECT_EQ(action(refund), OutboxAction::hold) << "the source side is only pending";
  fold(refund, {0, 3});
  EXPECT_EQ(action(refund), OutboxAction::trim);
  own.assigned = {1};
  own.shadowed = {0};
  EXPECT_EQ(action(refund), OutboxAction::send);
}

}  // namespace
}  // namespace xbanku::app
