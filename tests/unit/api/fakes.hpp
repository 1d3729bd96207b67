#pragma once
// In-memory stand-ins for the app/ ports, so the API layer is tested with no Kafka and no
// RocksDB. They follow DESIGN §2 closely enough for the HTTP/WS mappings to be exercised, and
// let a test force each CommandReply kind. Used only on the server's io_context thread.

#include "xbanku/app/ports.hpp"
#include "xbanku/common/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace xbanku::api::testing {

class FakeBank final : public app::CommandService, public app::QueryService {
 public:
  enum class Mode { normal, pending, unavailable, uncertain, shutting_down, throws };
  Mode mode = Mode::normal;
  std::chrono::milliseconds delay{0};  // simulated Kafka + projection latency
  std::vector<domain::Event> received;
  std::vector<bool> waits;
  std::map<std::string, domain::Account> accts;
  std::map<std::string, domain::Outcome> outcomes;  // by command id
  std::map<std::string, std::vector<view::HistoryItem>> hist;
  std::int64_t next_offset = 0;
  std::string served_by;

  boost::asio::awaitable<app::CommandReply> execute(domain::Event e, bool wait) override {
    if (delay.count() > 0) {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, delay);
      co_await t.async_wait(boost::asio::use_awaitable);
    }
    if (mode == Mode::throws) throw std::runtime_error("secret internal detail");
    received.push_back(e);
    waits.push_back(wait);
    app::CommandReply r;
    r.served_by = served_by;
    switch (mode) {
      case Mode::unavailable: r.error = errc::log_unavailable; co_return r;
      case Mode::uncertain: r.error = errc::log_possibly_persisted; co_return r;
      case Mode::shutting_down: r.error = errc::shutting_down; co_return r;
      default: break;
    }
    if (auto it = outcomes.find(e.command_id); it != outcomes.end()) {
      r.kind = app::CommandReply::Kind::projected;
      r.where = {e.command_id, it->second.pos.partition, it->second.pos.offset};
      r.outcome = it->second;
      co_return r;
    }
    r.where = {e.command_id, 0, next_offset};
    domain::Outcome out = apply(e, {0, next_offset++});
    outcomes[e.command_id] = out;
    if (mode == Mode::pending) {
      r.kind = app::CommandReply::Kind::pending;
    } else if (!wait) {
      r.kind = app::CommandReply::Kind::accepted;
    } else {
      r.kind = app::CommandReply::Kind::projected;
      r.outcome = out;
    }
    co_return r;
  }

  boost::asio::awaitable<app::QueryResult<domain::Account>> account(std::string id,
                                                                    app::Origin origin) override {
    last_origin = origin;
    app::QueryResult<domain::Account> q;
    q.served_by = served_by;
    if (store_failure) {
      q.error = make_error_code(errc::store_error);
      co_return q;
    }
    if (auto it = accts.find(id); it != accts.end()) q.value = it->second;
    q.stale = stale;
    q.unavailable = unavailable;
    co_return q;
  }
  boost::asio::awaitable<app::QueryResult<view::AccountPage>> accounts(
      std::string after, std::size_t limit, std::string owner, app::Origin origin) override {
    last_origin = origin;
    last_limit = limit;
    last_owner = owner;
    app::QueryResult<view::AccountPage> q;
    q.value.emplace();
    auto it = after.empty() ? accts.begin() : accts.upper_bound(after);
    for (; it != accts.end() && q.value->items.size() < limit; ++it)
      if (owner.empty() || it->second.owner == owner) q.value->items.push_back(it->second);
    if (it != accts.end() && !q.value->items.empty()) q.value->next = q.value->items.back().id;
    co_return q;
  }
  boost::asio::awaitable<app::QueryResult<view::HistoryPage>> history(std::string id,
                                                                      std::uint64_t after,
                                                                      std::size_t limit,
                                                                      app::Origin origin) override {
    last_origin = origin;
    app::QueryResult<view::HistoryPage> q;
    if (!accts.count(id)) co_return q;
    q.value.emplace();
    const auto& h = hist[id];
    std::size_t i = 0;
    if (after != 0) {
      while (i < h.size() && h[i].seq != after) ++i;
      ++i;
    }
    for (; i < h.size() && q.value->items.size() < limit; ++i) q.value->items.push_back(h[i]);
    if (i < h.size()) q.value->next = q.value->items.back().seq;
    co_return q;
  }
  boost::asio::awaitable<app::QueryResult<domain::Outcome>> command(
      std::string command_id, std::string principal, std::chrono::milliseconds wait,
      app::Origin origin, std::optional<std::int32_t> partition) override {
    last_origin = origin;
    last_wait = wait;
    last_principal = principal;
    last_partition = partition;
    if (hold_command_queries && wait.count() > 0) {
      // As a read-your-writes wait does: nothing until `wait` passes, or the request is
      // cancelled (its client went away).
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, wait);
      try {
        co_await t.async_wait(boost::asio::use_awaitable);
      } catch (const boost::system::system_error&) {
        ++command_waits_cancelled;
        throw;
      }
    }
    app::QueryResult<domain::Outcome> q;
    if (auto it = outcomes.find(command_id); it != outcomes.end()) q.value = it->second;
    co_return q;
  }
  boost::asio::awaitable<app::QueryResult<domain::TransferState>> transfer(
      std::string transfer_id, std::string to, app::Origin origin) override {
    last_origin = origin;
    app::QueryResult<domain::TransferState> q;
    if (auto it = transfers.find(transfer_id); it != transfers.end() && it->second.first == to) {
      q.value = it->second.second;
    }
    co_return q;
  }

  std::map<std::string, std::pair<std::string, domain::TransferState>>
      transfers;               // id → (to, state)
  bool store_failure = false;  // set: account() finds the view unreadable
  app::Origin last_origin;
  std::chrono::milliseconds last_wait{0};
  bool stale = false;
  bool unavailable = false;
  std::size_t last_limit = 0;
  std::string last_owner;
  bool hold_command_queries = false;  // command() waits its whole `wait`
  int command_waits_cancelled = 0;
  std::string last_principal;
  std::optional<std::int32_t> last_partition;  // of the last command()

 private:
  void add_history(const std::string& id, const domain::Event& e, domain::RecordPos pos,
                   const std::string& counterparty) {
    view::HistoryItem item;
    item.entry.pos = pos;
    item.entry.type = e.type;
    item.entry.amount = e.amount;
    item.entry.balance_after = accts[id].balance;
    item.entry.counterparty = counterparty;
    item.entry.command_id = e.command_id;
    item.seq = static_cast<std::uint64_t>(pos.offset);
    hist[id].push_back(item);
  }

  domain::Outcome apply(const domain::Event& e, domain::RecordPos pos) {
    using domain::Reason;
    using domain::Status;
    domain::Outcome o;
    o.command_id = e.command_id;
    o.type = e.type;
    o.pos = pos;
    o.account_id = e.acc_id;
    // What the request asked for, as the rules record it (the key is bound to it).
    if (e.type == domain::EventType::create) {
      o.name = e.acc_name;
    } else {
      o.amount = e.amount;
    }
    if (e.type == domain::EventType::transfer) {
      o.from = e.acc_id;
      o.to = e.target_id;
    }
    auto reject = [&](Reason r) {
      o.status = Status::rejected;
      o.reason = r;
      return o;
    };
    auto it = accts.find(e.acc_id);
    switch (e.type) {
      case domain::EventType::create:
        if (it != accts.end()) return reject(Reason::account_exists);
        accts[e.acc_id] = domain::Account{e.acc_id, e.acc_name, 0, 1};
        accts[e.acc_id].owner = e.principal;
        add_history(e.acc_id, e, pos, {});
        break;
      case domain::EventType::deposit:
        if (it == accts.end()) return reject(Reason::account_not_found);
        if (it->second.balance > INT64_MAX - e.amount) return reject(Reason::balance_overflow);
        it->second.balance += e.amount;
        ++it->second.version;
        add_history(e.acc_id, e, pos, {});
        break;
      case domain::EventType::withdraw:
        if (it == accts.end()) return reject(Reason::account_not_found);
        if (it->second.balance < e.amount) return reject(Reason::insufficient_funds);
        it->second.balance -= e.amount;
        ++it->second.version;
        add_history(e.acc_id, e, pos, {});
        break;
      case domain::EventType::transfer: {
        if (it == accts.end()) return reject(Reason::account_not_found);
        if (e.acc_id == e.target_id) return reject(Reason::same_account);
        if (it->second.balance < e.amount) return reject(Reason::insufficient_funds);
        auto t = accts.find(e.target_id);
        if (t == accts.end()) return reject(Reason::target_not_found);
        it->second.balance -= e.amount;
        ++it->second.version;
        t->second.balance += e.amount;
        ++t->second.version;
        o.transfer_id = e.command_id;
        o.from = e.acc_id;
        o.to = e.target_id;
        add_history(e.acc_id, e, pos, e.target_id);
        add_history(e.target_id, e, pos, e.acc_id);
        break;
      }
      default: return reject(Reason::unknown_type);
    }
    o.status = domain::Status::applied;
    o.account = accts[e.acc_id];
    return o;
  }
};

class FakeFeed final : public app::UpdateFeed {
 public:
  std::uint64_t subscribe(Listener l) override {
    listeners[++next] = std::move(l);
    return next;
  }
  void unsubscribe(std::uint64_t token) override { listeners.erase(token); }
  void client_subscriptions(std::ptrdiff_t delta) override { clients += delta; }
  void push(const app::AccountUpdate& u) {
    for (auto& [t, l] : listeners) l(u);
  }
  std::map<std::uint64_t, Listener> listeners;
  std::uint64_t next = 0;
  std::ptrdiff_t clients = 0;
};

// GET /cluster and /dlq: a fixed cluster, and dead letters from a vector (offset = index).
class FakeInspector final : public app::Inspector {
 public:
  app::ClusterInfo info;
  std::vector<app::DeadLetterInfo> letters;
  boost::system::error_code fail;  // answered by dead_letters() when set
  std::int64_t last_after = -2;
  bool last_local_only = false;

  boost::asio::awaitable<app::ClusterInfo> cluster(bool local_only) override {
    last_local_only = local_only;
    co_return info;
  }
  boost::asio::awaitable<boost::system::result<app::DeadLetterPage>> dead_letters(
      std::int64_t after, std::size_t limit) override {
    last_after = after;
    if (fail) co_return fail;
    app::DeadLetterPage page;
    for (auto i = static_cast<std::size_t>(after + 1); i < letters.size(); ++i) {
      if (page.letters.size() == limit) {
        page.next = page.letters.back().offset;
        break;
      }
      page.letters.push_back(letters[i]);
    }
    co_return page;
  }
};

class FakeHealth final : public app::Health {
 public:
  bool is_ready = true;
  bool ready() const override { return is_ready; }
  std::string describe() const override {
    return is_ready ? R"({"ready":true,"partitions":{}})"
                    : R"({"ready":false,"partitions":{"0":"catching_up"}})";
  }
};

}  // namespace xbanku::api::testing
