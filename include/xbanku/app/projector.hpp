#pragma once
// The projector (DESIGN §2, §8): a consumer-group member that polls the topic, folds each batch
// through the rules into ONE view commit (dead letters first), and tells whoever listens after
// the commit. It owns the partitions' assignment and revocation and decides when a partition is
// served: once the view has committed up to the end the log had when it was assigned.
// It is also the service's Health (/readyz).
// Thread-safety: single-executor; the hooks run on the executor.

#include "xbanku/app/ports.hpp"
#include "xbanku/app/projection.hpp"
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

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
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
};

struct ProjectorConfig {
  std::string self;              // this instance's name (/readyz)
  log::ConsumerConfig consumer;  // the group member
  log::KafkaConfig admin;        // for the log's end offsets at assignment
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

  // Health
  [[nodiscard]] bool ready() const override;
  [[nodiscard]] std::string describe() const override;

 private:
  // unwritable: RocksDB could not write (a full filesystem): nothing was stored, retry later.
  enum class Projected { committed, abandoned, failed, unwritable };

  boost::asio::awaitable<Projected> project(std::span<const log::Record> records);
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
  TaskGroup tasks_;  // the log-end queries started at each assignment

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

  // The fold and the RocksDB commit of each batch run here, not on the io thread, so a long
  // catch-up (or a slow disk) never holds up HTTP and WebSocket sessions. One thread: batches
  // stay in log order. Declared last: joined first, before anything the fold uses goes away.
  boost::asio::thread_pool fold_thread_{1};
};

}  // namespace xbanku::app
