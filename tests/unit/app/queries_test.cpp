// Queries routed between instances (DESIGN §8), with a cluster described by hand and peers that
// answer what each test says; the local view is a real store.
#include "xbanku/app/queries.hpp"

#include "app_test_support.hpp"
#include "xbanku/app/outcome_waits.hpp"
#include "xbanku/app/projector.hpp"
#include "xbanku/domain/partitioner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace xbanku::app {
namespace {

using cluster::Owner;
using cluster::PeerStatus;
using testing::ok;
using testing::with_status;
using view::testing::create;

constexpr std::int32_t kPartitions = 4;
const Owner kPeer{"peer", "http://127.0.0.1:2"};
const Owner kThird{"third", "http://127.0.0.1:3"};

// The first numbered account id (from `start`) whose partition is `p`.
std::string account_in(std::int32_t p, unsigned start = 1) {
  for (unsigned n = start;; ++n) {
    auto id = view::testing::id(n);
    if (domain::partition_for_key(id, kPartitions) == p) return id;
  }
}

class Routed : public ::testing::Test {
 protected:
  void SetUp() override {
    store = view::testing::open_store(dir.path());
    ASSERT_NE(store, nullptr);
    waits = std::make_unique<OutcomeWaits>(io.get_executor(), *store, placement);
    positions = std::make_unique<PositionWaits>(io.get_executor(), *store);
    queries =
        make_queries({*store, directory, peers, ownership, *waits, placement, positions.get()});
    // This instance serves partitions 0 and 1; the peer owns 2; the third 3.
    ownership.assigned = ownership.serving = {0, 1};
    directory.owners = {{0, {"me", "http://127.0.0.1:1"}},
                        {1, {"me", "http://127.0.0.1:1"}},
                        {2, kPeer},
                        {3, kThird}};
  }
  void commit(const domain::Decision& d) {
    auto batch = store->begin();
    batch.apply(d);
    ASSERT_FALSE(store->commit(batch));
  }
  template <typename T>
  T run(boost::asio::awaitable<T> task) {
    return testing::run(io, std::move(task));
  }

  view::testing::TempDir dir;
  std::unique_ptr<view::Store> store;
  boost::asio::io_context io;
  const domain::Placement placement{kPartitions};
  testing::FakeDirectory directory;
  testing::FakePeers peers;
  Ownership ownership;
  std::unique_ptr<OutcomeWaits> waits;
  std::unique_ptr<PositionWaits> positions;
  std::unique_ptr<QueryService> queries;

  // The view has applied `partition` up to (not including) `next`.
  void applied_up_to(std::int32_t partition, std::int64_t next) {
    auto batch = store->begin();
    batch.set_next_offset(partition, next);
    ASSERT_FALSE(store->commit(batch));
    positions->committed();
  }
  static Origin at(std::vector<domain::Position> ps, int hops = 0) {
    Origin o;
    o.hops = hops;
    o.min_position = std::move(ps);
    return o;
  }
};

TEST_F(Routed, APartitionServedHereIsReadHere) {
  const auto id = account_in(0);
  commit(create(id, "Here", {0, 1}));
  auto r = run(queries->account(id, {}));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->name, "Here");
  EXPECT_EQ(r.served_by, "me");
  EXPECT_FALSE(r.stale);
  auto missing = run(queries->account(account_in(1), {}));
  EXPECT_FALSE(missing.value);
  EXPECT_FALSE(missing.unavailable) << "a fresh not-found from the partition's server";
  EXPECT_TRUE(peers.calls.empty());
}

TEST_F(Routed, AnotherOwnersPartitionIsAskedOfIt) {
  const auto id = account_in(2);
  peers.accounts_by_id[{"peer", id}] = ok(domain::Account{id, "There", 5, 2, ""});
  auto r = run(queries->account(id, {}));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->name, "There");
  EXPECT_EQ(r.served_by, "peer");
  EXPECT_EQ(peers.calls, (std::vector<std::string>{"peer account " + id}));
  // The owner's "not found" is an answer too.
  const auto absent = account_in(2, 500);
  peers.accounts_by_id[{"peer", absent}] = with_status<domain::Account>(PeerStatus::not_found);
  auto nf = run(queries->account(absent, {}));
  EXPECT_FALSE(nf.value);
  EXPECT_FALSE(nf.unavailable);
  EXPECT_EQ(nf.served_by, "peer");
}

TEST_F(Routed, AnOwnerThatDoesNotAnswerLeavesTheLocalCopyOr503) {
  const auto copied = account_in(2);
  commit(create(copied, "Old copy", {2, 1}));  // owned here once, before a rebalance
  peers.accounts_by_id[{"peer", copied}] = with_status<domain::Account>(PeerStatus::unavailable);
  auto r = run(queries->account(copied, {}));
  ASSERT_TRUE(r.value);
  EXPECT_TRUE(r.stale);
  EXPECT_EQ(r.served_by, "me");
  auto none = run(queries->account(account_in(2, 500), {}));  // no answer, no copy
  EXPECT_TRUE(none.unavailable);
  EXPECT_FALSE(none.value);
}

TEST_F(Routed, AForwardedQueryIsAnsweredHereOnly) {
  auto r = run(queries->account(account_in(3), Origin{1, {}}));
  EXPECT_TRUE(r.unavailable);
  EXPECT_TRUE(peers.calls.empty());
}

TEST_F(Routed, ListingsMergeOwnersPagesAndFallBackToCopies) {
  const auto here = account_in(0);
  const auto copy3 = account_in(3);
  commit(create(here, "Here", {0, 1}));
  commit(create(copy3, "Copy of 3", {3, 1}));
  const auto there = account_in(2);
  peers.pages[{"peer", ""}] = ok(view::AccountPage{{{there, "There", 1, 1, ""}}, std::nullopt});
  // The third does not answer: our copy of partition 3 stands in, marked stale.
  auto r = run(queries->accounts("", 100, "", {}));
  ASSERT_TRUE(r.value);
  std::vector<std::string> ids;
  for (const auto& a : r.value->items) ids.push_back(a.id);
  std::vector<std::string> want{here, there, copy3};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);
  EXPECT_TRUE(r.stale);
  EXPECT_FALSE(r.value->next);

  // A forwarded listing names partitions this instance must serve, or it answers nothing.
  auto partial = run(queries->accounts("", 100, "", Origin{1, {0, 2}}));
  EXPECT_TRUE(partial.unavailable);
  auto mine = run(queries->accounts("", 100, "", Origin{1, {0}}));
  ASSERT_TRUE(mine.value);
  ASSERT_EQ(mine.value->items.size(), 1u);
  EXPECT_EQ(mine.value->items[0].id, here);
}

TEST_F(Routed, ACommandIdIsLookedUpAtEveryOwner) {
  domain::Outcome theirs;
  theirs.command_id = "k";
  theirs.type = domain::EventType::deposit;
  theirs.pos = {3, 5};
  peers.outcomes[{"peer", "k"}] = with_status<domain::Outcome>(PeerStatus::not_found);
  peers.outcomes[{"third", "k"}] = ok(theirs);
  auto r = run(queries->command("k", "alice", std::chrono::milliseconds(0), {}, std::nullopt));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->pos, theirs.pos);
  EXPECT_EQ(r.served_by, "third");
  EXPECT_EQ(peers.last_principal, "alice");  // keys are the principal's: the owner asks for it

  // Not found by every owner: a 404. One owner silent: 503, never a wrong 404.
  peers.outcomes[{"third", "missing"}] = with_status<domain::Outcome>(PeerStatus::not_found);
  peers.outcomes[{"peer", "missing"}] = with_status<domain::Outcome>(PeerStatus::not_found);
  auto nf =
      run(queries->command("missing", "alice", std::chrono::milliseconds(0), {}, std::nullopt));
  EXPECT_FALSE(nf.value);
  EXPECT_FALSE(nf.unavailable);
  auto silent =
      run(queries->command("unknown", "alice", std::chrono::milliseconds(0), {}, std::nullopt));
  EXPECT_TRUE(silent.unavailable);
}

// The checker's reproduction with two instances: this instance (A) serves partitions 0 and 1.
// A deposit to X (partition 0) took key K here; then instance B wrote a deposit to Y
// (partition 1) with the same K and asks A to wait for it. A must answer the key's outcome in
// partition 1, the record B wrote, not the first partition that knows K (X's: B then answered
// 422 for a deposit that was applied).
TEST_F(Routed, AForwardedWaitAnswersTheKeyInThePartitionItNames) {
  const auto x = account_in(0);
  const auto y = account_in(1);
  auto deposit = [&](const std::string& account, domain::RecordPos pos) {
    domain::Decision d;
    d.outcome.command_id = "K";
    d.outcome.type = domain::EventType::deposit;
    d.outcome.pos = pos;
    d.outcome.account_id = account;
    d.outcome.amount = 10;
    return d;
  };
  commit(deposit(x, {0, 3}));
  const Origin peer{1, {}};
  // B's record is not projected yet: the wait is for partition 1 only, so X's outcome in
  // partition 0 does not answer it; it ends when Y's record is committed.
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer t(io, std::chrono::milliseconds(20));
        co_await t.async_wait(boost::asio::use_awaitable);
        commit(deposit(y, {1, 4}));
        waits->committed({"K"});
      },
      boost::asio::detached);
  auto r = run(queries->command("K", "", std::chrono::milliseconds(5000), peer, 1));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->account_id, y);
  EXPECT_EQ(r.value->pos, (domain::RecordPos{1, 4}));
  // Asked again, now that both are projected: still partition 1's.
  r = run(queries->command("K", "", std::chrono::milliseconds(0), peer, 1));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->account_id, y);
  // Without a partition (a client's GET /commands/K): the first partition that knows it.
  r = run(queries->command("K", "", std::chrono::milliseconds(0), peer, std::nullopt));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->account_id, x);
  // A partition not served here: not a definite "not found".
  r = run(queries->command("K", "", std::chrono::milliseconds(0), peer, 2));
  EXPECT_FALSE(r.value);
  EXPECT_TRUE(r.unavailable);
}

TEST_F(Routed, APendingTransferIsResolvedAtItsTargetsOwner) {
  const auto from = account_in(0);
  const auto to = account_in(2);
  domain::Decision d;
  d.outcome.command_id = "t";
  d.outcome.principal = "alice";
  d.outcome.type = domain::EventType::transfer;
  d.outcome.status = domain::Status::pending;
  d.outcome.pos = {0, 9};
  d.outcome.account_id = from;
  d.outcome.transfer_id = "0-9";
  d.outcome.from = from;
  d.outcome.to = to;
  commit(d);
  peers.transfers[{"peer", "0-9"}] = ok(domain::TransferState::completed);
  auto r = run(queries->command("t", "alice", std::chrono::milliseconds(0), {}, std::nullopt));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->status, domain::Status::completed);
}

TEST_F(Routed, ATransferWithinOnePartitionReadsCompletedAtItsTarget) {
  // Decided in one record, it keeps only its source side (in the target's partition too).
  domain::Decision d;
  d.transfer_update.emplace(domain::transfer_key(0, "0-7", domain::TransferSide::source),
                            domain::TransferState::completed);
  commit(d);
  auto r = run(queries->transfer("0-7", account_in(0), {}));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(*r.value, domain::TransferState::completed);
  // A cross-partition transfer's source side says nothing about its target.
  domain::Decision pending;
  pending.transfer_update.emplace(domain::transfer_key(1, "1-3", domain::TransferSide::source),
                                  domain::TransferState::pending);
  commit(pending);
  EXPECT_FALSE(run(queries->transfer("1-3", account_in(1), {})).value);
  EXPECT_FALSE(run(queries->transfer("0-8", account_in(0), {})).value);
}

// min_position (DESIGN §8): never an answer older than the position.
TEST_F(Routed, AMinPositionQueryIsAnsweredHereOnceTheViewIsPastIt) {
  const auto id = account_in(0);
  commit(create(id, "Here", {0, 5}));
  applied_up_to(0, 6);
  auto r = run(queries->account(id, at({{0, 5}})));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.served_by, "me");
  EXPECT_EQ(r.role, "owner");
  EXPECT_FALSE(r.stale);
  // Another partition's position does not concern this query.
  auto other = run(queries->account(id, at({{2, 1000}})));
  EXPECT_TRUE(other.value);
  EXPECT_TRUE(peers.calls.empty());
}

TEST_F(Routed, AMinPositionQueryWaitsForTheViewWhereItIsFolded) {
  const auto id = account_in(1);
  commit(create(id, "Soon", {1, 3}));
  applied_up_to(1, 4);
  // Position 7 is not applied yet; a commit 100 ms later gets there.
  boost::asio::co_spawn(
      io,
      [this]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer t(io, std::chrono::milliseconds(100));
        co_await t.async_wait(boost::asio::use_awaitable);
        applied_up_to(1, 8);
      },
      boost::asio::detached);
  const auto started = std::chrono::steady_clock::now();
  auto r = run(queries->account(id, at({{1, 7}})));
  ASSERT_TRUE(r.value);
  EXPECT_FALSE(r.position_not_reached);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900));
  // Never reached (and this instance is the owner: nobody else to ask): 504, not the old copy.
  auto never = run(queries->account(id, at({{1, 100}})));
  EXPECT_TRUE(never.position_not_reached);
  EXPECT_FALSE(never.value);
}

TEST_F(Routed, AMinPositionQueryNotReachedHereAsksTheOwnerWithItAndNeverFallsBack) {
  const auto id = account_in(2);
  commit(create(id, "Old copy", {2, 1}));  // a copy from an earlier ownership, at position 1
  applied_up_to(2, 2);
  peers.accounts_by_id[{"peer", id}] = ok(domain::Account{id, "Newer", 9, 4, ""});
  auto r = run(queries->account(id, at({{2, 9}})));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.value->name, "Newer");
  EXPECT_EQ(r.served_by, "peer");
  EXPECT_EQ(peers.last_min_position, "2:9");
  // The owner cannot answer past it either: 504, never the older local copy.
  peers.accounts_by_id[{"peer", id}] = with_status<domain::Account>(PeerStatus::failed);
  auto none = run(queries->account(id, at({{2, 9}})));
  EXPECT_TRUE(none.position_not_reached);
  EXPECT_FALSE(none.value);
  // Forwarded here by another instance: answered here or not at all.
  peers.calls.clear();
  auto forwarded = run(queries->account(id, at({{2, 9}}, 1)));
  EXPECT_TRUE(forwarded.position_not_reached);
  EXPECT_TRUE(peers.calls.empty());
  // The old copy is past position 0: that one it may answer, from here.
  auto past = run(queries->account(id, at({{2, 0}})));
  ASSERT_TRUE(past.value);
  EXPECT_EQ(past.value->name, "Old copy");
}

// Standby replicas: a shadow within --max-read-lag answers like the owner, and says so.
TEST_F(Routed, AReadableStandbyAnswersItselfAndALaggingOneForwards) {
  const auto id = account_in(2);
  commit(create(id, "Shadowed", {2, 1}));
  ownership.shadowed = {2, 3};
  ownership.readable = {2};
  ownership.lag = {{2, 0}, {3, 40}};
  auto r = run(queries->account(id, {}));
  ASSERT_TRUE(r.value);
  EXPECT_EQ(r.served_by, "me");
  EXPECT_EQ(r.role, "standby");
  EXPECT_EQ(r.lag, 0);
  EXPECT_FALSE(r.stale);
  EXPECT_TRUE(peers.calls.empty());
  const auto behind = account_in(3);
  peers.accounts_by_id[{"third", behind}] = ok(domain::Account{behind, "At owner", 1, 1, ""});
  auto f = run(queries->account(behind, {}));
  ASSERT_TRUE(f.value);
  EXPECT_EQ(f.served_by, "third");
  EXPECT_EQ(peers.calls, (std::vector<std::string>{"third account " + behind}));
}

}  // namespace
}  // namespace xbanku::app
