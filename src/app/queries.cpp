// Queries: each answered where the routing decision says (see the header).
#include "xbanku/app/queries.hpp"

#include "xbanku/cluster/routing.hpp"
#include "xbanku/common/error.hpp"

#include <algorithm>
#include <iterator>

namespace xbanku::app {
namespace {

using boost::asio::awaitable;
using cluster::Answer;
using cluster::QueryRouting;
using namespace std::chrono_literals;

// How long a min_position query waits for this view to apply the position (then the owner is
// asked, which waits as long): a record acknowledged by Kafka is folded in milliseconds.
constexpr auto kMinPositionWait = 1s;

class Queries final : public QueryService {
 public:
  explicit Queries(QueryDeps deps) : d_(std::move(deps)) {}

  awaitable<QueryResult<domain::Account>> account(std::string id, Origin origin) override {
    co_return co_await routed<domain::Account>(
        partition_of(id), origin, [&] { return d_.store.account(id); },
        [&](const cluster::Owner& o, std::string min_position) {
          return d_.peers.account(o, id, std::move(min_position));
        });
  }

  awaitable<QueryResult<view::HistoryPage>> history(std::string id, std::uint64_t after_seq,
                                                    std::size_t limit, Origin origin) override {
    co_return co_await routed<view::HistoryPage>(
        partition_of(id), origin, [&] { return d_.store.history(id, after_seq, limit); },
        [&](const cluster::Owner& o, std::string min_position) {
          return d_.peers.history(o, id, after_seq, limit, std::move(min_position));
        });
  }

  awaitable<QueryResult<domain::TransferState>> transfer(std::string transfer_id, std::string to,
                                                         Origin origin) override {
    const auto partition = partition_of(to);
    const auto key = domain::transfer_key(partition, transfer_id, domain::TransferSide::target);
    // A transfer within one partition is decided in one record and keeps only its source side;
    // that side being in the target's partition means both accounts are there: completed.
    const auto source_key =
        domain::transfer_key(partition, transfer_id, domain::TransferSide::source);
    auto local = [&]() -> boost::system::result<std::optional<domain::TransferState>> {
      auto target = d_.store.transfer(key);
      if (!target || target->has_value()) return target;
      auto source = d_.store.transfer(source_key);
      if (!source) return source;
      if (*source == domain::TransferState::completed) return *source;
      return std::optional<domain::TransferState>{};
    };
    co_return co_await routed<domain::TransferState>(
        partition, origin, local, [&](const cluster::Owner& o, std::string min_position) {
          return d_.peers.transfer(o, transfer_id, to, std::move(min_position));
        });
  }

  awaitable<QueryResult<view::AccountPage>> accounts(std::string after, std::size_t limit,
                                                     std::string owner, Origin origin) override {
    QueryResult<view::AccountPage> r;
    r.served_by = self();
    const auto& serving = d_.ownership.serving;
    if (origin.forwarded()) {
      // Another instance merges pages: answer for the partitions it expects us to serve.
      const auto wanted = cluster::forwarded_listing(origin.partitions, serving);
      if (!wanted) {
        r.unavailable = true;
        co_return r;
      }
      auto page = local_accounts(after, limit, owner, *wanted);
      if (!page)
        r.error = page.error();
      else
        r.value = std::move(*page);
      co_return r;
    }
    const auto plan = cluster::plan_listing(partitions(), serving,
                                            d_.directory.by_partition(partitions()), self());
    auto local = plan.local;
    r.stale = plan.stale;
    std::vector<domain::Account> merged;
    bool more = false;
    for (const auto& remote : plan.remote) {
      auto reply = co_await d_.peers.accounts(remote.owner, after, limit, remote.partitions, owner);
      if (reply.status != cluster::PeerStatus::ok) {
        local.insert(remote.partitions.begin(), remote.partitions.end());  // our copy of those
        r.stale = true;
        continue;
      }
      r.stale = r.stale || reply.stale;
      more = more || reply.value->next.has_value();
      std::move(reply.value->items.begin(), reply.value->items.end(), std::back_inserter(merged));
    }
    auto own = local_accounts(after, limit, owner, local);
    if (!own) {
      r.error = own.error();
      co_return r;
    }
    more = more || own->next.has_value();
    std::move(own->items.begin(), own->items.end(), std::back_inserter(merged));

    std::sort(merged.begin(), merged.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    merged.erase(std::unique(merged.begin(), merged.end(),
                             [](const auto& a, const auto& b) { return a.id == b.id; }),
                 merged.end());
    view::AccountPage out;
    if (merged.size() > limit) {
      merged.resize(limit);
      more = true;
    }
    if (more && !merged.empty()) out.next = merged.back().id;
    out.items = std::move(merged);
    r.value = std::move(out);
    co_return r;
  }

  awaitable<QueryResult<domain::Outcome>> command(std::string command_id, std::string principal,
                                                  std::chrono::milliseconds wait, Origin origin,
                                                  std::optional<std::int32_t> partition) override {
    QueryResult<domain::Outcome> r;
    r.served_by = self();
    // With a partition, only the key's outcome in that scope: the instance that wrote a record
    // there waits for that record, and the same key may name another request in another
    // partition (which it must not take for its own: DESIGN §2).
    auto found = d_.waits.lookup(command_id, principal, partition);
    if (!found) {
      r.error = found.error();
      co_return r;
    }
    r.value = std::move(*found);
    if (!r.value && wait.count() > 0) {
      // A read-your-writes wait forwarded by the instance that produced the command.
      auto ticket = d_.waits.expect(command_id, principal, partition);
      const auto deadline = OutcomeWaits::Clock::now() + std::min(wait, kMaxCommandWait);
      r.value = (co_await ticket.wait_until(deadline)).outcome;
    }
    if (origin.forwarded()) {
      // The asker combines the instances' answers; our "not found" counts only for partitions
      // we serve, so say we cannot answer while any of ours (or the one asked about) is still
      // catching up.
      const auto& own = d_.ownership;
      r.unavailable = !r.value && (partition ? !own.serving.contains(*partition)
                                             : own.serving.size() < own.assigned.size());
      co_return r;
    }
    if (r.value) {
      co_await resolve_across(*r.value);
      co_return r;
    }
    co_return co_await command_elsewhere(command_id, principal, partition);
  }

 private:
  std::int32_t partitions() const noexcept { return d_.placement.partitions; }
  std::int32_t partition_of(std::string_view account) const noexcept {
    return d_.placement.partition_of(account);
  }
  const std::string& self() const { return d_.directory.self(); }

  // A query with min_position: from this view once it has applied past the position (waiting
  // for it while this instance owns or shadows the partition), else from the owner asked with
  // the position, else 504. Never the stale fallback: that copy may be older than the client's
  // own write.
  template <typename T, typename Read, typename Ask>
  awaitable<QueryResult<T>> at_position(std::int32_t partition, std::int64_t offset,
                                        const Origin& origin, Read& read, Ask& ask) {
    QueryResult<T> r;
    r.served_by = self();
    const auto& own = d_.ownership;
    bool here = d_.positions != nullptr && d_.positions->applied(partition, offset);
    auto how = PositionWaits::Answered::applied;
    if (!here && d_.positions != nullptr && own.folds(partition)) {
      here = co_await d_.positions->reached(partition, offset,
                                            PositionWaits::Clock::now() + kMinPositionWait);
      how = PositionWaits::Answered::waited;
    }
    auto count = [&](PositionWaits::Answered h) {
      if (d_.positions != nullptr) d_.positions->count(h);
    };
    if (here) {
      count(how);
      auto local = read();
      if (!local) {
        r.error = local.error();
        co_return r;
      }
      r.value = std::move(*local);
      r.role = own.role(partition);
      if (r.role == "none") r.role.clear();
      if (const auto lag = own.lag.find(partition); lag != own.lag.end() && r.role == "standby")
        r.lag = lag->second;
      co_return r;
    }
    const auto owner = d_.directory.owner(partition);
    if (!origin.forwarded() && owner && owner->instance != self()) {
      auto reply = co_await ask(*owner, domain::to_token(origin.min_position));
      if (reply.answered() && !reply.stale) {  // a stale copy is no answer past a position
        count(PositionWaits::Answered::owner);
        r.value = std::move(reply.value);
        r.served_by = std::move(reply.served_by);
        r.role = std::move(reply.role);
        r.lag = reply.lag;
        co_return r;
      }
    }
    count(PositionWaits::Answered::not_reached);
    r.position_not_reached = true;
    co_return r;
  }

  // Drives QueryRouting for a query of one partition: `read` the view, or `ask` the owner.
  template <typename T, typename Read, typename Ask>
  awaitable<QueryResult<T>> routed(std::int32_t partition, const Origin& origin, Read read,
                                   Ask ask) {
    if (const auto offset = domain::offset_in(origin.min_position, partition)) {
      co_return co_await at_position<T>(partition, *offset, origin, read, ask);
    }
    QueryResult<T> r;
    r.served_by = self();
    // A standby within --max-read-lag answers what it has (DESIGN §8): a dead owner leaves no
    // gap, and no hop is needed while it lives. What it does not have yet (an account created
    // a moment ago at the owner) is not a definite "not found": that is asked of the owner as
    // without a standby.
    const auto& own = d_.ownership;
    if (!own.serving.contains(partition) && own.readable.contains(partition)) {
      auto local = read();
      if (!local) {
        r.error = local.error();
        co_return r;
      }
      if (local->has_value()) {
        r.value = std::move(*local);
        r.role = "standby";
        if (const auto lag = own.lag.find(partition); lag != own.lag.end()) r.lag = lag->second;
        co_return r;
      }
    }
    QueryRouting routing(own.serving.contains(partition), origin.forwarded(),
                         d_.directory.owner(partition), self());
    while (routing.next() != QueryRouting::Step::done) {
      if (routing.next() == QueryRouting::Step::forward) {
        auto reply = co_await ask(routing.target(), std::string{});
        routing.on_peer(reply.answered());
        if (reply.answered()) {
          r.value = std::move(reply.value);
          r.served_by = std::move(reply.served_by);
          r.stale = reply.stale;
          r.role = std::move(reply.role);
          r.lag = reply.lag;
        }
        continue;
      }
      auto local = read();
      if (!local) {
        r.error = local.error();
        co_return r;
      }
      routing.on_local(local->has_value());
      r.value = std::move(*local);
      if (own.folds(partition)) r.role = own.role(partition);
      if (const auto lag = own.lag.find(partition); lag != own.lag.end() && r.role == "standby")
        r.lag = lag->second;
    }
    r.stale = r.stale || routing.answer() == Answer::stale;
    r.unavailable = routing.answer() == Answer::unavailable;
    co_return r;
  }

  // Accounts after `after` in the given partitions of the local view (up to `limit`), only
  // `owner`'s when one is named.
  boost::system::result<view::AccountPage> local_accounts(
      const std::string& after, std::size_t limit, const std::string& owner,
      const std::set<std::int32_t>& parts) const {
    view::AccountPage out;
    if (parts.empty()) return out;
    const bool all = static_cast<std::int32_t>(parts.size()) == partitions();
    std::string cursor = after;
    while (true) {
      const std::size_t chunk = all ? limit : std::max<std::size_t>(limit, 256);
      auto page = owner.empty() ? d_.store.accounts(cursor, chunk)
                                : d_.store.accounts_of(owner, cursor, chunk);
      if (!page) return page.error();
      for (auto& a : page->items) {
        if (!all && !parts.contains(partition_of(a.id))) continue;
        if (out.items.size() == limit) {  // one more exists: there is a next page
          out.next = out.items.back().id;
          return out;
        }
        out.items.push_back(std::move(a));
      }
      if (!page->next) return out;
      if (all) {
        out.next = std::move(page->next);
        return out;
      }
      cursor = std::move(*page->next);
    }
  }

  // A cross-partition transfer completes in its target's partition; when another instance
  // serves that partition, ask it (the refund, in the source's partition, is known here).
  awaitable<void> resolve_across(domain::Outcome& o) {
    if (o.type != domain::EventType::transfer || o.status != domain::Status::pending ||
        o.transfer_id.empty() || o.to.empty()) {
      co_return;
    }
    const auto target = partition_of(o.to);
    if (d_.ownership.answers(target)) {  // the outcome may come from another instance
      o = d_.waits.resolve(std::move(o));
      co_return;
    }
    auto owner = d_.directory.owner(target);
    if (!owner || owner->instance == self()) co_return;
    auto reply = co_await d_.peers.transfer(*owner, o.transfer_id, o.to, std::string{});
    if (reply.value == domain::TransferState::completed) o.status = domain::Status::completed;
  }

  // Every other owner is asked; "not found" only once every partition is covered.
  awaitable<QueryResult<domain::Outcome>> command_elsewhere(const std::string& command_id,
                                                            const std::string& principal,
                                                            std::optional<std::int32_t> partition) {
    QueryResult<domain::Outcome> r;
    r.served_by = self();
    const auto owners = d_.directory.by_partition(partitions());
    cluster::CommandLookup lookup(partitions(), d_.ownership.serving);
    std::vector<cluster::Owner> asked;
    for (const auto& owner : owners) {
      if (!owner || owner->instance == self()) continue;
      if (std::find(asked.begin(), asked.end(), *owner) != asked.end()) continue;
      asked.push_back(*owner);
      auto reply = co_await d_.peers.command(*owner, command_id, principal,
                                             std::chrono::milliseconds(0), partition);
      if (reply.status == cluster::PeerStatus::ok) {
        co_await resolve_across(*reply.value);
        r.value = std::move(reply.value);
        r.served_by = std::move(reply.served_by);
        co_return r;
      }
      if (reply.status == cluster::PeerStatus::not_found)
        lookup.owner_said_not_found(*owner, owners);
    }
    r.unavailable = !lookup.complete();
    co_return r;
  }

  QueryDeps d_;
};

}  // namespace

std::unique_ptr<QueryService> make_queries(QueryDeps deps) {
  return std::make_unique<Queries>(std::move(deps));
}

}  // namespace xbanku::app
