#pragma once
// The projector (DESIGN §2, §8): a consumer-group member that polls the topic, folds each batch
// through the rules into ONE view commit (dead letters first), and tells whoever listens after
// the commit. It owns the partitions' assignment and revocation and decides when a partition is
// served: once the view has committed up to the end the log had when it was assigned.
// It is also the service's Health (/readyz).
//
// Standby replicas (DESIGN §8, `--standby-replicas`): besides the group's partitions it
// shadows every other partition with a reader outside the group (assign, not subscribe),
// folding them with the same Projection into the same view, each batch with its next offsets in
// one commit, so a shadow is exactly as correct as an owner. Shadows have no side effects: no
// dead letters, no mirror debts, no hooks but the read-your-writes wake-up; the outbox keeps
// their follow-ups for the owner to send (OutboxSender). When the group assigns a shadowed
// partition its view is already at (or near) the log's end, so it is served at once.
// Why every other partition rather than the one the range assignor would hand over: the
// groups this runs in are small (three instances on six partitions: shadowing all costs each
// instance twice the folding of its own share, measured in the note of issue 15), and it needs
// no guess of the assignor's choice, which a second death or a rejoin would change anyway.
// Thread-safety: single-executor; the hooks run on the executor.

#include "xbanku/app/ports.hpp"
#include "xbanku/app/projection.hpp"
#include "xbanku/common/async_gate.hpp"
#include "xbanku/common/task_group.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/log/consumer.hpp"
#include "xbanku/log/kafka_config.hpp"
#include "xbanku/metrics/registry.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace xbanku::log {
class Producer;
}

namespace xbanku::app {

// Which partitions this instance projects (given by the group) and serves (caught up since).
struct Ownership {
  std::set<std::int32_t> assigned;
  std::set<std::int32_t> serving;
  // Standby replicas: the partitions shadowed here, and those of them whose queries this view
  // answers (within --max-read-lag of the log's end as last fetched).
  std::set<std::int32_t> shadowed;
  std::set<std::int32_t> readable;
  // Shadows whose read-your-writes waits are resolved here: within a bound of the log's end
  // (kStandbyWaitLag), so a standby still catching up does not hold a command its owner
  // would answer at once.
  std::set<std::int32_t> waitable;
  std::map<std::int32_t, std::int64_t> lag;  // per shadow, when the log's end is known
  // Standby replicas are on, and the group has assigned this instance its partitions at least
  // once: before that a standby cannot tell its own follow-ups from another owner's.
  bool standby_enabled = false;
  bool settled = false;
  // A partition's role here, for /readyz, /metrics and the answers' headers.
  [[nodiscard]] const char* role(std::int32_t p) const noexcept {
    return assigned.contains(p) ? "owner" : shadowed.contains(p) ? "standby" : "none";
  }
  // Its read-your-writes waits can be resolved here (owned or shadowed).
  [[nodiscard]] bool folds(std::int32_t p) const noexcept {
    return assigned.contains(p) || shadowed.contains(p);
  }
  // Its queries are answered from this view (served here, or a readable standby).
  [[nodiscard]] bool answers(std::int32_t p) const noexcept {
    return serving.contains(p) || readable.contains(p);
  }
  [[nodiscard]] bool resolves_waits(std::int32_t p) const noexcept {
    return assigned.contains(p) || waitable.contains(p);
  }
};

struct ProjectorConfig {
  std::string self;              // this instance's name (/readyz)
  log::ConsumerConfig consumer;  // the group member
  log::KafkaConfig admin;        // for the log's end offsets at assignment
  // Standby replicas: 0 = none; otherwise every partition the group does not assign here is
  // shadowed (see the header comment), read with these client settings.
  int standby_replicas = 0;
  log::KafkaConfig standby;
  // A shadow answers queries while it is at most this many records behind the log's end.
  std::int64_t max_read_lag = 0;
};

// What the rest of the service hears from the projector, on the executor.
struct ProjectorHooks {
  // After each commit: the committed batch (its changed accounts) and what was folded.
  std::function<void(const view::Batch&, const FoldResult&)> committed;
  // The assigned set changed (after an assignment or a revocation): announce it.
  std::function<void(const std::set<std::int32_t>& assigned)> assignment;
  // These partitions were taken away (their waits must look for the new owner).
  std::function<void(const std::vector<std::int32_t>& revoked)> revoked;
  // Before leaving the group on a clean stop: retract this instance's claims.
  std::function<boost::asio::awaitable<void>()> leaving;
  // After each commit of shadowed partitions: read-your-writes waits and this instance's own
  // subscribers (no side effects outside the process).
  std::function<void(const view::Batch&, const FoldResult&)> shadow_committed;
  // Partitions the group assigned here that were shadowed: what the previous owner mirrored
  // may lack what the shadow folded (shadows owe Redis nothing), so refill them.
  std::function<void(const std::vector<std::int32_t>& promoted)> promoted;
};

class Projector final : public Health {
 public:
  Projector(boost::asio::any_io_executor ex, ProjectorConfig config, view::Store& store,
            log::Producer& dead_letters, const std::string& topic, domain::Placement placement,
            metrics::Registry& registry, ProjectorHooks hooks);
  ~Projector() override;

  // Creates the consumer (joins the group while run() polls).
  [[nodiscard]] boost::system::error_code start();
  // Polls, folds and commits until stop() or a store failure; then commits the group offsets,
  // retracts (hooks.leaving), and leaves the group. Returns once its own tasks have ended.
  // A commit that fails on I/O (a full filesystem) is not a failure: the projector stops
  // committing, is not ready, and retries the same records until RocksDB writes again.
  boost::asio::awaitable<void> run();
  void stop();
  // A store failure stopped it (the service then exits non-zero).
  [[nodiscard]] bool failed() const noexcept { return failed_; }

  [[nodiscard]] const Ownership& ownership() const noexcept { return own_; }
  [[nodiscard]] const domain::Placement& placement() const noexcept;

  // Each assigned partition's progress (GET /cluster): serving, applied (the view's next
  // offset), end (high watermark as last fetched) and lag.
  [[nodiscard]] std::map<std::int32_t, PartitionInfo> progress() const;
  // How far behind the log's end (as last fetched) this view is for `partition`, when it owns
  // or shadows it and the end is known.
  [[nodiscard]] std::optional<std::int64_t> lag(std::int32_t partition) const;

  // Health
  [[nodiscard]] bool ready() const override;
  [[nodiscard]] std::string describe() const override;

 private:
  // unwritable: RocksDB could not write (a full filesystem): nothing was stored, retry later.
  enum class Projected { committed, abandoned, failed, unwritable };

  boost::asio::awaitable<Projected> project(std::span<const log::Record> records);
  // The standby loop: a reader of the shadowed partitions, folding without side effects.
  boost::asio::awaitable<void> run_shadows();
  enum class ShadowBatch { committed, stale, unwritable, failed };
  boost::asio::awaitable<ShadowBatch> project_shadows(std::span<const log::Record> records);
  boost::asio::awaitable<void> resume_after_failed_shadow_commit();
  boost::asio::awaitable<void> send_shadow_letters(const std::vector<std::int32_t>& promoted);
  void update_shadowed();
  void update_readable();
  boost::asio::awaitable<Projected> retry_until_written(std::span<const log::Record> records);
  boost::asio::awaitable<bool> send_dead_letters(const std::vector<DeadLetter>& letters);
  boost::asio::awaitable<bool> send_dead_letter(const DeadLetter& letter);
  std::map<std::int32_t, std::int64_t> on_assign(const std::vector<std::int32_t>& partitions);
  void on_revoke(const std::vector<std::int32_t>& partitions);
  boost::asio::awaitable<void> learn_log_ends(std::uint64_t generation);
  void update_serving();
  std::int64_t stored_next_offset(std::int32_t partition) const;
  std::map<std::int32_t, std::int64_t> stored_offsets(const std::vector<std::int32_t>& parts) const;
  boost::asio::awaitable<void> commit_group_offsets();
  void update_gauges();
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
  // Runs `work` on the fold thread and resumes on the io executor with its result.
  template <class Work>
  boost::asio::awaitable<std::invoke_result_t<Work&>> on_fold_thread(Work work);

  boost::asio::any_io_executor ex_;
  ProjectorConfig config_;
  view::Store& store_;
  log::Producer& dead_letters_;
  std::string topic_;
  Projection projection_;
  ProjectorHooks hooks_;
  std::unique_ptr<log::Consumer> consumer_;
  TaskGroup tasks_;  // the log-end queries started at each assignment, the standby loop

  // One batch is folded and committed at a time, the group's or the shadows' (view::Store has
  // one writer, and the outbox's sequence order relies on it).
  AsyncGate fold_gate_;
  // An assignment happened since the group's last fold: re-read the stored offsets under the
  // gate, since a shadow commit may have moved them after on_assign() read them.
  bool reread_offsets_ = false;
  std::vector<std::int32_t> promoted_;  // shadowed partitions assigned here, not yet told
  // The dead letters shadows folded lately, per partition: the owner sends them, unless it
  // died first; a promotion sends those of the last minute again (at least once, as a replay
  // after a failover without standbys would).
  struct ShadowLetter {
    std::chrono::steady_clock::time_point at;
    DeadLetter letter;
  };
  std::map<std::int32_t, std::deque<ShadowLetter>> shadow_letters_;
  Projection shadow_projection_;
  std::unique_ptr<log::PartitionReader> shadow_reader_;
  std::set<std::int32_t> shadow_reading_;             // what shadow_reader_ was created for
  std::uint64_t shadow_generation_ = 0;               // bumped whenever own_.shadowed changes
  std::uint64_t shadow_reader_generation_ = 0;        // the generation shadow_reader_ reads
  std::map<std::int32_t, std::int64_t> shadow_next_;  // next offset per shadow, as committed
  bool shadow_failing_ = false;  // the last shadow commit failed (logged once per outage)

  Ownership own_;
  std::map<std::int32_t, std::int64_t>
      log_end_at_assignment_;                            // per assigned partition, once known
  std::map<std::int32_t, std::int64_t> committed_next_;  // next offset per partition, as committed
  std::uint64_t assign_generation_ = 0;
  bool assigned_once_ = false;
  bool stopping_ = false;
  bool failed_ = false;
  bool unwritable_ = false;  // a commit failed on I/O and has not gone through yet: not ready
  // Dead letters already in `<topic>.dlq` whose batch is not committed yet: a batch folded
  // again after a failed commit does not send them twice.
  std::set<std::pair<std::int32_t, std::int64_t>> letters_sent_;

  metrics::Registry& registry_;
  std::map<std::string, metrics::Counter*, std::less<>> records_;
  metrics::Counter* consumed_ = nullptr;
  metrics::Histogram* batch_seconds_ = nullptr;
  metrics::Gauge* assigned_gauge_ = nullptr;
  metrics::Gauge* unwritable_gauge_ = nullptr;
  metrics::Counter* shadow_records_ = nullptr;

  // The fold and the RocksDB commit of each batch run here, not on the io thread, so a long
  // catch-up (or a slow disk) never holds up HTTP and WebSocket sessions. One thread: batches
  // stay in log order. Declared last: joined first, before anything the fold uses goes away.
  boost::asio::thread_pool fold_thread_{1};
};

}  // namespace xbanku::app
