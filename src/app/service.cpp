#include "xbanku/app/service.hpp"

#include "xbanku/api/config.hpp"
#include "xbanku/api/operations.hpp"
#include "xbanku/api/server.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/app/kafka_settings.hpp"
#include "xbanku/app/membership.hpp"
#include "xbanku/app/queries.hpp"
#include "xbanku/app/update_relay.hpp"
#include "xbanku/app/projection.hpp"
#include "xbanku/app/wait_group.hpp"
#include "xbanku/cluster/peer_client.hpp"
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
        background_(ex),
        relay_wake_(ex) {
    auto& r = registry_;
    for (const char* result : {"applied", "rejected", "duplicate", "dead_lettered", "skipped", "misplaced"}) {
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
    queries_ = make_cluster_queries(QueryDeps{
        *store_, *membership_, peers_, own_, projection_.placement(), self_,
        [this](const std::string& command_id, std::chrono::milliseconds wait) {
          return wait_for_outcome(command_id, wait);
        },
        registry_});
    update_relay_ = std::make_unique<UpdateRelay>(
        ex_, *membership_, partitions(), [this] { return server_ != nullptr && server_->client_subscribers() > 0; },
        [this](const AccountUpdate& u) { publish(u); });

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
    const domain::Request request = domain::request_of(event);
    // A repeat of a projected command answers its first outcome and writes nothing; a key the
    // view knows for another request is refused before anything is written (the API compares).
    auto first = store_->find_outcome(event.command_id, event.principal, partitions());
    if (!first) {
      reply.error = errc::store_error;
      co_return reply;
    }
    if (*first) {
      reply.kind = CommandReply::Kind::projected;
      reply.where = {event.command_id, (*first)->pos.partition, (*first)->pos.offset};
      reply.outcome = queries_->resolve(std::move(**first));
      co_return reply;
    }
    // The same key in flight here for another request: one of the two must be refused, and
    // refusing the later one before it is written keeps the first one's effect the only one.
    const auto in_flight_key = std::make_pair(event.principal, event.command_id);
    if (auto it = in_flight_.find(in_flight_key); it != in_flight_.end() && it->second.request != request) {
      reply.kind = CommandReply::Kind::key_reused;
      co_return reply;
    }
    auto& reservation = in_flight_[in_flight_key];
    reservation.request = request;
    ++reservation.count;
    struct Release {
      std::map<std::pair<std::string, std::string>, InFlight>& map;
      std::pair<std::string, std::string> key;
      ~Release() {
        if (auto it = map.find(key); it != map.end() && --it->second.count == 0) map.erase(it);
      }
    } release{in_flight_, in_flight_key};

    // Register before producing: the projector may apply the record before the ack arrives.
    Waiter waiter(ex_, config_.command_wait);
    waiter.partition = projection_.placement().partition_of(event.acc_id);
    waiter.principal = event.principal;
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
      if (own_.assigned.contains(delivery->partition)) {
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
        queries_->count_forward(res.has_value() && (res->status == 200 || res->status == 404));
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

  // ---- QueryService: see queries.hpp (made in start(), before any request is served) ----
  awaitable<QueryResult<domain::Account>> account(std::string id, Origin origin) override {
    return queries_->account(std::move(id), std::move(origin));
  }
  awaitable<QueryResult<Page<domain::Account>>> accounts(std::string after, std::size_t limit,
                                                          Origin origin) override {
    return queries_->accounts(std::move(after), limit, std::move(origin));
  }
  awaitable<QueryResult<Page<HistoryItem>>> history(std::string id, std::string after, std::size_t limit,
                                                    Origin origin) override {
    return queries_->history(std::move(id), std::move(after), limit, std::move(origin));
  }
  awaitable<QueryResult<domain::Outcome>> command(std::string command_id, std::chrono::milliseconds wait,
                                                  Origin origin) override {
    return queries_->command(std::move(command_id), wait, std::move(origin));
  }
  awaitable<QueryResult<domain::TransferState>> transfer(std::string transfer_id, std::string to,
                                                         Origin origin) override {
    return queries_->transfer(std::move(transfer_id), std::move(to), std::move(origin));
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
    // No partition (e.g. lost with the group coordinator, or more members than partitions)
    // means nothing is served from here: not ready either.
    if (!consumer_ || stopping_ || !assigned_once_ || own_.assigned.empty()) return false;
    return own_.serving == own_.assigned;
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
                       self_, fmt::join(own_.serving, ","), parts);
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
        const Projected projected = co_await project(raw);  // named: GCC 12 miscompiles co_await in a condition
        if (projected == Projected::abandoned) break;  // stopping: a restart re-reads the batch
        if (projected == Projected::failed) {
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
    own_.serving.clear();
    co_await consumer_->close();
    own_.assigned.clear();
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
    if (membership_) membership_->stop();
    if (update_relay_) update_relay_->stop();
    for (auto& [id, w] : waiters_) w->timer.cancel();  // answer 504 pending: the record is durable
  }

  // Detached work of the service itself (learn_log_ends), which must end before it is destroyed.
  awaitable<void> wait_background() { co_await background_.wait(); }

  awaitable<void> flush_producer() {
    if (auto ec = co_await producer_->flush(kShutdownFlush)) {
      spdlog::warn("shutdown: producer flush: {}", ec.message());
    }
  }

  void set_server(api::Server* server) { server_ = server; }
  mirror::Mirror* mirror() { return mirror_.get(); }
  Membership& membership() { return *membership_; }
  UpdateRelay& update_relay() { return *update_relay_; }
  bool failed() const { return failed_; }

 private:
  struct Waiter {
    Waiter(asio::any_io_executor ex, std::chrono::milliseconds bound) : timer(ex, bound) {}
    asio::steady_timer timer;
    std::optional<domain::Outcome> outcome;
    bool rerouted = false;  // woken because its partition was revoked, not projected
    // The key's scope: the command's partition when known (else any partition) and principal.
    std::optional<std::int32_t> partition;
    std::string principal;
  };

  // Idempotency keys of commands being executed here, with what they ask for.
  struct InFlight {
    domain::Request request;
    std::size_t count = 0;
  };

  awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(ex_, d);
    co_await t.async_wait(asio::as_tuple(use_awaitable));
  }

  // Another instance's read-your-writes wait for a command it produced into our partition.
  awaitable<std::optional<domain::Outcome>> wait_for_outcome(std::string command_id, std::chrono::milliseconds wait) {
    Waiter waiter(ex_, wait);
    auto registration = waiters_.emplace(command_id, &waiter);
    co_await waiter.timer.async_wait(asio::as_tuple(use_awaitable));
    waiters_.erase(registration);
    co_return std::move(waiter.outcome);
  }

  std::int32_t partitions() const noexcept { return projection_.placement().partitions; }

  // A partition is served once the projector has caught up with it after its assignment.
  void update_serving() {
    if (own_.serving.size() == own_.assigned.size()) return;
    for (auto p : own_.assigned) {
      const auto end = log_end_at_assignment_.find(p);
      // Committed, not merely folded: a batch may still be sending its dead letters, and a
      // partition served before its batch commits would answer "not found" for what it holds.
      const auto committed = committed_next_.find(p);
      const std::int64_t next =
          committed != committed_next_.end() ? committed->second : stored_next_offset(p);
      if (end == log_end_at_assignment_.end() || next < end->second) continue;
      if (own_.serving.insert(p).second) spdlog::info("projector: serving partition {}", p);
    }
  }

  std::int64_t stored_next_offset(std::int32_t p) const {
    auto n = store_->next_offset(p);
    return n && n->has_value() ? **n : 0;
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
  enum class Projected { committed, abandoned, failed };

  awaitable<Projected> project(std::span<const RawRecord> records) {
    auto batch = store_->begin();
    auto folded = projection_.fold(batch, records);
    if (!folded.dead_letters.empty()) {
      const bool settled = co_await send_dead_letters(folded.dead_letters);
      if (!settled) {
        // Stopping with a letter unsent: committing would move the offset past it for good.
        projection_.reset_offsets();
        co_return Projected::abandoned;
      }
    }
    if (auto ec = store_->commit(batch)) {
      spdlog::critical("projector: RocksDB commit failed ({}); stopping so that a restart replays "
                       "from the stored offsets", ec.message());
      projection_.reset_offsets();
      co_return Projected::failed;
    }
    for (const auto& r : records) {
      auto& next = committed_next_[r.partition];
      next = std::max(next, r.offset + 1);
    }
    records_["applied"]->inc(folded.applied);
    records_["rejected"]->inc(folded.rejected);
    records_["duplicate"]->inc(folded.duplicates);
    records_["dead_lettered"]->inc(folded.dead_letters.size());
    records_["skipped"]->inc(folded.skipped);
    records_["misplaced"]->inc(folded.misplaced);
    consumed_->inc(records.size());

    if (!listeners_.empty()) {
      for (const auto& [account, pos] : batch.changed()) publish(AccountUpdate{account, pos});
    }
    for (const auto& id : folded.command_ids) wake(id);
    if (mirror_) mirror_->notify();
    relay_wake_.cancel();
    co_return Projected::committed;
  }

  void publish(const AccountUpdate& update) {
    // A listener may unsubscribe (close its session) while we iterate.
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      auto current = it++;
      current->second(update);
    }
  }

  void wake(const std::string& command_id) {
    auto [begin, end] = waiters_.equal_range(command_id);
    for (auto it = begin; it != end; ++it) {
      Waiter& w = *it->second;
      if (w.outcome) continue;
      auto outcome = w.partition ? store_->outcome({*w.partition, w.principal, command_id})
                                 : store_->find_outcome(command_id, w.principal, partitions());
      if (!outcome || !outcome->has_value()) continue;
      w.outcome = queries_->resolve(std::move(**outcome));
      w.timer.cancel();
    }
  }

  // Dead letters must reach `<topic>.dlq` before their batch commits (the commit moves the
  // offset past them). While Kafka is unreachable the projector waits: it could not fetch
  // anyway. A letter Kafka refuses for good (too large) is cut to kDeadLetterCut bytes with its
  // original size in a header; if even that is refused it is logged and skipped, because
  // nothing in the topic may stall the projector.
  // True once every letter is in `<topic>.dlq` (or refused for good and logged); false if the
  // service stopped first.
  awaitable<bool> send_dead_letters(const std::vector<DeadLetter>& letters) {
    // All of a batch's letters are handed to the producer at once, so they travel in a few
    // requests instead of one round trip each (a batch of misplaced records can hold thousands).
    WaitGroup group(ex_);
    bool settled = true;
    for (const auto& letter : letters) {
      group.add();
      asio::co_spawn(ex_, send_dead_letter(letter), [&group, &settled](std::exception_ptr e, bool done) {
        settled = settled && done && !e;
        group.done();
      });
    }
    co_await group.wait();
    co_return settled;
  }

  awaitable<bool> send_dead_letter(const DeadLetter& letter) {
    constexpr std::size_t kDeadLetterCut = 64 * 1024;
    const std::string dlq = config_.topic + ".dlq";
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
      if (sent) co_return true;
      if (sent.error() == errc::log_error) {
        if (value.size() <= kDeadLetterCut) {
          spdlog::critical("projector: Kafka refuses dead letter {}:{} ({}); skipped", letter.partition,
                           letter.offset, sent.error().message());
          co_return true;
        }
        value = value.substr(0, kDeadLetterCut);
        headers.push_back({"xbanku-truncated-from", size});
        continue;
      }
      spdlog::error("projector: dead letter not accepted ({}); retrying", sent.error().message());
      if (stopping_) co_return false;  // not committed: the record is re-read after a restart
      co_await sleep(backoff);
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
    for (auto p : partitions) committed_next_.erase(p);
    assigned_once_ = true;
    own_.assigned.insert(partitions.begin(), partitions.end());
    // Announced at once, before catching up: peers then forward to the instance that will serve
    // these partitions soonest, and it answers stale or 503 until it does.
    membership_->announce({own_.assigned.begin(), own_.assigned.end()});
    std::map<std::int32_t, std::int64_t> start;
    std::string described;
    for (auto p : partitions) {
      start[p] = projection_.next_offset(p);
      described += fmt::format("{}{}@{}", described.empty() ? "" : " ", p, start[p]);
    }
    spdlog::info("projector: assigned partitions, starting at the view's stored offsets: {}", described);
    background_.add();
    asio::co_spawn(ex_, learn_log_ends(++assign_generation_), [this](std::exception_ptr) { background_.done(); });
    return start;
  }

  // A partition is served once the projector reaches the end its log had at assignment, as the
  // broker reports it: librdkafka's cached high watermark can read 0 before the first fetch.
  awaitable<void> learn_log_ends(std::uint64_t generation) {
    const auto kafka = kafka_settings(config_, "admin");
    for (auto backoff = 200ms; generation == assign_generation_ && !stopping_; backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s)) {
      auto ends = co_await log::end_offsets(ex_, kafka, config_.topic);
      if (generation != assign_generation_) co_return;  // a newer assignment asks for itself
      if (ends) {
        for (auto p : own_.assigned) {
          if (auto it = ends->find(p); it != ends->end()) log_end_at_assignment_[p] = it->second;
        }
        update_serving();
        co_return;
      }
      spdlog::warn("projector: cannot read the log's end offsets ({}); retrying", ends.error().message());
      co_await sleep(backoff);
    }
  }

  void on_revoke(const std::vector<std::int32_t>& partitions) {
    spdlog::info("projector: revoked partitions [{}]", fmt::join(partitions, ","));
    projection_.reset_offsets();
    ++assign_generation_;
    for (auto p : partitions) {
      own_.assigned.erase(p);
      own_.serving.erase(p);
      log_end_at_assignment_.erase(p);
      committed_next_.erase(p);
    }
    if (stopping_) return;
    membership_->announce({own_.assigned.begin(), own_.assigned.end()});
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
  Ownership own_;
  std::map<std::int32_t, std::int64_t> log_end_at_assignment_;  // per assigned partition, once known
  std::map<std::int32_t, std::int64_t> committed_next_;  // next offset per partition, as committed
  std::uint64_t assign_generation_ = 0;
  WaitGroup background_;
  std::unique_ptr<ClusterQueries> queries_;
  std::unique_ptr<UpdateRelay> update_relay_;
  api::Server* server_ = nullptr;

  std::unordered_multimap<std::string, Waiter*> waiters_;
  std::map<std::pair<std::string, std::string>, InFlight> in_flight_;  // (principal, key)
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
  std::string lag_help_;
};

boost::system::error_code check_partition_count(view::Store& store, std::int32_t partitions,
                                                const Config& config) {
  auto stored = store.partition_count();
  if (!stored) {
    spdlog::critical("cannot read the view's partition count in {}", config.data_dir);
    return stored.error();
  }
  if (!*stored) return store.set_partition_count(partitions);
  if (**stored != partitions) {
    spdlog::critical(
        "topic {} has {} partitions but the view in {} was built from {}: accounts would be "
        "folded into the wrong partitions' state; to grow a topic, see README 'Growing a topic'",
        config.topic, partitions, config.data_dir, **stored);
    return make_error_code(errc::invalid_config);
  }
  return {};
}

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
  // Every account's partition is a hash over the partition count: a view built from a topic
  // with another count would fold records into the wrong partitions' state.
  if (auto ec = check_partition_count(**store, *partitions, config)) co_return 1;

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
  spawn("update relay", [&] { return service.update_relay().run(); });
  if (auto* m = service.mirror()) spawn("redis mirror", [m] { return m->run(); });

  co_await tasks.wait();
  co_await service.wait_background();
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
