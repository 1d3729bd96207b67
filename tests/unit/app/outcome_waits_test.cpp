// Read-your-writes waits and their wake-ups (app/outcome_waits.hpp), against a real view store.
#include "xbanku/app/outcome_waits.hpp"

#include "app_test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <map>

namespace xbanku::app {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using view::testing::create;
using view::testing::id;
using Woken = OutcomeWaits::Woken;

class Waits : public ::testing::Test {
 protected:
  void SetUp() override {
    store = view::testing::open_store(dir.path());
    ASSERT_NE(store, nullptr);
    waits = std::make_unique<OutcomeWaits>(io.get_executor(), *store, placement);
  }
  // Commits the create of account n under `command` in `partition` and tells the waits.
  void commit_create(unsigned n, const std::string& command, std::int32_t partition = 0) {
    auto batch = store->begin();
    batch.apply(create(id(n), "A", {partition, n}, command));
    ASSERT_FALSE(store->commit(batch));
    waits->committed({command});
  }
  // Runs `f` on the io_context after `delay`, while a wait is pending.
  template <typename F>
  void later(std::chrono::milliseconds delay, F f) {
    asio::co_spawn(
        io,
        [](asio::io_context& ctx, std::chrono::milliseconds d, F fn) -> asio::awaitable<void> {
          asio::steady_timer t(ctx, d);
          co_await t.async_wait(asio::use_awaitable);
          fn();
        }(io, delay, std::move(f)),
        asio::detached);
  }
  OutcomeWaits::Result wait(OutcomeWaits::Ticket& ticket, std::chrono::milliseconds bound) {
    return testing::run(io, ticket.wait_until(OutcomeWaits::Clock::now() + bound));
  }

  // The first numbered account id (from `start`) whose partition is `p`.
  std::string account_in(std::int32_t p, unsigned start = 1) const {
    for (unsigned n = start;; ++n) {
      if (placement.partition_of(id(n)) == p) return id(n);
    }
  }
  // Commits a deposit of `amount` to `account` under `command` at `pos`.
  void commit_deposit(const std::string& account, std::int64_t amount, const std::string& command,
                      domain::RecordPos pos) {
    domain::Decision d;
    d.outcome.command_id = command;
    d.outcome.type = domain::EventType::deposit;
    d.outcome.pos = pos;
    d.outcome.account_id = account;
    d.outcome.amount = amount;
    auto batch = store->begin();
    batch.apply(d);
    ASSERT_FALSE(store->commit(batch));
  }

  const domain::Placement placement{4};
  view::testing::TempDir dir;
  std::unique_ptr<view::Store> store;
  asio::io_context io;
  std::unique_ptr<OutcomeWaits> waits;
};

TEST_F(Waits, ACommitWakesTheWaitOfItsKey) {
  auto ticket = waits->expect("c1", "", 0);
  auto other = waits->expect("c2", "", 0);
  later(20ms, [&] { commit_create(1, "c1"); });
  const auto r = wait(ticket, 5s);
  EXPECT_EQ(r.woken, Woken::projected);
  ASSERT_TRUE(r.outcome);
  EXPECT_EQ(r.outcome->account_id, id(1));
  EXPECT_FALSE(other.outcome()) << "another key's wait sleeps on";
}

TEST_F(Waits, AnOutcomeCommittedBeforeTheWaitIsKept) {
  // The projector may commit a record before Kafka's acknowledgement reaches the producer.
  auto ticket = waits->expect("c1", "", std::nullopt);
  commit_create(1, "c1");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(wait(ticket, 5s).woken, Woken::projected);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST_F(Waits, TheBoundPasses) {
  auto ticket = waits->expect("never", "", 0);
  const auto r = wait(ticket, 50ms);
  EXPECT_EQ(r.woken, Woken::timeout);
  EXPECT_FALSE(r.outcome);
}

TEST_F(Waits, AMovedPartitionEndsItsWaitsOnly) {
  auto in_moved = waits->expect("a", "", 3);
  auto in_kept = waits->expect("b", "", 4);
  auto anywhere = waits->expect("c", "", std::nullopt);  // a forwarded wait names no partition
  // All three wait at once; partition 3 moves away meanwhile.
  std::map<std::string, Woken> woken;
  auto waiting = [&](std::string name, OutcomeWaits::Ticket& t) -> asio::awaitable<void> {
    woken[name] = (co_await t.wait_until(OutcomeWaits::Clock::now() + 300ms)).woken;
  };
  asio::co_spawn(io, waiting("moved", in_moved), asio::detached);
  asio::co_spawn(io, waiting("kept", in_kept), asio::detached);
  asio::co_spawn(io, waiting("anywhere", anywhere), asio::detached);
  later(20ms, [&] { waits->moved({3}); });
  io.run();
  EXPECT_EQ(woken["moved"], Woken::moved);
  EXPECT_EQ(woken["anywhere"], Woken::moved);
  EXPECT_EQ(woken["kept"], Woken::timeout);
  // A moved wait may wait again (the partition may come back).
  later(20ms, [&] { commit_create(1, "a", 3); });
  EXPECT_EQ(wait(in_moved, 5s).woken, Woken::projected);
}

TEST_F(Waits, StopEndsEveryWait) {
  auto ticket = waits->expect("a", "", 0);
  later(20ms, [&] { waits->stop(); });
  EXPECT_EQ(wait(ticket, 5s).woken, Woken::stopping);
  auto after = waits->expect("b", "", 0);
  EXPECT_EQ(wait(after, 5s).woken, Woken::stopping);
}

TEST_F(Waits, TheScopeOfAKeyIsRespected) {
  // The same key from another principal, or in another partition, is another command.
  auto bobs = waits->expect("c1", "bob", 0);
  auto elsewhere = waits->expect("c1", "", 5);
  commit_create(1, "c1");
  EXPECT_FALSE(bobs.outcome());
  EXPECT_FALSE(elsewhere.outcome());
}

TEST_F(Waits, APendingTransferResolvesFromTheView) {
  const auto to = account_in(2);
  domain::Outcome o;
  o.type = domain::EventType::transfer;
  o.status = domain::Status::pending;
  o.pos = {0, 7};
  o.transfer_id = "0-7";
  o.to = to;
  EXPECT_EQ(waits->resolve(o).status, domain::Status::pending);
  auto set = [&](std::int32_t partition, domain::TransferSide side, domain::TransferState state) {
    auto batch = store->begin();
    domain::Decision d;
    d.outcome.command_id = "x";
    d.transfer_update = {domain::transfer_key(partition, "0-7", side), state};
    batch.apply(d);
    ASSERT_FALSE(store->commit(batch));
  };
  // Each side is read in the partition whose records keep it: another partition's states
  // under the same transfer id (hand-written credits and refunds) say nothing of this one.
  set(1, domain::TransferSide::target, domain::TransferState::completed);
  set(3, domain::TransferSide::source, domain::TransferState::refunded);
  EXPECT_EQ(waits->resolve(o).status, domain::Status::pending);
  set(0, domain::TransferSide::source, domain::TransferState::refunded);
  EXPECT_EQ(waits->resolve(o).status, domain::Status::refunded);
  set(2, domain::TransferSide::target, domain::TransferState::completed);
  EXPECT_EQ(waits->resolve(o).status, domain::Status::completed);
}

// The checker's reproduction: a key used for a deposit to X (partition 3), then, by another
// Kafka client, for a deposit to Y in partition 0 (its own scope). A retry of the X deposit must
// meet its own first outcome, and an instance that has not folded partition 3 (it does not own
// it, or the record is still in flight) must not meet partition 0's record, which the API would
// take for another request: 422 for a command that was applied.
TEST_F(Waits, ANewCommandMeetsItsKeyInItsOwnPartitionOnly) {
  const auto x = account_in(3);
  const auto y = account_in(0);
  commit_deposit(y, 5, "K2", {0, 9});
  auto before = waits->lookup("K2", "", 3);
  ASSERT_TRUE(before);
  EXPECT_FALSE(*before) << "partition 0's K2 is another key than partition 3's";
  commit_deposit(x, 100, "K2", {3, 5});
  auto mine = waits->lookup("K2", "", 3);
  ASSERT_TRUE(mine && *mine);
  EXPECT_EQ((*mine)->account_id, x);
  EXPECT_EQ((*mine)->pos, (domain::RecordPos{3, 5}));
  auto unknown = waits->lookup("K3", "", 3);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

}  // namespace
}  // namespace xbanku::app
