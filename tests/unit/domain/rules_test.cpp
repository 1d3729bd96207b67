#include "xbanku/domain/rules.hpp"

#include "memory_state.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace xbanku::domain {
namespace {

using testing::account_in;
using testing::account_not_in;
using testing::MemoryState;

constexpr std::int32_t kPartitions = 6;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
const Placement kPlacement{kPartitions};

Event create(std::string id, std::string name) {
  Event e;
  e.type = EventType::create;
  e.acc_id = std::move(id);
  e.acc_name = std::move(name);
  return e;
}
Event money(EventType type, std::string id, std::int64_t amount, std::string command = {}) {
  Event e;
  e.type = type;
  e.acc_id = std::move(id);
  e.amount = amount;
  e.command_id = std::move(command);
  return e;
}
Event transfer(std::string from, std::string to, std::int64_t amount, std::string command = {}) {
  Event e = money(EventType::transfer, std::move(from), amount, std::move(command));
  e.target_id = std::move(to);
  return e;
}

class Rules : public ::testing::Test {
 protected:
  // Two accounts in partition 0, one in another partition.
  std::string a = account_in(0, kPartitions, 1);
  std::string b = account_in(0, kPartitions, 1000);
  std::string far = account_not_in(0, kPartitions, 1);
  std::string nobody = account_in(0, kPartitions, 5000);  // never created
  std::string far_nobody = account_not_in(0, kPartitions, 5000);
  RecordPos pos{0, 41};
  MemoryState st;

  Decision run(const Event& e, RecordPos at) {
    Decision d = decide(st, e, at, kPlacement);
    st.apply(d);
    return d;
  }
  Decision run(const Event& e) { return run(e, pos); }
  RecordPos in_partition_of(const std::string& id, std::int64_t offset) const {
    return {kPlacement.partition_of(id), offset};
  }
  // The view's key of one side of a transfer, kept in the partition of `account`.
  static std::string side_of(const std::string& account, std::string_view transfer_id,
                             TransferSide side) {
    return transfer_key(kPlacement.partition_of(account), transfer_id, side);
  }
};

TEST_F(Rules, CreateMakesANewAccount) {
  Decision d = run(create(a, "Cole Bittel"));
  EXPECT_FALSE(d.duplicate);
  EXPECT_EQ(d.outcome.status, Status::applied);
  EXPECT_EQ(d.outcome.reason, Reason::none);
  const Account want{a, "Cole Bittel", 0, 1};
  EXPECT_EQ(d.outcome.account, want);
  EXPECT_EQ(d.outcome.account_id, a);
  EXPECT_EQ(d.outcome.pos, pos);
  ASSERT_EQ(d.changes.size(), 1U);
  EXPECT_EQ(d.changes[0], want);
  ASSERT_EQ(d.history.size(), 1U);
  EXPECT_EQ(d.history[0].first, a);
  EXPECT_EQ(d.history[0].second.type, EventType::create);
  EXPECT_EQ(d.history[0].second.balance_after, 0);
  EXPECT_EQ(d.history[0].second.pos, pos);
  EXPECT_TRUE(d.follow_ups.empty());
  EXPECT_FALSE(d.transfer_update);
}

TEST_F(Rules, CreateNeverResetsAnExistingAccount) {
  st.put({a, "Cole", 500, 3});
  Decision d = run(create(a, "Someone Else"));
  EXPECT_EQ(d.outcome.status, Status::rejected);
  EXPECT_EQ(d.outcome.reason, Reason::account_exists);
  EXPECT_EQ(d.outcome.account, (Account{a, "Cole", 500, 3}));
  EXPECT_TRUE(d.changes.empty());
  EXPECT_TRUE(d.history.empty());
  EXPECT_EQ(st.accounts[a].balance, 500);
}

TEST_F(Rules, Deposit) {
  st.put({a, "A", 10, 1});
  Decision d = run(money(EventType::deposit, a, 90, "c1"));
  EXPECT_EQ(d.outcome.status, Status::applied);
  EXPECT_EQ(d.outcome.command_id, "c1");
  EXPECT_EQ(d.outcome.account, (Account{a, "A", 100, 2}));
  ASSERT_EQ(d.history.size(), 1U);
  EXPECT_EQ(d.history[0].second.amount, 90);
  EXPECT_EQ(d.history[0].second.balance_after, 100);
  EXPECT_EQ(d.history[0].second.command_id, "c1");
  EXPECT_TRUE(st.command_seen(0, "c1"));
}

TEST_F(Rules, DepositToUnknownAccount) {
  Decision d = run(money(EventType::deposit, nobody, 5));
  EXPECT_EQ(d.outcome.status, Status::rejected);
  EXPECT_EQ(d.outcome.reason, Reason::account_not_found);
  EXPECT_FALSE(d.outcome.account);
  EXPECT_TRUE(d.changes.empty());
}

TEST_F(Rules, DepositOverflow) {
  st.put({a, "A", kMax - 5, 1});
  Decision d = run(money(EventType::deposit, a, 6));
  EXPECT_EQ(d.outcome.reason, Reason::balance_overflow);
  EXPECT_EQ(d.outcome.account->balance, kMax - 5);
  EXPECT_TRUE(d.changes.empty());
  Decision ok = run(money(EventType::deposit, a, 5));
  EXPECT_EQ(ok.outcome.status, Status::applied);
  EXPECT_EQ(st.accounts[a].balance, kMax);
}

TEST_F(Rules, Withdraw) {
  st.put({a, "A", 100, 1});
  EXPECT_EQ(run(money(EventType::withdraw, a, 101)).outcome.reason, Reason::insufficient_funds);
  EXPECT_EQ(st.accounts[a], (Account{a, "A", 100, 1}));
  Decision d = run(money(EventType::withdraw, a, 100));
  EXPECT_EQ(d.outcome.status, Status::applied);
  EXPECT_EQ(d.outcome.account, (Account{a, "A", 0, 2}));
  EXPECT_EQ(run(money(EventType::withdraw, nobody, 1)).outcome.reason, Reason::account_not_found);
}

TEST_F(Rules, DuplicateCommandChangesNothing) {
  st.put({a, "A", 100, 1});
  Decision first = run(money(EventType::withdraw, a, 30, "cmd-1"));
  EXPECT_EQ(first.outcome.status, Status::applied);
  Decision again = run(money(EventType::withdraw, a, 30, "cmd-1"));
  EXPECT_TRUE(again.duplicate);
  EXPECT_TRUE(again.changes.empty());
  EXPECT_TRUE(again.history.empty());
  EXPECT_EQ(again.outcome.command_id, "cmd-1");
  EXPECT_EQ(st.accounts[a].balance, 70);
  // Also when the first one was rejected: the first outcome stands.
  Decision rejected = run(money(EventType::withdraw, a, 1000, "cmd-2"));
  EXPECT_EQ(rejected.outcome.reason, Reason::insufficient_funds);
  st.accounts[a].balance = 5000;
  EXPECT_TRUE(run(money(EventType::withdraw, a, 1000, "cmd-2")).duplicate);
  EXPECT_EQ(st.accounts[a].balance, 5000);
  // A duplicate create is a duplicate, not account_exists.
  Event c = create(b, "B");
  c.command_id = "cmd-3";
  EXPECT_EQ(run(c).outcome.status, Status::applied);
  EXPECT_TRUE(run(c).duplicate);
}

TEST_F(Rules, BadAmountIsRejectedEvenIfDecodeWasSkipped) {
  st.put({a, "A", 100, 1});
  for (std::int64_t bad : {std::int64_t{0}, std::int64_t{-1}, kMaxAmount + 1}) {
    for (EventType t : {EventType::deposit, EventType::withdraw}) {
      Decision d = run(money(t, a, bad));
      EXPECT_EQ(d.outcome.status, Status::rejected);
      EXPECT_EQ(d.outcome.reason, Reason::invalid_amount);
      EXPECT_TRUE(d.changes.empty());
    }
    Decision t = run(transfer(a, b, bad, "bad-t"));
    EXPECT_EQ(t.outcome.reason, Reason::invalid_amount);
    EXPECT_EQ(t.outcome.transfer_id, "0-41");
    st.commands.clear();
  }
  EXPECT_EQ(st.accounts[a], (Account{a, "A", 100, 1}));
}

TEST_F(Rules, TransferWithinThePartitionIsAtomic) {
  st.put({a, "A", 100, 1});
  st.put({b, "B", 7, 4});
  Decision d = run(transfer(a, b, 60, "t-1"));
  EXPECT_EQ(d.outcome.status, Status::completed);
  EXPECT_EQ(d.outcome.transfer_id, "0-41");
  EXPECT_EQ(d.outcome.from, a);
  EXPECT_EQ(d.outcome.to, b);
  EXPECT_EQ(d.outcome.account, (Account{a, "A", 40, 2}));
  ASSERT_EQ(d.changes.size(), 2U);
  EXPECT_EQ(d.changes[0], (Account{a, "A", 40, 2}));
  EXPECT_EQ(d.changes[1], (Account{b, "B", 67, 5}));
  ASSERT_EQ(d.history.size(), 2U);
  EXPECT_EQ(d.history[0].first, a);
  EXPECT_EQ(d.history[0].second.counterparty, b);
  EXPECT_EQ(d.history[0].second.balance_after, 40);
  EXPECT_EQ(d.history[0].second.transfer_id, "0-41");
  EXPECT_EQ(d.history[1].first, b);
  EXPECT_EQ(d.history[1].second.counterparty, a);
  EXPECT_EQ(d.history[1].second.balance_after, 67);
  EXPECT_TRUE(d.follow_ups.empty());
  ASSERT_TRUE(d.transfer_update);
  EXPECT_EQ(*d.transfer_update,
            (std::pair<std::string, TransferState>{transfer_key(0, "0-41", TransferSide::source),
                                                   TransferState::completed}));
}

TEST_F(Rules, TransferRejections) {
  st.put({a, "A", 100, 1});
  st.put({b, "B", kMax - 10, 1});
  const auto reason = [&](const Event& e) {
    Decision d = run(e);
    EXPECT_EQ(d.outcome.status, Status::rejected);
    EXPECT_TRUE(d.changes.empty());
    EXPECT_TRUE(d.follow_ups.empty());
    EXPECT_FALSE(d.transfer_update);
    return d.outcome.reason;
  };
  EXPECT_EQ(reason(transfer(nobody, a, 1)), Reason::account_not_found);
  EXPECT_EQ(reason(transfer(a, a, 1)), Reason::same_account);
  EXPECT_EQ(reason(transfer(a, b, 101)), Reason::insufficient_funds);
  EXPECT_EQ(reason(transfer(a, nobody, 1)), Reason::target_not_found);   // same partition
  EXPECT_EQ(reason(transfer(a, b, 11)), Reason::balance_overflow);       // same partition
  EXPECT_EQ(reason(transfer(a, far, 101)), Reason::insufficient_funds);  // other partition
  EXPECT_EQ(st.accounts[a], (Account{a, "A", 100, 1}));
  EXPECT_EQ(st.accounts[b], (Account{b, "B", kMax - 10, 1}));
}

TEST_F(Rules, TransferIdIsAlwaysThePosition) {
  st.put({a, "A", 100, 1});
  st.put({b, "B", 0, 1});
  EXPECT_EQ(run(transfer(a, b, 1, "my-cmd")).outcome.transfer_id, "0-41");
  EXPECT_EQ(run(transfer(a, b, 1), RecordPos{0, 1234}).outcome.transfer_id, "0-1234");
  EXPECT_EQ(transfer_id_at(RecordPos{5, 9}), "5-9");
}

TEST_F(Rules, CrossPartitionTransferCompletesWithTheCredit) {
  st.put({a, "A", 100, 1});
  st.put({far, "F", 1, 1});
  Decision d = run(transfer(a, far, 30, "t-9"));
  const std::string id = "0-41";  // the transfer record's position
  EXPECT_EQ(d.outcome.status, Status::pending);
  EXPECT_EQ(d.outcome.account, (Account{a, "A", 70, 2}));
  ASSERT_EQ(d.changes.size(), 1U);
  ASSERT_EQ(d.follow_ups.size(), 1U);
  const Event& credit = d.follow_ups[0];
  EXPECT_EQ(credit.type, EventType::transfer_credit);
  EXPECT_EQ(credit.acc_id, far);
  EXPECT_EQ(credit.source_id, a);
  EXPECT_EQ(credit.amount, 30);
  EXPECT_EQ(credit.transfer_id, id);
  EXPECT_EQ(credit.command_id, "");
  EXPECT_EQ(*d.transfer_update,
            (std::pair<std::string, TransferState>{transfer_key(0, id, TransferSide::source),
                                                   TransferState::pending}));

  Decision c = run(credit, in_partition_of(far, 3));
  EXPECT_EQ(c.outcome.status, Status::completed);
  EXPECT_EQ(c.outcome.account, (Account{far, "F", 31, 2}));
  EXPECT_EQ(c.outcome.transfer_id, id);
  EXPECT_EQ(c.outcome.from, a);
  EXPECT_EQ(c.outcome.to, far);
  ASSERT_EQ(c.history.size(), 1U);
  EXPECT_EQ(c.history[0].first, far);
  EXPECT_EQ(c.history[0].second.counterparty, a);
  EXPECT_TRUE(c.follow_ups.empty());
  EXPECT_EQ(st.transfers[side_of(far, id, TransferSide::target)], TransferState::completed);
  EXPECT_EQ(st.transfers[transfer_key(0, id, TransferSide::source)],
            TransferState::pending);  // the source's side never learns

  // Re-sent credit (outbox retry, redelivery): changes nothing.
  Decision again = run(credit, in_partition_of(far, 4));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(st.accounts[far].balance, 31);
}

TEST_F(Rules, CrossPartitionTransferToNobodyIsRefunded) {
  st.put({a, "A", 100, 1});
  Decision d = run(transfer(a, far_nobody, 30), RecordPos{0, 77});
  EXPECT_EQ(d.outcome.status, Status::pending);  // the target is only checked in its partition
  EXPECT_EQ(d.outcome.transfer_id, "0-77");
  EXPECT_EQ(st.accounts[a].balance, 70);

  Decision c = run(d.follow_ups.at(0), in_partition_of(far_nobody, 5));
  EXPECT_EQ(c.outcome.status, Status::rejected);
  EXPECT_EQ(c.outcome.reason, Reason::target_not_found);
  EXPECT_TRUE(c.changes.empty());
  EXPECT_EQ(st.transfers[side_of(far_nobody, "0-77", TransferSide::target)],
            TransferState::credit_failed);
  ASSERT_EQ(c.follow_ups.size(), 1U);
  const Event& refund = c.follow_ups[0];
  EXPECT_EQ(refund.type, EventType::transfer_refund);
  EXPECT_EQ(refund.acc_id, a);
  EXPECT_EQ(refund.target_id, far_nobody);
  EXPECT_EQ(refund.amount, 30);
  EXPECT_EQ(refund.transfer_id, "0-77");
  EXPECT_EQ(refund.reason, "target_not_found");

  // A re-sent credit after the failure changes nothing and sends no second refund.
  Decision dup_credit = run(d.follow_ups.at(0), in_partition_of(far_nobody, 6));
  EXPECT_TRUE(dup_credit.duplicate);
  EXPECT_TRUE(dup_credit.follow_ups.empty());

  Decision r = run(refund, RecordPos{0, 90});
  EXPECT_EQ(r.outcome.status, Status::refunded);
  EXPECT_EQ(r.outcome.account, (Account{a, "A", 100, 3}));
  ASSERT_EQ(r.history.size(), 1U);
  EXPECT_EQ(r.history[0].second.type, EventType::transfer_refund);
  EXPECT_EQ(r.history[0].second.counterparty, far_nobody);
  EXPECT_EQ(st.transfers[transfer_key(0, "0-77", TransferSide::source)], TransferState::refunded);
  EXPECT_EQ(st.transfers[side_of(far_nobody, "0-77", TransferSide::target)],
            TransferState::credit_failed);

  EXPECT_TRUE(run(refund, RecordPos{0, 91}).duplicate);
  EXPECT_EQ(st.accounts[a].balance, 100);
}

TEST_F(Rules, CreditOverflowIsRefunded) {
  st.put({far, "F", kMax - 1, 1});
  Event credit;
  credit.type = EventType::transfer_credit;
  credit.acc_id = far;
  credit.source_id = a;
  credit.amount = 2;
  credit.transfer_id = "t-o";
  Decision c = run(credit, in_partition_of(far, 1));
  EXPECT_EQ(c.outcome.status, Status::rejected);
  EXPECT_EQ(c.outcome.reason, Reason::balance_overflow);
  EXPECT_EQ(c.outcome.account, (Account{far, "F", kMax - 1, 1}));
  EXPECT_TRUE(c.changes.empty());
  ASSERT_EQ(c.follow_ups.size(), 1U);
  EXPECT_EQ(c.follow_ups[0].reason, "balance_overflow");
  EXPECT_EQ(c.follow_ups[0].acc_id, a);
  EXPECT_EQ(st.transfers[side_of(far, "t-o", TransferSide::target)], TransferState::credit_failed);
}

TEST_F(Rules, CreditDuplicatesByTheTargetSideOnly) {
  st.put({far, "F", 0, 1});
  Event credit;
  credit.type = EventType::transfer_credit;
  credit.acc_id = far;
  credit.source_id = a;
  credit.amount = 2;
  credit.transfer_id = "t-d";
  for (TransferState s : {TransferState::completed, TransferState::credit_failed}) {
    st.transfers[side_of(far, "t-d", TransferSide::target)] = s;
    Decision d = decide(st, credit, in_partition_of(far, 1), kPlacement);
    EXPECT_TRUE(d.duplicate) << to_string(s);
    EXPECT_TRUE(d.changes.empty());
    EXPECT_TRUE(d.follow_ups.empty());
  }
  st.transfers.clear();
  // The source's side, whatever it says (another partition, maybe folded first), is not read.
  for (TransferState s : {TransferState::pending, TransferState::refunded}) {
    st.transfers[transfer_key(0, "t-d", TransferSide::source)] = s;
    EXPECT_EQ(decide(st, credit, in_partition_of(far, 1), kPlacement).outcome.status,
              Status::completed)
        << to_string(s);
  }
}

TEST_F(Rules, RefundEdgeCases) {
  Event refund;
  refund.type = EventType::transfer_refund;
  refund.acc_id = a;
  refund.target_id = far;
  refund.amount = 10;
  refund.transfer_id = "t-r";
  refund.reason = "target_not_found";
  Decision missing = run(refund);
  EXPECT_EQ(missing.outcome.status, Status::rejected);
  EXPECT_EQ(missing.outcome.reason, Reason::account_not_found);
  EXPECT_EQ(missing.transfer_update, (std::pair{transfer_key(0, "t-r", TransferSide::source),
                                                TransferState::refund_failed}));

  Event overflowing = refund;
  overflowing.transfer_id = "t-o";
  st.put({a, "A", kMax - 5, 1});
  Decision overflow = run(overflowing);
  EXPECT_EQ(overflow.outcome.reason, Reason::balance_overflow);
  EXPECT_TRUE(overflow.changes.empty());
  EXPECT_EQ(st.transfers[transfer_key(0, "t-o", TransferSide::source)],
            TransferState::refund_failed);
}

// DESIGN §2: credits and refunds are deduplicated by transfer id; the first copy decides,
// whatever its outcome. The checker's reproduction: a refund to an account that does not exist
// yet is rejected; the account is created; the same refund sent again must change nothing.
TEST_F(Rules, ARefundIsDecidedByItsFirstCopyEvenWhenRejected) {
  Event refund;
  refund.type = EventType::transfer_refund;
  refund.acc_id = a;
  refund.target_id = far;
  refund.amount = 10;
  refund.transfer_id = "0-3";
  refund.reason = "target_not_found";
  ASSERT_EQ(run(refund, RecordPos{0, 5}).outcome.reason, Reason::account_not_found);
  ASSERT_EQ(run(create(a, "A"), RecordPos{0, 6}).outcome.status, Status::applied);
  Decision again = run(refund, RecordPos{0, 7});
  EXPECT_TRUE(again.duplicate) << "re-sent refund decided " << to_string(again.outcome.status);
  EXPECT_TRUE(again.changes.empty());
  EXPECT_EQ(st.accounts[a].balance, 0);

  // Likewise after a refund held by an overflow: a later copy finds room, and changes nothing.
  st.put({b, "B", kMax - 5, 1});
  refund.acc_id = b;
  refund.transfer_id = "0-4";
  ASSERT_EQ(run(refund, RecordPos{0, 8}).outcome.reason, Reason::balance_overflow);
  st.accounts[b].balance = 0;
  EXPECT_TRUE(run(refund, RecordPos{0, 9}).duplicate);
  EXPECT_EQ(st.accounts[b].balance, 0);
}

// Transfer states are per partition: two hand-written credits naming one transfer id, for
// accounts of two partitions, are each decided in their own partition whatever order the
// partitions are folded in (the live view and --act=verify credited different accounts), and
// a forged refund in one partition cannot mark another partition's transfer refunded.
TEST_F(Rules, TransferStatesOfOnePartitionAreNotAnothers) {
  const std::string one = account_in(1, kPartitions, 1);
  const std::string two = account_in(2, kPartitions, 1);
  auto credit_to = [&](const std::string& target) {
    Event c;
    c.type = EventType::transfer_credit;
    c.acc_id = target;
    c.source_id = a;
    c.amount = 7;
    c.transfer_id = "0-999";
    return c;
  };
  auto fold = [&](bool one_first) {
    st = MemoryState{};
    st.put({one, "One", 0, 1});
    st.put({two, "Two", 0, 1});
    const std::string order[] = {one_first ? one : two, one_first ? two : one};
    for (const auto& target : order) {
      EXPECT_EQ(run(credit_to(target), in_partition_of(target, 10)).outcome.status,
                Status::completed)
          << "credit to partition " << kPlacement.partition_of(target);
    }
    return st;
  };
  const MemoryState one_first = fold(true);
  const MemoryState two_first = fold(false);
  EXPECT_TRUE(one_first == two_first) << "the view depends on the fold order";
  EXPECT_EQ(one_first.accounts.at(one).balance, 7);
  EXPECT_EQ(one_first.accounts.at(two).balance, 7);

  // A real cross-partition transfer from `a` (partition 0), and a forged refund naming its id
  // in another partition: the transfer's own side is untouched.
  st = MemoryState{};
  st.put({a, "A", 100, 1});
  st.put({far, "F", 0, 1});
  const Decision t = run(transfer(a, far, 30), RecordPos{0, 41});
  ASSERT_EQ(t.outcome.status, Status::pending);
  Event forged;
  forged.type = EventType::transfer_refund;
  forged.acc_id = two;
  forged.target_id = far;
  forged.amount = 30;
  forged.transfer_id = "0-41";
  forged.reason = "target_not_found";
  st.put({two, "Two", 0, 1});
  run(forged, in_partition_of(two, 3));
  EXPECT_EQ(st.transfers[transfer_key(0, "0-41", TransferSide::source)], TransferState::pending);
}

TEST_F(Rules, PartitionsFoldedInEitherOrderGiveTheSameView) {
  // Rebuilding one store from the log, or taking over a partition after a failover, may fold
  // the target's partition before the source's: the credit then comes before its transfer.
  st.put({a, "A", 100, 1});
  st.put({far, "F", 0, 1});
  Event credit;
  credit.type = EventType::transfer_credit;
  credit.acc_id = far;
  credit.source_id = a;
  credit.amount = 40;
  credit.transfer_id = "0-41";  // the id of the transfer record folded next, at `pos`
  EXPECT_EQ(run(credit, in_partition_of(far, 0)).outcome.status, Status::completed);
  Decision d = run(transfer(a, far, 40, "t-x"));
  // The transfer record decides exactly as on first projection: pending, and the credit is
  // sent again — the target's side makes that copy a duplicate.
  EXPECT_EQ(d.outcome.status, Status::pending);
  ASSERT_EQ(d.follow_ups.size(), 1U);
  EXPECT_TRUE(run(d.follow_ups[0], in_partition_of(far, 1)).duplicate);
  EXPECT_EQ(st.accounts[a].balance, 60);
  EXPECT_EQ(st.accounts[far].balance, 40);
  EXPECT_EQ(st.transfers[transfer_key(0, "0-41", TransferSide::source)], TransferState::pending);
  EXPECT_EQ(st.transfers[side_of(far, "0-41", TransferSide::target)], TransferState::completed);

  // A failed credit folded after the source's refund (possible in the same store) is not a
  // duplicate: the target's partition records its outcome either way.
  Event refund;
  refund.type = EventType::transfer_refund;
  refund.acc_id = a;
  refund.target_id = far_nobody;
  refund.amount = 5;
  refund.transfer_id = "t-y";
  refund.reason = "target_not_found";
  st.transfers[transfer_key(0, "t-y", TransferSide::source)] = TransferState::pending;
  EXPECT_EQ(run(refund).outcome.status, Status::refunded);
  Event failed_credit;
  failed_credit.type = EventType::transfer_credit;
  failed_credit.acc_id = far_nobody;
  failed_credit.source_id = a;
  failed_credit.amount = 5;
  failed_credit.transfer_id = "t-y";
  Decision c = run(failed_credit, in_partition_of(far_nobody, 7));
  EXPECT_FALSE(c.duplicate);
  EXPECT_EQ(c.outcome.reason, Reason::target_not_found);
}

// ---- idempotency keys bound to their request (DESIGN §2) ----

TEST_F(Rules, TheSameRequestAgainIsADuplicateOfTheFirst) {
  st.put({a, "A", 10, 1});
  EXPECT_EQ(run(money(EventType::deposit, a, 5, "k")).outcome.status, Status::applied);
  Decision again = run(money(EventType::deposit, a, 5, "k"), RecordPos{0, 42});
  EXPECT_TRUE(again.duplicate);
  EXPECT_FALSE(again.by_position);
  EXPECT_TRUE(again.changes.empty());
  EXPECT_EQ(st.accounts[a].balance, 15);
}

TEST_F(Rules, AKeyReusedForAnotherRequestIsRejectedAndChangesNothing) {
  st.put({a, "A", 100, 1});
  st.put({b, "B", 100, 1});
  ASSERT_EQ(run(money(EventType::deposit, a, 5, "k")).outcome.status, Status::applied);
  const auto before = st;
  // Another amount, another account, another type, a transfer: all other requests.
  Event others[] = {money(EventType::deposit, a, 6, "k"),
                    money(EventType::deposit, b, 5, "k"),
                    money(EventType::withdraw, a, 5, "k"),
                    transfer(b, a, 5, "k"),
                    create(b, "B"),
                    transfer(a, b, 5, "k")};
  others[4].command_id = "k";
  std::int64_t offset = 50;
  for (const Event& e : others) {
    Decision d = run(e, RecordPos{0, offset++});
    EXPECT_FALSE(d.duplicate);
    EXPECT_TRUE(d.by_position) << "the key names the first request's outcome";
    EXPECT_EQ(d.outcome.status, Status::rejected);
    EXPECT_EQ(d.outcome.reason, Reason::idempotency_key_reused);
    EXPECT_TRUE(d.changes.empty());
    EXPECT_TRUE(d.history.empty());
    EXPECT_TRUE(d.follow_ups.empty());
    EXPECT_FALSE(d.transfer_update);
  }
  EXPECT_TRUE(st == before);
  // The first request, repeated after all that, is still a duplicate of itself.
  EXPECT_TRUE(run(money(EventType::deposit, a, 5, "k"), RecordPos{0, offset}).duplicate);
}

TEST_F(Rules, AKeysScopeIsItsPartitionAndPrincipal) {
  st.put({a, "A", 100, 1});
  st.put({far, "F", 100, 1});
  ASSERT_EQ(run(money(EventType::deposit, a, 5, "k")).outcome.status, Status::applied);
  // The same key in another partition: another scope, decided there alone.
  Decision elsewhere = run(money(EventType::deposit, far, 7, "k"), in_partition_of(far, 3));
  EXPECT_EQ(elsewhere.outcome.status, Status::applied);
  EXPECT_EQ(st.accounts[far].balance, 107);
  // The same key from another principal, in the same partition: another scope too.
  Event bobs = money(EventType::withdraw, a, 1, "k");
  bobs.principal = "bob";
  Decision d = run(bobs, RecordPos{0, 60});
  EXPECT_EQ(d.outcome.status, Status::applied);
  EXPECT_EQ(d.outcome.principal, "bob");
  EXPECT_EQ(st.accounts[a].balance, 104);
  bobs.amount = 2;
  EXPECT_EQ(run(bobs, RecordPos{0, 61}).outcome.reason, Reason::idempotency_key_reused);
}

TEST_F(Rules, NoClientKeyCanNameATransferItDidNotWrite) {
  // The reproduction of the lost-money bug: a command-less (Go-format) transfer at 0:2 gets
  // transfer id "0-2"; a client then picks "0-2" as the Idempotency-Key of its own transfer.
  st.put({a, "A", 1000, 1});
  st.put({b, "B", 1000, 1});
  const std::string far2 = account_not_in(0, kPartitions, 9000);
  st.put({far, "F", 0, 1});
  st.put({far2, "F2", 0, 1});
  Decision go = run(transfer(a, far, 100), RecordPos{0, 2});
  ASSERT_EQ(go.outcome.transfer_id, "0-2");
  ASSERT_EQ(run(go.follow_ups.at(0), in_partition_of(far, 1)).outcome.status, Status::completed);

  Decision chosen = run(transfer(b, far2, 100, "0-2"), RecordPos{0, 9});
  EXPECT_EQ(chosen.outcome.status, Status::pending);
  EXPECT_EQ(chosen.outcome.transfer_id, "0-9");
  Decision credit = run(chosen.follow_ups.at(0), in_partition_of(far2, 2));
  EXPECT_FALSE(credit.duplicate);
  EXPECT_EQ(credit.outcome.status, Status::completed);
  std::int64_t sum = 0;
  for (const auto& [id, acct] : st.accounts) sum += acct.balance;
  EXPECT_EQ(sum, 2000) << "money created or lost";
}

TEST_F(Rules, AMisplacedRecordIsRejectedAndTouchesNothing) {
  st.put({a, "A", 100, 1});
  const auto before = st;
  // `a` lives in partition 0; a keyless producer wrote its records to partition 3.
  const RecordPos wrong{3, 8};
  for (const Event& e : {money(EventType::deposit, a, 5, "k1"), create(a, "again"),
                         money(EventType::withdraw, a, 5), transfer(a, far, 5, "k2")}) {
    Decision d = run(e, wrong);
    EXPECT_EQ(d.outcome.status, Status::rejected);
    EXPECT_EQ(d.outcome.reason, Reason::misplaced_record);
    EXPECT_TRUE(d.by_position) << "a misplaced record takes no key in any scope";
    EXPECT_TRUE(d.changes.empty());
    EXPECT_TRUE(d.follow_ups.empty());
  }
  EXPECT_TRUE(st == before);
  // The key "k1" is still free in a's own partition.
  EXPECT_EQ(run(money(EventType::deposit, a, 5, "k1")).outcome.status, Status::applied);
  // One partition: every record is placed there (the original Go tool's topic).
  EXPECT_EQ(
      decide(st, money(EventType::deposit, a, 1), RecordPos{0, 1}, Placement{1}).outcome.status,
      Status::applied);
}

TEST(RulesNames, SnakeCase) {
  EXPECT_EQ(to_string(Status::applied), "applied");
  EXPECT_EQ(to_string(Status::rejected), "rejected");
  EXPECT_EQ(to_string(Status::pending), "pending");
  EXPECT_EQ(to_string(Status::completed), "completed");
  EXPECT_EQ(to_string(Status::refunded), "refunded");
  EXPECT_EQ(to_string(Reason::none), "none");
  EXPECT_EQ(to_string(Reason::account_exists), "account_exists");
  EXPECT_EQ(to_string(Reason::account_not_found), "account_not_found");
  EXPECT_EQ(to_string(Reason::balance_overflow), "balance_overflow");
  EXPECT_EQ(to_string(Reason::insufficient_funds), "insufficient_funds");
  EXPECT_EQ(to_string(Reason::same_account), "same_account");
  EXPECT_EQ(to_string(Reason::target_not_found), "target_not_found");
  EXPECT_EQ(to_string(Reason::invalid_amount), "invalid_amount");
  EXPECT_EQ(to_string(Reason::malformed_event), "malformed_event");
  EXPECT_EQ(to_string(Reason::unknown_type), "unknown_type");
  EXPECT_EQ(to_string(Reason::misplaced_record), "misplaced_record");
  EXPECT_EQ(to_string(Reason::idempotency_key_reused), "idempotency_key_reused");
  EXPECT_EQ(to_string(TransferState::credit_failed), "credit_failed");
  EXPECT_EQ(to_string(TransferState::refund_failed), "refund_failed");
}

TEST(RulesUndecodable, MapsDecodeErrors) {
  const RecordPos pos{2, 99};
  const std::pair<DecodeErrc, Reason> map[] = {
      {DecodeErrc::malformed_event, Reason::malformed_event},
      {DecodeErrc::unknown_type, Reason::unknown_type},
      {DecodeErrc::invalid_amount, Reason::invalid_amount}};
  for (const auto& [code, reason] : map) {
    Outcome o = undecodable_outcome(DecodeError{code, "msg", "cmd", "acc"}, pos);
    EXPECT_EQ(o.status, Status::rejected);
    EXPECT_EQ(o.reason, reason);
    EXPECT_EQ(o.command_id, "cmd");
    EXPECT_EQ(o.account_id, "acc");
    EXPECT_EQ(o.pos, pos);
    EXPECT_FALSE(o.account);
  }
}

TEST(RulesUndecodable, ReportsTheTypeOnlyWhenItCouldBeRead) {
  DecodeError deposit{DecodeErrc::invalid_amount, "msg", "cmd", "acc"};
  deposit.type = EventType::deposit;
  EXPECT_EQ(undecodable_outcome(deposit, {0, 1}).type, EventType::deposit);
  const DecodeError unreadable{DecodeErrc::malformed_event, "msg", "cmd", "acc"};
  EXPECT_EQ(undecodable_outcome(unreadable, {0, 1}).type, std::nullopt)
      << "no type is claimed for a record whose Type could not be read";
}

TEST_F(Rules, AnUndecodableRecordTakesAFreeKeyOnly) {
  DecodeError bad{DecodeErrc::malformed_event, "msg", "k", a};
  Decision first = decide_undecodable(st, bad, RecordPos{0, 1}, kPlacement);
  EXPECT_EQ(first.outcome.reason, Reason::malformed_event);
  EXPECT_FALSE(first.by_position) << "a free key is taken by the undecodable record";
  EXPECT_FALSE(first.duplicate);
  st.apply(first);
  // The key is bound to no request a valid record can repeat.
  EXPECT_EQ(run(money(EventType::deposit, a, 5, "k"), RecordPos{0, 2}).outcome.reason,
            Reason::idempotency_key_reused);
  // A second undecodable record with the key keeps its outcome by position.
  EXPECT_TRUE(decide_undecodable(st, bad, RecordPos{0, 3}, kPlacement).by_position);
  // No key: by its position, naturally (put_outcome), and nothing else.
  bad.command_id.clear();
  Decision keyless = decide_undecodable(st, bad, RecordPos{0, 4}, kPlacement);
  EXPECT_TRUE(keyless.changes.empty());
  EXPECT_FALSE(keyless.transfer_update);
}

// A record whose only problem is its amount is an event of a known account: placement is
// checked first, so misplaced it is misplaced_record and takes no key (README, placement).
TEST_F(Rules, AMisplacedRecordWithABadAmountIsMisplacedAndTakesNoKey) {
  // `a` lives in partition 0; the record was written to partition 1.
  DecodeError bad_amount{DecodeErrc::invalid_amount, "field 'Amount' must be between 1 and 10^15",
                         "k", a};
  bad_amount.type = EventType::deposit;
  Decision d = decide_undecodable(st, bad_amount, RecordPos{1, 8}, kPlacement);
  EXPECT_EQ(d.outcome.reason, Reason::misplaced_record);
  EXPECT_EQ(d.outcome.status, Status::rejected);
  EXPECT_TRUE(d.by_position) << "a misplaced record takes no key in any scope";
  st.apply(d);
  EXPECT_FALSE(st.first_request({1, "", "k"}));
  // In its own partition the same record is an invalid amount, and takes its key there.
  Decision placed = decide_undecodable(st, bad_amount, RecordPos{0, 9}, kPlacement);
  EXPECT_EQ(placed.outcome.reason, Reason::invalid_amount);
  EXPECT_FALSE(placed.by_position);
  // Malformed records have no trustworthy account: they are not judged by placement.
  DecodeError malformed{DecodeErrc::malformed_event, "field 'V' must be 1", "k2", a};
  EXPECT_EQ(decide_undecodable(st, malformed, RecordPos{1, 10}, kPlacement).outcome.reason,
            Reason::malformed_event);
}

TEST(PlacementTest, UsesTheKafkaPartitioner) {
  const Placement p{12};
  EXPECT_EQ(p.partition_of("foobar"), 6);
  EXPECT_EQ(Placement{}.partition_of("foobar"), 0);
}

}  // namespace
}  // namespace xbanku::domain
