#include "xbanku/app/service.hpp"

#include "xbanku/api/config.hpp"
#include "xbanku/api/operations.hpp"
#include "xbanku/api/server.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/app/kafka_settings.hpp"
#include "xbanku/app/membership.hpp"
#include "xbanku/app/projection.hpp"
#include "xbanku/app/wait_group.hpp"
#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/cluster/peer_feed.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/domain/codec.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/log/consumer.hpp"
#include "xbanku/log/producer.hpp"
#include "xbanku/metrics/registry.hpp"
#include "xbanku/mirror/mirror.hpp"
#include "xbanku/mirror/redis_config.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

namespace xbanku::app {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

constexpr auto kPollWait = 50ms;               // longest the projector waits for a record
constexpr auto kOffsetCommitInterval = 1s;     // Kafka's committed offsets are for lag tools only
constexpr std::size_t kRelayBatch = 512;       // outbox entries sent per round
constexpr auto kShutdownFlush = 5s;            // producer flush bound on a clean stop
constexpr auto kForwardTimeout = 2s;           // a query forwarded to a partition's owner
constexpr auto kOwnerRetry = 100ms;            // a read-your-writes wait looking for an owner

std::exception_ptr log_exception(std::string_view what, std::exception_ptr e) {
  if (e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::critical("{} failed: {}", what, ex.what());
    }
  }
  return e;
}


// The service: the ports the API calls, and the loops that keep the view up to date.
class Service final : public CommandService, public QueryService, public UpdateFeed, public Health {
 public:
  Service(asio::any_io_executor ex, const Config& config, std::unique_ptr<view::Store> store,
          std::int32_t partitions)
      : ex_(ex),
        config_(config),
        store_(std::move(store)),
        projection_(*store_, domain::Placement{partitions}),
        peers_(ex),
        feed_tasks_(ex),
        relay_wake_(ex) {
    auto& r = registry_;
    for (const char* result : {"applied", "rejected", "duplicate", "dead_lettered", "skipped"}) {
      records_[result] = &r.counter("xbanku_records_total", "Records folded into the view by result",
                                    {{"result", result}});
    }
    consumed_ = &r.counter("xbanku_records_consumed_total",
                           "Records received from Kafka by the projector, before any skipping");
    batch_seconds_ = &r.histogram("xbanku_projection_batch_seconds",
                                  "Time to fold and commit one consumed batch", metrics::latency_buckets());
    outbox_pending_ = &r.gauge("xbanku_outbox_pending", "Follow-up events not yet acknowledged by Kafka");
    mirror_lag_ = &r.gauge("xbanku_mirror_lag", "Accounts whose latest state Redis does not have yet");
    assigned_ = &r.gauge("xbanku_assigned_partitions", "Partitions this instance projects");
    for (const char* result : {"ok", "failed"}) {
      forwards_[result] = &r.counter("xbanku_forwarded_requests_total",
                                     "Queries and read-your-writes waits sent to another instance",
                                     {{"result", result}});
    }
    lag_help_ = "Records between the view's next offset and the partition's high watermark";
  }

  metrics::Registry& registry() { return registry_; }

  // ---- start-up ----
  // `self` names this instance in X-Served-By and on `<topic>.members`; `url` is how peers
  // reach it.
  boost::system::error_code start(std::string self, std::string url) {
    self_ = std::move(self);
    url_ = std::move(url);
    auto producer = log::Producer::create(ex_, kafka_settings(config_, "producer"));
    if (!producer) return producer.error();
    producer_ = std::move(*producer);
    membership_ = std::make_unique<Membership>(ex_, kafka_settings(config_, "members"), members_topic(config_),
                                               self_, url_, *producer_);

    log::ConsumerConfig cc;
    cc.kafka = kafka_settings(config_, "projector");
    cc.group = config_.group;
    cc.topic = config_.topic;
    cc.instance_id = config_.instance_id;
    cc.session_timeout = config_.session_timeout;
    log::RebalanceHandler handler{
        [this](const std::vector<std::int32_t>& p) { return on_assign(p); },
        [this](const std::vector<std::int32_t>& p) { on_revoke(p); }};
    auto consumer = log::Consumer::create(ex_, cc, std::move(handler));
    if (!consumer) return consumer.error();
    consumer_ = std::move(*consumer);

    if (!config_.redis_url.empty()) {
      auto redis = mirror::parse_redis_url(config_.redis_url);
      if (!redis) return redis.error();
      mirror::MirrorSource source{
          [this](std::size_t limit) {
            auto owed = store_->owed(limit);
            return owed ? std::move(*owed) : std::vector<domain::Account>{};
          },
          [this](std::span<const std::pair<std::string, std::uint64_t>> done) {
            if (auto ec = store_->mark_mirrored(done)) spdlog::error("mirror: cannot mark mirrored: {}", ec.message());
          },
          [this] {
            auto n = store_->owed_count();
            return n ? static_cast<std::size_t>(*n) : std::size_t{0};
          }};
      mirror_ = std::make_unique<mirror::Mirror>(ex_, *redis, std::move(source));
    }
    return {};
  }

  // ---- CommandService ----
  awaitable<CommandReply> execute(domain::Event event, bool wait) override {
    CommandReply reply;
    reply.served_by = self_;
    if (stopping_) {
      reply.error = errc::shutting_down;
      co_return reply;
    }
    // A repeat of a projected command answers its first outcome and writes nothing.
    if (auto first = store_->outcome(event.command_id); first && first->has_value()) {
      reply.kind = CommandReply::Kind::projected;
      reply.where = {event.command_id, (*first)->pos.partition, (*first)->pos.offset};
      reply.outcome = resolve(std::move(**first));
      co_return reply;
    }
    // Register before producing: the projector may apply the record before the ack arrives.
    Waiter waiter(ex_, config_.command_wait);
    const auto deadline = std::chrono::steady_clock::now() + config_.command_wait;
    auto registration = waiters_.emplace(event.command_id, &waiter);
    struct Unregister {
      std::unordered_multimap<std::string, Waiter*>& map;
      decltype(registration) it;
      ~Unregister() { map.erase(it); }
    } unregister{waiters_, registration};

    const auto delivery = co_await producer_->send(config_.topic, event.acc_id, domain::encode(event));
    if (!delivery) {
      reply.error = delivery.error();
      co_return reply;
    }
    reply.where = {event.command_id, delivery->partition, delivery->offset};
    if (!wait) {
      reply.kind = CommandReply::Kind::accepted;
      co_return reply;
    }
    // Read-your-writes: here if this instance projects the partition, else at its owner (§8).
    while (!waiter.outcome && !stopping_) {
      if (assigned_parts_.contains(delivery->partition)) {
        waiter.rerouted = false;
        co_await waiter.timer.async_wait(asio::as_tuple(use_awaitable));
        if (!waiter.rerouted) break;  // projected, or the bound passed
        waiter.timer.expires_at(deadline);  // the partition moved away: wait at its new owner
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      if (auto owner = membership_->owner(delivery->partition); owner && owner->instance != self_) {
        const auto target = fmt::format("/commands/{}?wait_ms={}", cluster::percent_encode(event.command_id),
                                        remaining.count());
        auto res = co_await peers_.get(owner->url, target, 1, remaining + kForwardTimeout);
        count_forward(res.has_value() && (res->status == 200 || res->status == 404));
        if (res && res->status == 200) {
          boost::system::error_code ec;
          const auto body = boost::json::parse(res->body, ec);
          auto outcome = ec ? std::nullopt : api::outcome_from_json(body);
          if (outcome) {
            waiter.outcome = std::move(outcome);
            reply.served_by = res->served_by;
          } else {
            spdlog::warn("forwarding: {} answered an unreadable outcome for {}", owner->instance, event.command_id);
          }
          break;
        }
        // 404: the owner waited until our deadline (or lost the partition meanwhile: go on).
        if (res && res->status == 404 && std::chrono::steady_clock::now() + kOwnerRetry >= deadline) break;
      }
      // No owner known (a rebalance is under way), or it did not answer: look again shortly.
      co_await sleep(std::min<std::chrono::milliseconds>(
          kOwnerRetry, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
    }
    if (waiter.outcome) {
      reply.kind = CommandReply::Kind::projected;
      reply.outcome = std::move(waiter.outcome);
    } else {
      reply.kind = CommandReply::Kind::pending;
    }
    co_return reply;
  }

  // ---- QueryService ----
  // A query for one partition is answered here when this instance serves it (assigned and
  // caught up), else forwarded to the owner announced on `<topic>.members` — unless it was
  // itself forwarded. If no owner answers, the local copy answers marked stale; without one,
  // 503: a partition between owners never gives a wrong "not found".
  awaitable<QueryResult<domain::Account>> account(std::string id, Origin origin) override {
    const auto target = "/accounts/" + id;
    const LocalRead<domain::Account> read = [&] {
      auto a = store_->account(id);
      if (!a) throw boost::system::system_error(a.error(), "account read");
      return std::move(*a);
    };
    co_return co_await routed(partition_of(id), origin, target, read);
  }

  awaitable<QueryResult<Page<domain::Account>>> accounts(std::string after, std::size_t limit,
                                                          Origin origin) override {
    QueryResult<Page<domain::Account>> r;
    r.served_by = self_;
    // Which partitions this instance answers for, and which other instances to ask.
    if (origin.forwarded()) {
      // Another instance merges pages: answer for the partitions it expects us to serve, or not at all.
      // Without a list, answer for every partition served here.
      const std::set<std::int32_t> wanted = origin.partitions.empty()
                                                ? serving_
                                                : std::set<std::int32_t>(origin.partitions.begin(), origin.partitions.end());
      if (!std::all_of(wanted.begin(), wanted.end(), [&](auto p) { return serving_.contains(p); })) {
        r.unavailable = true;
        co_return r;
      }
      r.value = local_accounts(after, limit, wanted);
      co_return r;
    }
    std::set<std::int32_t> local(serving_.begin(), serving_.end());
    std::map<std::string, std::vector<std::int32_t>> remote;  // url → partitions
    for (std::int32_t p = 0; p < partitions(); ++p) {
      if (serving_.contains(p)) continue;
      auto owner = membership_->owner(p);
      if (owner && owner->instance != self_) {
        remote[owner->url].push_back(p);
      } else {
        local.insert(p);
        r.stale = true;
      }
    }
    std::vector<domain::Account> merged;
    bool more = false;
    for (const auto& [url, parts] : remote) {
      const auto query = fmt::format("/accounts?limit={}{}{}&partitions={}", limit, after.empty() ? "" : "&after=",
                                     after, fmt::join(parts, ","));
      auto res = co_await peers_.get(url, query, origin.hops + 1, kForwardTimeout);
      count_forward(res.has_value() && res->status == 200);
      auto page = res && res->status == 200 ? parse_account_page(res->body) : std::nullopt;
      if (!page) {
        local.insert(parts.begin(), parts.end());  // fall back to our copy of those partitions
        r.stale = true;
        continue;
      }
      r.stale = r.stale || (res && res->stale);
      more = more || page->next.has_value();
      std::move(page->items.begin(), page->items.end(), std::back_inserter(merged));
    }
    auto own = local_accounts(after, limit, local);
    more = more || own.next.has_value();
    std::move(own.items.begin(), own.items.end(), std::back_inserter(merged));

    std::sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    merged.erase(std::unique(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.id == b.id; }),
                 merged.end());
    Page<domain::Account> out;
    if (merged.size() > limit) {
      merged.resize(limit);
      more = true;
    }
    if (more && !merged.empty()) out.next = merged.back().id;
    out.items = std::move(merged);
    r.value = std::move(out);
    co_return r;
  }

  awaitable<QueryResult<Page<HistoryItem>>> history(std::string id, std::string after, std::size_t limit,
                                                    Origin origin) override {
    const auto target = fmt::format("/accounts/{}/events?limit={}{}{}", id, limit, after.empty() ? "" : "&after=",
                                    cluster::percent_encode(after));
    const LocalRead<Page<HistoryItem>> read = [&]() -> std::optional<Page<HistoryItem>> {
      std::uint64_t after_seq = 0;
      if (!after.empty()) after_seq = std::stoull(after);  // the API validated it as digits
      auto page = store_->history(id, after_seq, limit);
      if (!page) throw boost::system::system_error(page.error(), "history read");
      if (!page->has_value()) return std::nullopt;
      Page<HistoryItem> out;
      for (auto& item : (*page)->items) {
        out.items.push_back(HistoryItem{std::move(item.entry), std::to_string(item.seq)});
      }
      if ((*page)->next) out.next = std::to_string(*(*page)->next);
      return out;
    };
    co_return co_await routed(partition_of(id), origin, target, read);
  }

  awaitable<QueryResult<domain::Outcome>> command(std::string command_id, std::chrono::milliseconds wait,
                                                  Origin origin) override {
    QueryResult<domain::Outcome> r;
    r.served_by = self_;
    auto o = store_->outcome(command_id);
    if (!o) throw boost::system::system_error(o.error(), "outcome read");
    if (o->has_value()) {
      r.value = resolve(std::move(**o));
    } else if (wait.count() > 0) {
      // A read-your-writes wait forwarded by the instance that produced the command.
      Waiter waiter(ex_, std::min(wait, api::kMaxCommandWait));
      auto registration = waiters_.emplace(command_id, &waiter);
      co_await waiter.timer.async_wait(asio::as_tuple(use_awaitable));
      waiters_.erase(registration);
      r.value = std::move(waiter.outcome);
    }
    if (origin.forwarded()) {
      // The asker combines the instances' answers; our "not found" counts only for partitions
      // we serve, so say we cannot answer while any of ours is still catching up.
      r.unavailable = !r.value && serving_.size() < assigned_parts_.size();
      co_return r;
    }
    if (r.value) {
      co_await resolve_across(*r.value);
      co_return r;
    }
    co_return co_await command_elsewhere(command_id);
  }

  awaitable<QueryResult<domain::TransferState>> transfer(std::string transfer_id, std::string to,
                                                         Origin origin) override {
    const auto target = fmt::format("/transfers/{}?to={}", cluster::percent_encode(transfer_id), to);
    const LocalRead<domain::TransferState> read = [&] {
      auto t = store_->transfer(domain::transfer_key(transfer_id, domain::TransferSide::target));
      if (!t) throw boost::system::system_error(t.error(), "transfer read");
      return *t;
    };
    co_return co_await routed(partition_of(to), origin, target, read);
  }

  // ---- UpdateFeed ----
  std::uint64_t subscribe(Listener listener) override {
    listeners_.emplace(++next_token_, std::move(listener));
    return next_token_;
  }
  void unsubscribe(std::uint64_t token) override { listeners_.erase(token); }

  // ---- Health ----
  bool ready() const override {
    // Before its first assignment the instance knows nothing of the group (a killed
    // predecessor may still hold every partition until its session times out): not ready.
    if (!consumer_ || stopping_ || !assigned_once_) return false;
    const auto assigned = consumer_->assignment();
    // No partition (e.g. lost with the group coordinator) means nothing is served from here.
    // An instance of a group with more members than partitions is never ready: it owns nothing.
    if (assigned.empty()) return false;
    const auto lag = consumer_->lag(current_offsets(assigned));
    for (auto p : assigned) {
      auto it = lag.find(p);
      if (it == lag.end() || it->second > 0) return false;  // unknown watermark = not caught up yet
    }
    return true;
  }

  std::string describe() const override {
    std::string parts;
    if (consumer_) {
      const auto assigned = consumer_->assignment();
      const auto lag = consumer_->lag(current_offsets(assigned));
      for (auto p : assigned) {
        auto it = lag.find(p);
        if (!parts.empty()) parts += ',';
        parts += it == lag.end() ? fmt::format("\"{}\":null", p) : fmt::format("\"{}\":{}", p, it->second);
      }
    }
    return fmt::format(R"({{"ready":{},"instance":"{}","serving":[{}],"lag":{{{}}}}})", ready() ? "true" : "false",
                       self_, fmt::join(serving_, ","), parts);
  }

  // ---- the loops ----
  awaitable<void> run_projector() {
    std::vector<RawRecord> raw;
    auto last_offset_commit = std::chrono::steady_clock::now();
    while (!stopping_) {
      auto batch = co_await consumer_->next(kPollWait);
      if (!batch) {
        if (batch.error() == errc::shutting_down) break;
        spdlog::warn("projector: poll failed: {}", batch.error().message());
        co_await sleep(100ms);
        continue;
      }
      if (!batch->empty()) {
        const auto started = std::chrono::steady_clock::now();
        raw.clear();
        for (const auto& r : batch->records()) raw.push_back({r.partition, r.offset, r.key, r.value});
        const bool committed = co_await project(raw);  // named: GCC 12 miscompiles co_await in a condition
        if (!committed) {
          failed_ = true;
          break;  // a store failure stops the service; a restart replays from the stored offsets
        }
        batch_seconds_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      update_serving();
      if (std::chrono::steady_clock::now() - last_offset_commit >= kOffsetCommitInterval) {
        last_offset_commit = std::chrono::steady_clock::now();
        co_await commit_kafka_offsets();
        update_gauges();
      }
    }
    co_await commit_kafka_offsets();
    // Retract our claims first: with static membership the group keeps our partitions until the
    // session times out, and peers must not forward to an instance that is going away.
    co_await membership_->announce_now({});
    serving_.clear();
    co_await consumer_->close();
    assigned_parts_.clear();
    spdlog::info("projector: stopped");
    if (failed_) stop_background();
  }

  awaitable<void> run_relay() {
    while (true) {
      auto entries = store_->outbox(kRelayBatch);
      if (!entries) {
        spdlog::error("relay: cannot read the outbox: {}", entries.error().message());
      } else if (!entries->empty()) {
        outbox_pending_->set(static_cast<double>(entries->size()));
        co_await relay(*entries);
        // On a stop, one round is enough: what is left stays in RocksDB and is sent on restart.
        if (!stopping_) continue;
      } else {
        outbox_pending_->set(0);
      }
      if (stopping_) break;
      relay_wake_.expires_after(1s);
      co_await relay_wake_.async_wait(asio::as_tuple(use_awaitable));
    }
    spdlog::info("relay: stopped");
  }

  // ---- shutdown ----
  // First stop the front door: the server stops accepting and gives in-flight requests their
  // grace period, while the projector keeps running so their read-your-writes waits complete.
  void request_stop() {
    if (draining_) return;
    draining_ = true;
    if (server_) server_->stop();
  }

  // Then, once the server is done, stop the loops: the projector finishes its batch, commits
  // and leaves the group; the relay and the mirror end their round.
  void stop_background() {
    request_stop();
    if (stopping_) return;
    stopping_ = true;
    relay_wake_.cancel();
    if (mirror_) mirror_->stop();
    membership_->stop();
    for (auto& [id, w] : waiters_) w->timer.cancel();  // answer 504 pending: the record is durable
  }

  awaitable<void> flush_producer() {
    if (auto ec = co_await producer_->flush(kShutdownFlush)) {
      spdlog::warn("shutdown: producer flush: {}", ec.message());
    }
  }

  void set_server(api::Server* server) { server_ = server; }
  mirror::Mirror* mirror() { return mirror_.get(); }
  Membership& membership() { return *membership_; }
  awaitable<void> run_update_relay() { return run_update_relay_loop(); }
  bool failed() const { return failed_; }

 private:
  struct Waiter {
    Waiter(asio::any_io_executor ex, std::chrono::milliseconds bound) : timer(ex, bound) {}
    asio::steady_timer timer;
    std::optional<domain::Outcome> outcome;
    bool rerouted = false;  // woken because its partition was revoked, not projected
  };

  awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(ex_, d);
    co_await t.async_wait(asio::as_tuple(use_awaitable));
  }

  // A cross-partition transfer's outcome stays `pending` in the source's record; what a reader
  // wants is where it ended: refunded (the source's side, in the source's partition) or
  // completed (the target's side, in the target's partition — possibly another instance's).
  domain::Outcome resolve(domain::Outcome o) const {
    using domain::TransferSide;
    using domain::TransferState;
    if (o.type != domain::EventType::transfer || o.status != domain::Status::pending || o.transfer_id.empty()) {
      return o;
    }
    auto source = store_->transfer(domain::transfer_key(o.transfer_id, TransferSide::source));
    auto target = store_->transfer(domain::transfer_key(o.transfer_id, TransferSide::target));
    if (source && *source == TransferState::refunded) o.status = domain::Status::refunded;
    if (target && *target == TransferState::completed) o.status = domain::Status::completed;
    return o;
  }

  // ---- §8: routing between instances ----
  template <typename T>
  using LocalRead = std::function<std::optional<T>()>;  // nullopt = not found here

  std::int32_t partitions() const noexcept { return projection_.placement().partitions; }
  std::int32_t partition_of(std::string_view account) const noexcept {
    return projection_.placement().partition_of(account);
  }

  void count_forward(bool ok) { forwards_[ok ? "ok" : "failed"]->inc(); }

  template <typename T>
  awaitable<QueryResult<T>> routed(std::int32_t partition, Origin origin, const std::string& target,
                                   const LocalRead<T>& read) {
    QueryResult<T> r;
    r.served_by = self_;
    if (serving_.contains(partition)) {
      r.value = read();
      co_return r;
    }
    if (auto owner = membership_->owner(partition); owner && owner->instance != self_ && !origin.forwarded()) {
      auto res = co_await peers_.get(owner->url, target, origin.hops + 1, kForwardTimeout);
      // The owner's own 503 means it is not serving yet either: fall back like for no answer.
      const bool answered = res.has_value() && res->status != 503 && res->status < 500;
      count_forward(answered);
      if (answered) {
        r.forwarded = Forwarded{res->status, std::move(res->body)};
        r.served_by = std::move(res->served_by);
        r.stale = res->stale;
        co_return r;
      }
    }
    r.value = read();
    if (r.value) {
      r.stale = true;
    } else {
      r.unavailable = true;
    }
    co_return r;
  }

  // Accounts after `after` in the given partitions of the local store (up to `limit`).
  Page<domain::Account> local_accounts(const std::string& after, std::size_t limit,
                                       const std::set<std::int32_t>& parts) const {
    Page<domain::Account> out;
    if (parts.empty()) return out;
    const bool all = static_cast<std::int32_t>(parts.size()) == partitions();
    std::string cursor = after;
    while (true) {
      auto page = store_->accounts(cursor, all ? limit : std::max<std::size_t>(limit, 256));
      if (!page) throw boost::system::system_error(page.error(), "accounts read");
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

  static std::optional<Page<domain::Account>> parse_account_page(const std::string& body) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* items = o ? o->if_contains("accounts") : nullptr;
    if (items == nullptr || !items->is_array()) return std::nullopt;
    Page<domain::Account> page;
    for (const auto& item : items->get_array()) {
      auto a = api::account_from_json(item);
      if (!a) return std::nullopt;
      page.items.push_back(std::move(*a));
    }
    if (const auto* next = o->if_contains("next"); next != nullptr && next->is_string()) {
      page.next = std::string(next->get_string());
    }
    return page;
  }

  // A cross-partition transfer completes in its target's partition; when another instance
  // serves that partition, ask it (the refund, in the source's partition, is known here).
  awaitable<void> resolve_across(domain::Outcome& o) {
    if (o.type != domain::EventType::transfer || o.status != domain::Status::pending || o.transfer_id.empty() ||
        o.to.empty()) {
      co_return;
    }
    const auto q = partition_of(o.to);
    if (serving_.contains(q)) {  // the outcome may come from another instance: read ours
      o = resolve(std::move(o));
      co_return;
    }
    auto owner = membership_->owner(q);
    if (!owner || owner->instance == self_) co_return;
    const auto target = fmt::format("/transfers/{}?to={}", cluster::percent_encode(o.transfer_id), o.to);
    auto res = co_await peers_.get(owner->url, target, 1, kForwardTimeout);
    count_forward(res.has_value() && (res->status == 200 || res->status == 404));
    if (!res || res->status != 200) co_return;  // unknown there yet: still pending
    boost::system::error_code ec;
    const auto v = boost::json::parse(res->body, ec);
    const auto* body = ec ? nullptr : v.if_object();
    const auto* status = body ? body->if_contains("status") : nullptr;
    if (status != nullptr && status->is_string() && status->get_string() == "completed") {
      o.status = domain::Status::completed;
    }
  }

  // A command id does not name its partition: ask every other owner. "Not found" only when
  // every partition's owner said so; an owner that cannot answer makes it 503.
  awaitable<QueryResult<domain::Outcome>> command_elsewhere(const std::string& command_id) {
    QueryResult<domain::Outcome> r;
    r.served_by = self_;
    std::set<std::int32_t> covered(serving_.begin(), serving_.end());
    const auto target = "/commands/" + cluster::percent_encode(command_id);
    for (const auto& owner : membership_->owners(partitions())) {
      if (owner.instance == self_) continue;
      auto res = co_await peers_.get(owner.url, target, 1, kForwardTimeout);
      count_forward(res.has_value() && (res->status == 200 || res->status == 404));
      if (!res || (res->status != 200 && res->status != 404)) continue;
      if (res->status == 200) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(res->body, ec);
        auto outcome = ec ? std::nullopt : api::outcome_from_json(v);
        if (!outcome) continue;
        co_await resolve_across(*outcome);
        r.value = std::move(outcome);
        r.served_by = std::move(res->served_by);
        co_return r;
      }
      for (std::int32_t p = 0; p < partitions(); ++p) {
        if (auto o = membership_->owner(p); o && o->instance == owner.instance) covered.insert(p);
      }
    }
    r.unavailable = static_cast<std::int32_t>(covered.size()) < partitions();
    co_return r;
  }

  // A partition is served once the projector has caught up with it after its assignment.
  void update_serving() {
    if (serving_.size() == assigned_parts_.size()) return;
    std::map<std::int32_t, std::int64_t> next;
    for (auto p : assigned_parts_) next[p] = projection_.next_offset(p);
    for (const auto& [p, lag] : consumer_->lag(next)) {
      if (lag == 0 && serving_.insert(p).second) spdlog::info("projector: serving partition {}", p);
    }
  }

  std::map<std::int32_t, std::int64_t> current_offsets(const std::vector<std::int32_t>& partitions) const {
    std::map<std::int32_t, std::int64_t> out;
    for (auto p : partitions) {
      auto n = store_->next_offset(p);
      out[p] = n && n->has_value() ? **n : 0;
    }
    return out;
  }

  // Fold, dead-letter, commit, then tell everyone who waits. False if the store failed.
  awaitable<bool> project(std::span<const RawRecord> records) {
    auto batch = store_->begin();
    auto folded = projection_.fold(batch, records);
    if (!folded.dead_letters.empty()) co_await send_dead_letters(folded.dead_letters);
    if (auto ec = store_->commit(batch)) {
      spdlog::critical("projector: RocksDB commit failed ({}); stopping so that a restart replays "
                       "from the stored offsets", ec.message());
      projection_.reset_offsets();
      co_return false;
    }
    records_["applied"]->inc(folded.applied);
    records_["rejected"]->inc(folded.rejected);
    records_["duplicate"]->inc(folded.duplicates);
    records_["dead_lettered"]->inc(folded.dead_letters.size());
    records_["skipped"]->inc(folded.skipped);
    consumed_->inc(records.size());

    if (!listeners_.empty()) {
      for (const auto& [account, pos] : batch.changed()) publish(AccountUpdate{account, pos});
    }
    for (const auto& id : folded.command_ids) wake(id);
    if (mirror_) mirror_->notify();
    relay_wake_.cancel();
    co_return true;
  }

  void publish(const AccountUpdate& update) {
    // A listener may unsubscribe (close its session) while we iterate.
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      auto current = it++;
      current->second(update);
    }
  }

  // ---- §8 for WebSocket subscribers: other instances' updates ----
  // While a local client subscribes, follow every other owner's /ws (each sends only what it
  // projects itself) and publish those updates here too, so that a subscriber sees the changes
  // of every partition whichever instance it is connected to.
  void start_feed(const std::string& url) {
    auto feed = std::make_shared<cluster::PeerFeed>(ex_, url);
    feeds_[url] = feed;
    feed_tasks_.add();
    asio::co_spawn(ex_, [this, feed]() -> awaitable<void> {
      const auto on_frame = [this](std::string_view frame) { on_relayed(frame); };
      const auto ec = co_await feed->run(on_frame, kForwardTimeout);
      if (ec) {
        spdlog::debug("updates: feed from {} ended: {}", feed->url(), ec.message());
        if (!stopping_) co_await sleep(1s);  // reconnect at most once a second
      }
      if (auto it = feeds_.find(feed->url()); it != feeds_.end() && it->second == feed) feeds_.erase(it);
      feed_tasks_.done();
    }, asio::detached);
  }

  void on_relayed(std::string_view frame) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(frame, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* op = o ? o->if_contains("op") : nullptr;
    if (op == nullptr || !op->is_string() || op->get_string() != "update") return;  // e.g. the subscribe reply
    const auto* account = o->if_contains("account");
    const auto* partition = o->if_contains("partition");
    const auto* offset = o->if_contains("offset");
    auto a = account ? api::account_from_json(*account) : std::nullopt;
    if (!a || partition == nullptr || !partition->is_int64() || offset == nullptr || !offset->is_int64()) return;
    AccountUpdate u{std::move(*a), {static_cast<std::int32_t>(partition->get_int64()), offset->get_int64()}, true};
    // A new owner replays its partitions from its own stored offsets: drop what was already
    // published from the old owner (a record's updates share its offset).
    auto& [high, accounts] = relayed_high_[u.pos.partition];
    if (u.pos.offset < high) return;
    if (u.pos.offset > high) {
      high = u.pos.offset;
      accounts.clear();
    } else if (std::find(accounts.begin(), accounts.end(), u.account.id) != accounts.end()) {
      return;
    }
    accounts.push_back(u.account.id);
    publish(u);
  }

  awaitable<void> run_update_relay_loop() {
    asio::steady_timer tick(ex_);
    while (!stopping_) {
      std::set<std::string> wanted;
      if (server_ != nullptr && server_->client_subscribers() > 0) {
        for (const auto& owner : membership_->owners(partitions())) {
          if (owner.instance != self_) wanted.insert(owner.url);
        }
      }
      for (auto& [url, feed] : feeds_) {
        if (!wanted.contains(url)) feed->stop();
      }
      for (const auto& url : wanted) {
        if (!feeds_.contains(url)) start_feed(url);
      }
      tick.expires_after(250ms);
      co_await tick.async_wait(asio::as_tuple(use_awaitable));
    }
    for (auto& [url, feed] : feeds_) feed->stop();
    co_await feed_tasks_.wait();
    spdlog::info("updates: stopped");
  }

  void wake(const std::string& command_id) {
    auto [begin, end] = waiters_.equal_range(command_id);
    if (begin == end) return;
    auto outcome = store_->outcome(command_id);
    if (!outcome || !outcome->has_value()) return;
    const auto resolved = resolve(std::move(**outcome));
    for (auto it = begin; it != end; ++it) {
      if (!it->second->outcome) {
        it->second->outcome = resolved;
        it->second->timer.cancel();
      }
    }
  }

  // Dead letters must reach `<topic>.dlq` before their batch commits (the commit moves the
  // offset past them). While Kafka is unreachable the projector waits: it could not fetch
  // anyway. A letter Kafka refuses for good (too large) is cut to kDeadLetterCut bytes with its
  // original size in a header; if even that is refused it is logged and skipped, because
  // nothing in the topic may stall the projector.
  awaitable<void> send_dead_letters(const std::vector<DeadLetter>& letters) {
    constexpr std::size_t kDeadLetterCut = 64 * 1024;
    const std::string dlq = config_.topic + ".dlq";
    for (const auto& letter : letters) {
      const std::string partition = std::to_string(letter.partition), offset = std::to_string(letter.offset);
      const std::string size = std::to_string(letter.value.size());
      std::string_view value = letter.value;
      std::vector<log::Header> headers{{"xbanku-origin-topic", config_.topic},
                                       {"xbanku-origin-partition", partition},
                                       {"xbanku-origin-offset", offset},
                                       {"xbanku-reason", letter.reason}};
      spdlog::warn("projector: dead-lettering {}:{}: {}", letter.partition, letter.offset, letter.reason);
      for (auto backoff = 100ms;; backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s)) {
        auto sent = co_await producer_->send(dlq, letter.key, value, headers);
        if (sent) break;
        if (sent.error() == errc::log_error) {
          if (value.size() <= kDeadLetterCut) {
            spdlog::critical("projector: Kafka refuses dead letter {}:{} ({}); skipped", letter.partition,
                             letter.offset, sent.error().message());
            break;
          }
          value = value.substr(0, kDeadLetterCut);
          headers.push_back({"xbanku-truncated-from", size});
          continue;
        }
        spdlog::error("projector: dead letter not accepted ({}); retrying", sent.error().message());
        if (stopping_) co_return;  // not committed: the record is re-read after a restart
        co_await sleep(backoff);
      }
    }
  }

  // Sends follow-ups concurrently (the idempotent producer keeps per-partition order); deletes
  // the acknowledged ones. A crash between ack and delete re-sends: arrivals dedupe by TransferId.
  awaitable<void> relay(const std::vector<view::OutboxEntry>& entries) {
    std::vector<std::uint64_t> acked;
    acked.reserve(entries.size());
    bool failed = false;
    WaitGroup group(ex_);
    for (const auto& entry : entries) {
      group.add();
      asio::co_spawn(ex_, [&, value = domain::encode(entry.event)]() -> awaitable<void> {
        auto sent = co_await producer_->send(config_.topic, entry.event.acc_id, value);
        if (sent) {
          acked.push_back(entry.seq);
        } else {
          failed = true;
        }
        group.done();
      }, asio::detached);
    }
    co_await group.wait();
    if (!acked.empty()) {
      if (auto ec = store_->remove_outbox(acked)) spdlog::error("relay: cannot remove sent entries: {}", ec.message());
    }
    outbox_pending_->set(static_cast<double>(entries.size() - acked.size()));
    if (failed) {
      spdlog::warn("relay: {} follow-ups not acknowledged; retrying", entries.size() - acked.size());
      co_await sleep(500ms);
    }
  }

  std::map<std::int32_t, std::int64_t> on_assign(const std::vector<std::int32_t>& partitions) {
    projection_.reset_offsets();
    assigned_once_ = true;
    assigned_parts_.insert(partitions.begin(), partitions.end());
    // Announced at once, before catching up: peers then forward to the instance that will serve
    // these partitions soonest, and it answers stale or 503 until it does.
    membership_->announce({assigned_parts_.begin(), assigned_parts_.end()});
    std::map<std::int32_t, std::int64_t> start;
    std::string described;
    for (auto p : partitions) {
      start[p] = projection_.next_offset(p);
      described += fmt::format("{}{}@{}", described.empty() ? "" : " ", p, start[p]);
    }
    spdlog::info("projector: assigned partitions, starting at the view's stored offsets: {}", described);
    return start;
  }

  void on_revoke(const std::vector<std::int32_t>& partitions) {
    spdlog::info("projector: revoked partitions [{}]", fmt::join(partitions, ","));
    projection_.reset_offsets();
    for (auto p : partitions) {
      assigned_parts_.erase(p);
      serving_.erase(p);
    }
    if (stopping_) return;
    membership_->announce({assigned_parts_.begin(), assigned_parts_.end()});
    // Read-your-writes waits go on at the partitions' next owners (see execute()); a wait that
    // another instance forwarded here ends now (404) and its asker looks for the new owner.
    // Waits for partitions still ours just wait again.
    for (auto& [id, w] : waiters_) {
      w->rerouted = true;
      w->timer.cancel();
    }
  }

  awaitable<void> commit_kafka_offsets() {
    if (!consumer_) co_return;
    const auto assigned = consumer_->assignment();
    if (assigned.empty()) co_return;
    std::map<std::int32_t, std::int64_t> offsets;
    for (auto p : assigned) offsets[p] = projection_.next_offset(p);
    if (auto ec = co_await consumer_->commit(offsets)) spdlog::debug("projector: offset commit: {}", ec.message());
  }

  void update_gauges() {
    const auto assigned = consumer_->assignment();
    assigned_->set(static_cast<double>(assigned.size()));
    registry_.clear_gauges("xbanku_consumer_lag");
    for (const auto& [p, lag] : consumer_->lag(current_offsets(assigned))) {
      registry_.gauge("xbanku_consumer_lag", lag_help_, {{"partition", std::to_string(p)}})
          .set(static_cast<double>(lag));
    }
    if (mirror_) mirror_lag_->set(static_cast<double>(mirror_->lag()));
  }

  asio::any_io_executor ex_;
  const Config& config_;
  std::string self_;  // instance name
  std::string url_;   // advertised URL
  std::unique_ptr<view::Store> store_;
  Projection projection_;
  std::unique_ptr<log::Producer> producer_;
  std::unique_ptr<log::Consumer> consumer_;
  std::unique_ptr<mirror::Mirror> mirror_;
  std::unique_ptr<Membership> membership_;
  cluster::PeerClient peers_;
  std::set<std::int32_t> assigned_parts_;  // given to us by the group
  std::set<std::int32_t> serving_;         // assigned and caught up since: answered here
  std::map<std::string, std::shared_ptr<cluster::PeerFeed>> feeds_;  // by peer URL
  WaitGroup feed_tasks_;
  // Per partition: the highest offset relayed, and the accounts already published at it.
  std::map<std::int32_t, std::pair<std::int64_t, std::vector<std::string>>> relayed_high_;
  api::Server* server_ = nullptr;

  std::unordered_multimap<std::string, Waiter*> waiters_;
  std::map<std::uint64_t, Listener> listeners_;
  std::uint64_t next_token_ = 0;

  asio::steady_timer relay_wake_;
  bool draining_ = false;  // the server is stopping; the loops still run
  bool stopping_ = false;  // the loops stop
  bool failed_ = false;
  bool assigned_once_ = false;

  metrics::Registry registry_;
  std::map<std::string, metrics::Counter*, std::less<>> records_;
  metrics::Counter* consumed_ = nullptr;
  metrics::Histogram* batch_seconds_ = nullptr;
  metrics::Gauge* outbox_pending_ = nullptr;
  metrics::Gauge* mirror_lag_ = nullptr;
  metrics::Gauge* assigned_ = nullptr;
  std::map<std::string, metrics::Counter*, std::less<>> forwards_;
  std::string lag_help_;
};

awaitable<int> serve(const Config& config) {
  auto ex = co_await asio::this_coro::executor;
  const auto kafka = kafka_settings(config, "admin");

  // The topic, and the dead-letter topic next to it, exist before anyone produces.
  if (auto ec = co_await log::ensure_topic(ex, kafka, config.topic, config.partitions)) {
    spdlog::critical("cannot create or find topic {} on {}: {}", config.topic, config.brokers, ec.message());
    co_return 1;
  }
  if (auto ec = co_await log::ensure_topic(ex, kafka, config.topic + ".dlq", 1)) {
    spdlog::critical("cannot create or find topic {}.dlq: {}", config.topic, ec.message());
    co_return 1;
  }
  // One record per instance survives compaction: its latest announcement.
  std::map<std::string, std::string> compacted{{"cleanup.policy", "compact"}, {"segment.ms", "3600000"}};
  const auto members_created = co_await log::ensure_topic(ex, kafka, members_topic(config), 1, compacted);
  if (auto ec = members_created) {
    spdlog::critical("cannot create or find topic {}: {}", members_topic(config), ec.message());
    co_return 1;
  }
  auto partitions = co_await log::partition_count(ex, kafka, config.topic);
  if (!partitions) {
    spdlog::critical("cannot read the partition count of {}: {}", config.topic, partitions.error().message());
    co_return 1;
  }

  auto store = view::Store::open({.dir = config.data_dir});
  if (!store) {
    spdlog::critical("cannot open the view store in {}", config.data_dir);
    co_return 1;
  }

  // Listen first: with --listen host:0 the advertised URL needs the port the kernel chose.
  api::ApiConfig api_config;
  api_config.listen_host = config.listen_host;
  api_config.listen_port = config.listen_port;
  api_config.instance_id = config.instance_id;
  Service service(ex, config, std::move(*store), *partitions);
  api::Server server(ex, api_config, service, service, service, service, service.registry());
  if (auto ec = server.listen()) {
    spdlog::critical("cannot listen on {}:{}: {}", config.listen_host, config.listen_port, ec.message());
    co_return 1;
  }
  service.set_server(&server);
  std::string url = config.advertise;
  if (url.ends_with(":0")) url = url.substr(0, url.size() - 1) + std::to_string(server.port());
  const std::string self = config.instance_id.empty() ? url.substr(url.find("//") + 2) : config.instance_id;
  if (auto ec = service.start(self, url)) {
    spdlog::critical("cannot start: {}", ec.message());
    co_return 1;
  }

  asio::signal_set signals(ex, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("received signal {}: shutting down", signo);
    service.request_stop();
  });

  spdlog::info("xbanku serving on http://{}:{} (topic {}, {} partitions, group {}, data {}{})",
               config.listen_host, server.port(), config.topic, *partitions, config.group,
               config.data_dir, config.redis_url.empty() ? "" : ", mirror " + config.redis_url);

  WaitGroup tasks(ex);
  auto spawn = [&](std::string_view name, auto make) {
    tasks.add();
    asio::co_spawn(ex, make(), [&, name](std::exception_ptr e) {
      log_exception(name, e);
      // Whichever task ends first (the server after a signal, or a failing loop) stops the rest.
      service.stop_background();
      tasks.done();
    });
  };
  spawn("http server", [&] { return server.run(); });
  spawn("projector", [&] { return service.run_projector(); });
  spawn("outbox relay", [&] { return service.run_relay(); });
  spawn("membership", [&] { return service.membership().run(); });
  spawn("update relay", [&] { return service.run_update_relay(); });
  if (auto* m = service.mirror()) spawn("redis mirror", [m] { return m->run(); });

  co_await tasks.wait();
  signals.cancel();
  co_await service.flush_producer();
  spdlog::info("xbanku stopped");
  co_return service.failed() ? 1 : 0;
}

}  // namespace

int run_serve(const Config& config) {
  asio::io_context io(1);
  int code = 1;
  asio::co_spawn(io, serve(config), [&](std::exception_ptr e, int rc) {
    code = log_exception("service", e) ? 1 : rc;
  });
  io.run();
  return code;
}

}  // namespace xbanku::app
