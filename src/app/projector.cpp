// The projector: poll → fold → dead letters → commit → notify, and the partitions' lifecycle
// (assigned, caught up, served, revoked). See the header.
#include "xbanku/app/projector.hpp"

#include "projector_fold_thread.hpp"
#include "xbanku/common/backoff.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/log/producer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace xbanku::app {

namespace asio = boost::asio;
using asio::awaitable;
using namespace std::chrono_literals;

namespace {
constexpr auto kPollWait = 50ms;           // longest the projector waits for a record
constexpr auto kGroupCommitInterval = 1s;  // Kafka's committed offsets are for lag tools only
}  // namespace

Projector::Projector(asio::any_io_executor ex, ProjectorConfig config, view::Store& store,
                     log::Producer& dead_letters, const std::string& topic,
                     domain::Placement placement, metrics::Registry& registry, ProjectorHooks hooks)
    : ex_(ex),
      config_(std::move(config)),
      store_(store),
      dead_letters_(dead_letters),
      topic_(topic),
      projection_(store, placement),
      hooks_(std::move(hooks)),
      tasks_(ex),
      fold_gate_(ex),
      shadow_projection_(store, placement),
      registry_(registry) {
  own_.standby_enabled = config_.standby_replicas > 0;
  // Named, so that `top -H` and perf tell it from the core thread.
  asio::post(fold_thread_, [] { pthread_setname_np(pthread_self(), "xbanku-fold"); });
  for (const char* result :
       {"applied", "rejected", "duplicate", "dead_lettered", "skipped", "misplaced"}) {
    records_[result] = &registry.counter(
        "xbanku_records_total", "Records folded into the view by result", {{"result", result}});
  }
  consumed_ =
      &registry.counter("xbanku_records_consumed_total",
                        "Records received from Kafka by the projector, before any skipping");
  batch_seconds_ =
      &registry.histogram("xbanku_projection_batch_seconds",
                          "Time to fold and commit one consumed batch", metrics::latency_buckets());
  assigned_gauge_ =
      &registry.gauge("xbanku_assigned_partitions", "Partitions this instance projects");
  unwritable_gauge_ = &registry.gauge(
      "xbanku_view_unwritable", "1 while the view cannot be written (e.g. its filesystem is full)");
  shadow_records_ =
      &registry.counter("xbanku_standby_records_total",
                        "Records of shadowed partitions folded into the view (standby replicas)");
}

Projector::~Projector() = default;

const domain::Placement& Projector::placement() const noexcept {
  return projection_.placement();
}

boost::system::error_code Projector::start() {
  log::RebalanceHandler handler{[this](const std::vector<std::int32_t>& p) { return on_assign(p); },
                                [this](const std::vector<std::int32_t>& p) { on_revoke(p); }};
  auto consumer = log::Consumer::create(ex_, config_.consumer, std::move(handler));
  if (!consumer) return consumer.error();
  consumer_ = std::move(*consumer);
  return {};
}

void Projector::stop() {
  stopping_ = true;
  tasks_.cancel();
}

bool Projector::ready() const {
  // Before its first assignment the instance knows nothing of the group (a killed
  // predecessor may still hold every partition until its session times out): not ready.
  // No partition (e.g. lost with the group coordinator, or more members than partitions)
  // means nothing is served from here: not ready either.
  if (!consumer_ || stopping_ || unwritable_ || !assigned_once_ || own_.assigned.empty())
    return false;
  return own_.serving == own_.assigned;
}

std::string Projector::describe() const {
  std::string parts;
  if (consumer_) {
    const auto assigned = consumer_->assignment();
    const auto lag = consumer_->lag(stored_offsets(assigned));
    for (auto p : assigned) {
      auto it = lag.find(p);
      if (!parts.empty()) parts += ',';
      parts +=
          it == lag.end() ? fmt::format("\"{}\":null", p) : fmt::format("\"{}\":{}", p, it->second);
    }
  }
  std::string reason;
  if (unwritable_) {
    reason = fmt::format(R"("reason":"store_unwritable","detail":{},)",
                         boost::json::serialize(boost::json::string(store_.last_write_error())));
  }
  std::string standby;
  for (auto p : own_.shadowed) {
    if (!standby.empty()) standby += ',';
    const auto l = lag(p);
    standby += l ? fmt::format("\"{}\":{}", p, *l) : fmt::format("\"{}\":null", p);
  }
  return fmt::format(R"({{"ready":{},{}"instance":"{}","serving":[{}],"lag":{{{}}},"standby":[{}],)"
                     R"("standby_lag":{{{}}}}})",
                     ready() ? "true" : "false", reason, config_.self, fmt::join(own_.serving, ","),
                     parts, fmt::join(own_.shadowed, ","), standby);
}

std::map<std::int32_t, PartitionInfo> Projector::progress() const {
  std::map<std::int32_t, PartitionInfo> out;
  if (!consumer_) return out;
  for (auto p : consumer_->assignment()) {
    PartitionInfo& info = out[p];
    info.partition = p;
    info.owner = config_.self;
    info.serving = own_.serving.contains(p);
    info.applied = stored_next_offset(p);
    info.end = consumer_->high_watermark(p);
    if (info.end) info.lag = std::max<std::int64_t>(0, *info.end - *info.applied);
  }
  return out;
}

std::optional<std::int64_t> Projector::lag(std::int32_t p) const {
  std::optional<std::int64_t> end;
  std::int64_t applied = 0;
  if (own_.assigned.contains(p) && consumer_) {
    end = consumer_->high_watermark(p);
    applied = stored_next_offset(p);
  } else if (own_.shadowed.contains(p) && shadow_reader_ && shadow_reading_.contains(p)) {
    end = shadow_reader_->high_watermark(p);
    const auto next = shadow_next_.find(p);
    applied = next != shadow_next_.end() ? next->second : stored_next_offset(p);
  }
  if (!end) return std::nullopt;
  return std::max<std::int64_t>(0, *end - applied);
}

awaitable<void> Projector::run() {
  if (config_.standby_replicas > 0) tasks_.spawn(run_shadows(), "standby replicas");
  auto last_group_commit = std::chrono::steady_clock::now();
  while (!stopping_) {
    auto poll = co_await consumer_->next(kPollWait);
    if (!poll) {
      if (poll.error() == errc::shutting_down) break;
      spdlog::warn("projector: poll failed: {}", poll.error().message());
      co_await sleep(100ms);
      continue;
    }
    if (!poll->empty()) {
      const auto started = std::chrono::steady_clock::now();
      // Named, never co_await in a condition: GCC 12 miscompiles that.
      Projected projected = co_await project(poll->records());
      if (projected == Projected::unwritable)
        projected = co_await retry_until_written(poll->records());
      if (projected == Projected::abandoned) break;  // stopping: a restart re-reads the batch
      if (projected == Projected::failed) {
        failed_ = true;
        break;  // a store failure stops the service; a restart replays from the stored offsets
      }
      batch_seconds_->observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    update_serving();
    if (!promoted_.empty()) {
      // Told once a shadow batch of theirs still in flight at the assignment has landed (it
      // holds the gate while it commits), so that a refill of Redis sees it.
      { const auto pass = co_await fold_gate_.enter(); }
      const auto promoted = std::exchange(promoted_, {});
      co_await send_shadow_letters(promoted);
      if (hooks_.promoted) hooks_.promoted(promoted);
    }
    if (std::chrono::steady_clock::now() - last_group_commit >= kGroupCommitInterval) {
      last_group_commit = std::chrono::steady_clock::now();
      co_await commit_group_offsets();
      update_gauges();
    }
  }
  co_await commit_group_offsets();
  // Retract our claims first: with static membership the group keeps our partitions until the
  // session times out, and peers must not forward to an instance that is going away.
  if (hooks_.leaving) co_await hooks_.leaving();
  own_.serving.clear();
  co_await consumer_->close();
  own_.assigned.clear();
  tasks_.cancel();
  co_await tasks_.wait();
  spdlog::info("projector: stopped");
}

// Fold, dead-letter, commit, then tell everyone who waits.
awaitable<Projector::Projected> Projector::project(std::span<const log::Record> records) {
  const auto pass = co_await fold_gate_.enter();
  if (std::exchange(reread_offsets_, false)) projection_.reset_offsets();
  // Begun on the fold thread: Store::begin turns RocksDB's perf counters off for its thread.
  // A batch without dead letters (nearly all) is committed in the same visit to the fold
  // thread: each visit is two thread wake-ups, on the path of every read-your-writes command.
  std::optional<view::Batch> batch;
  std::optional<boost::system::error_code> committed;
  auto folded = co_await on_fold_thread([&] {
    batch.emplace(store_.begin());
    auto f = projection_.fold(*batch, records);
    if (f && f->dead_letters.empty()) committed = store_.commit(*batch);
    return f;
  });
  if (!folded) {
    spdlog::critical("projector: cannot read the view's offsets ({}); stopping",
                     folded.error().message());
    co_return Projected::failed;
  }
  if (!folded->dead_letters.empty()) {
    const bool settled = co_await send_dead_letters(folded->dead_letters);
    if (!settled) {
      // Stopping with a letter unsent: committing would move the offset past it for good.
      projection_.reset_offsets();
      co_return Projected::abandoned;
    }
  }
  if (!committed) committed = co_await on_fold_thread([&] { return store_.commit(*batch); });
  const boost::system::error_code ec = *committed;
  if (ec) {
    if (ec == errc::store_unwritable) {
      projection_.reset_offsets();  // the next fold starts from what is stored
      co_return Projected::unwritable;
    }
    spdlog::critical(
        "projector: RocksDB commit failed ({}); stopping so that a restart replays "
        "from the stored offsets",
        ec.message());
    projection_.reset_offsets();
    co_return Projected::failed;
  }
  letters_sent_.clear();
  for (const auto& r : records) {
    auto& next = committed_next_[r.partition];
    next = std::max(next, r.offset + 1);
  }
  records_["applied"]->inc(folded->applied);
  records_["rejected"]->inc(folded->rejected);
  records_["duplicate"]->inc(folded->duplicates);
  records_["dead_lettered"]->inc(folded->dead_letters.size());
  records_["skipped"]->inc(folded->skipped);
  records_["misplaced"]->inc(folded->misplaced);
  consumed_->inc(records.size());
  if (hooks_.committed) hooks_.committed(*batch, *folded);
  co_return Projected::committed;
}

// The view's filesystem is full (or another I/O error): nothing of the batch was stored, and
// RocksDB refuses writes until its error is cleared. Until a commit goes through the projector
// is not ready (peers and load balancers look elsewhere) and polls nothing more; once RocksDB
// writes again the same records are folded again from the stored offsets, so nothing is lost
// and nothing applied twice. Read-your-writes waits on these records time out (504 pending)
// meanwhile: the commands are in Kafka and are projected once space returns.
awaitable<Projector::Projected> Projector::retry_until_written(
    std::span<const log::Record> records) {
  const auto since = std::chrono::steady_clock::now();
  unwritable_ = true;
  unwritable_gauge_->set(1);
  spdlog::critical(
      "projector: cannot commit to the view ({}); not ready until it can, retrying the same "
      "records (is the filesystem of the data directory full?)",
      store_.last_write_error());
  Backoff backoff(100ms, 2s);
  Projected projected = Projected::unwritable;
  while (projected == Projected::unwritable) {
    if (stopping_) {
      projected = Projected::abandoned;  // nothing stored: a restart re-reads the batch
      break;
    }
    co_await sleep(backoff.next());
    // Still refused: go on waiting (resume() keeps last_write_error() current).
    const auto refused = co_await on_fold_thread([this] { return store_.resume(); });
    if (refused) continue;
    projected = co_await project(records);
  }
  unwritable_ = false;
  unwritable_gauge_->set(0);
  if (projected == Projected::committed) {
    spdlog::info("projector: the view accepts writes again after {:.1f} s; projecting",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count());
  }
  co_return projected;
}

std::map<std::int32_t, std::int64_t> Projector::on_assign(
    const std::vector<std::int32_t>& partitions) {
  projection_.reset_offsets();
  reread_offsets_ = true;
  assigned_once_ = true;
  own_.settled = true;
  std::vector<std::int32_t> promoted;
  for (auto p : partitions) {
    committed_next_.erase(p);
    if (own_.shadowed.contains(p)) promoted.push_back(p);
  }
  own_.assigned.insert(partitions.begin(), partitions.end());
  // Shadows of these stop here: the standby loop drops their records from now on, and any
  // shadow commit still in flight lands before the group's next fold (the gate), which then
  // re-reads the offsets (reread_offsets_). The group's reader may start below them: fold()
  // skips what the view already holds.
  update_shadowed();
  if (!promoted.empty()) {
    spdlog::info("projector: promoting shadowed partitions [{}]", fmt::join(promoted, ","));
    promoted_.insert(promoted_.end(), promoted.begin(), promoted.end());  // told in run()
  }
  // Announced at once, before catching up: peers then forward to the instance that will serve
  // these partitions soonest, and it answers stale or 503 until it does.
  if (hooks_.assignment) hooks_.assignment(own_.assigned);
  std::map<std::int32_t, std::int64_t> start;
  std::string described;
  for (auto p : partitions) {
    auto next = projection_.next_offset(p);
    if (!next) {
      // The view cannot be read: stop, and a restart reads the offsets again. Nothing is
      // folded meanwhile (fold() needs the same offsets), so starting anywhere is harmless.
      spdlog::critical("projector: cannot read the view's offset of partition {}; stopping", p);
      failed_ = true;
      stopping_ = true;
      continue;
    }
    start[p] = *next;
    described += fmt::format("{}{}@{}", described.empty() ? "" : " ", p, *next);
  }
  spdlog::info("projector: assigned partitions, starting at the view's stored offsets: {}",
               described);
  tasks_.spawn(learn_log_ends(++assign_generation_), "log-end query");
  return start;
}

// A partition is served once the projector reaches the end its log had at assignment, as the
// broker reports it: librdkafka's cached high watermark can read 0 before the first fetch.
awaitable<void> Projector::learn_log_ends(std::uint64_t generation) {
  Backoff backoff(200ms, 5s);
  while (generation == assign_generation_ && !stopping_) {
    auto ends = co_await log::end_offsets(ex_, config_.admin, config_.consumer.topic);
    if (generation != assign_generation_) co_return;  // a newer assignment asks for itself
    if (ends) {
      for (auto p : own_.assigned) {
        if (auto it = ends->find(p); it != ends->end()) log_end_at_assignment_[p] = it->second;
      }
      update_serving();
      co_return;
    }
    spdlog::warn("projector: cannot read the log's end offsets ({}); retrying",
                 ends.error().message());
    co_await sleep(backoff.next());
  }
}

void Projector::on_revoke(const std::vector<std::int32_t>& partitions) {
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
  update_shadowed();  // they are shadowed from the stored offsets on
  if (hooks_.assignment) hooks_.assignment(own_.assigned);
  if (hooks_.revoked) hooks_.revoked(partitions);
}

// Committed, not merely folded: a batch may still be sending its dead letters, and a partition
// served before its batch commits would answer "not found" for what it holds.
void Projector::update_serving() {
  update_readable();
  if (own_.serving.size() == own_.assigned.size()) return;
  for (auto p : own_.assigned) {
    const auto end = log_end_at_assignment_.find(p);
    if (end == log_end_at_assignment_.end()) continue;
    const auto committed = committed_next_.find(p);
    const std::int64_t next =
        committed != committed_next_.end() ? committed->second : stored_next_offset(p);
    if (next < end->second) continue;
    if (own_.serving.insert(p).second) spdlog::info("projector: serving partition {}", p);
  }
}

std::int64_t Projector::stored_next_offset(std::int32_t p) const {
  auto n = store_.next_offset(p);
  return n && n->has_value() ? **n : 0;
}

std::map<std::int32_t, std::int64_t> Projector::stored_offsets(
    const std::vector<std::int32_t>& parts) const {
  std::map<std::int32_t, std::int64_t> out;
  for (auto p : parts) out[p] = stored_next_offset(p);
  return out;
}

awaitable<void> Projector::commit_group_offsets() {
  if (!consumer_) co_return;
  const auto assigned = consumer_->assignment();
  if (assigned.empty()) co_return;
  std::map<std::int32_t, std::int64_t> offsets;
  for (auto p : assigned) {
    auto next = projection_.next_offset(p);
    if (next) offsets[p] = *next;
  }
  if (auto ec = co_await consumer_->commit(offsets))
    spdlog::debug("projector: offset commit: {}", ec.message());
}

void Projector::update_gauges() {
  const auto assigned = consumer_->assignment();
  assigned_gauge_->set(static_cast<double>(assigned.size()));
  registry_.clear_gauges("xbanku_consumer_lag");
  for (const auto& [p, lag] : consumer_->lag(stored_offsets(assigned))) {
    registry_
        .gauge("xbanku_consumer_lag",
               "Records between the view's next offset and the partition's high watermark",
               {{"partition", std::to_string(p)}})
        .set(static_cast<double>(lag));
  }
  // Per partition folded here, owner or standby: an alert on xbanku_partition_lag catches a
  // replica that falls behind before it is needed.
  registry_.clear_gauges("xbanku_partition_lag");
  registry_.clear_gauges("xbanku_partition_applied_offset");
  std::set<std::int32_t> folded = own_.assigned;
  folded.insert(own_.shadowed.begin(), own_.shadowed.end());
  for (auto p : folded) {
    const metrics::Labels labels{{"partition", std::to_string(p)}, {"role", own_.role(p)}};
    registry_
        .gauge("xbanku_partition_applied_offset",
               "The view's next offset per partition folded here, by role (owner or standby)",
               labels)
        .set(static_cast<double>(stored_next_offset(p)));
    if (const auto l = lag(p)) {
      registry_
          .gauge("xbanku_partition_lag",
                 "Records the view is behind the log's end (as last fetched), by role", labels)
          .set(static_cast<double>(*l));
    }
  }
}

awaitable<void> Projector::sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(ex_, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace xbanku::app
