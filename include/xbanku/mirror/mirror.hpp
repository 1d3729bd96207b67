#pragma once
// Keeps Redis equal to the RocksDB view (DESIGN §7) without ever blocking or slowing the
// projector. What is still owed to Redis lives in the view (MirrorSource), not here: a restart
// or a long outage forgets nothing and holds nothing in memory; the Mirror only drains it.

#include "xbanku/common/backoff.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/mirror/redis_config.hpp"
#include "xbanku/mirror/redis_connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xbanku::mirror {

struct RefillPage {
  std::vector<domain::Account> accounts;
  std::optional<std::string> next;
};

// The owed set, implemented over the RocksDB view. All three are called on the Mirror's
// executor only (lag() excepted: see there).
struct MirrorSource {
  // Up to `limit` accounts still owed to Redis, in their current state.
  std::function<std::vector<domain::Account>(std::size_t limit)> owed;
  // These (id, version) pairs are now in Redis; clear each one that is still at that version
  // (a newer version stays owed).
  // False when that could not be recorded (e.g. a full disk; logged): the Mirror backs off
  // instead of writing the same accounts again at once.
  std::function<bool(std::span<const std::pair<std::string, std::uint64_t>>)> mark_mirrored;
  // How many accounts are owed.
  std::function<std::size_t()> owed_count;
  // For refills (see Mirror::run); both optional: without them Redis is never refilled.
  // The partitions whose accounts this instance mirrors now (those it projects).
  std::function<std::vector<std::int32_t>()> partitions;
  // Among at most `limit` of the view's accounts in id order strictly after `after`, those in
  // `partitions` that this instance still mirrors, and where the next call starts (nullopt once
  // the view is scanned); nullopt if the view could not be read (the refill starts over).
  std::function<std::optional<RefillPage>(std::string_view after, std::size_t limit,
                                          std::span<const std::int32_t> partitions)>
      refill;
  // Optional: true when the view changed while no mirror recorded debts (a period without
  // --redis), so Redis lacks changes whatever its markers say: every partition in `partitions`
  // is refilled, then `refreshed` is called (false: it could not be recorded; tried again at
  // the next refill).
  std::function<bool()> stale;
  std::function<bool()> refreshed;
};

struct MirrorOptions {
  std::size_t batch_size = 1000;                // accounts per pipeline
  std::chrono::milliseconds tick{1000};         // re-check the owed set even without notify()
  std::chrono::milliseconds backoff_min{100};   // first retry delay after a failure
  std::chrono::milliseconds backoff_max{5000};  // the delay doubles up to this
  // `<marker_prefix><partition>` is set in Redis once it holds every account of the partition;
  // its absence means Redis lost them (restarted empty, flushed) or never had them. Shared by
  // every instance mirroring one topic: whoever projects the partition refills it. Empty: no
  // refill.
  std::string marker_prefix;
  std::chrono::milliseconds marker_check{1000};  // look for the markers at most this often
};

class Mirror {
 public:
  // `executor` must be single-threaded or a strand: run(), the connection and the source
  // callbacks all run on it.
  Mirror(boost::asio::any_io_executor executor, RedisConfig config, MirrorSource source,
         MirrorOptions options = {});
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;
  ~Mirror();

  // "The owed set may have grown": wakes run(). O(1), never blocks, allocates nothing after
  // the first call of a burst; coalesces bursts. Thread-safe (call it from any thread).
  void notify();

  // Drains the owed set into Redis until stop(): waits for notify() or a tick, writes up to
  // batch_size owed accounts as one pipeline, then marks them mirrored. On failure logs once per
  // outage, backs off (backoff_min doubling to backoff_max), reconnects and retries. Spawn it
  // once on the executor. Never throws for Redis trouble; source callbacks' exceptions propagate.
  //
  // The owed set only covers changes Redis missed; a Redis that lost what it had (restarted
  // without persistence, flushed) needs every account again (DESIGN §7). So after each connect,
  // and every marker_check while no refill runs, the Mirror looks for the marker of each
  // partition it mirrors; for those without one it refills: every account source.refill yields,
  // one batch_size page before each owed batch, then sets their markers. A refill cut short by
  // a failure starts over on reconnect.
  [[nodiscard]] boost::asio::awaitable<void> run();

  // Asks run() to finish: it returns promptly, abandoning an in-flight pipeline (what it held is
  // still owed, so nothing is lost). Thread-safe. The Mirror must outlive run() and the handler
  // this posts (destroy it after the io_context has stopped or run() has returned).
  void stop();

  // Refill these partitions whatever their markers say (a promoted standby: its shadow owed
  // Redis nothing, and the previous owner may not have mirrored its last changes). On the
  // executor only.
  void refill(const std::vector<std::int32_t>& partitions);

  // Accounts owed to Redis (source.owed_count()), for metrics. Thread-safe iff owed_count is.
  [[nodiscard]] std::size_t lag() const;

  // Whether the last attempt left a usable connection. Thread-safe.
  [[nodiscard]] bool connected() const noexcept;

 private:
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> check_marker();
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> refill_step();
  [[nodiscard]] boost::asio::awaitable<void> wait_for_work();
  [[nodiscard]] boost::asio::awaitable<void> back_off();
  void on_failure(std::string_view what, const boost::system::error_code& ec);
  void on_success();

  boost::asio::any_io_executor executor_;
  RedisConfig config_;
  MirrorSource source_;
  MirrorOptions options_;
  std::unique_ptr<RedisConnection> connection_;
  boost::asio::steady_timer wake_;           // idle wait; cancelled by notify()
  boost::asio::steady_timer backoff_timer_;  // retry delay; only stop() cuts it short
  Backoff backoff_;
  std::atomic<bool> notified_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  bool in_outage_ = false;
  std::uint64_t failed_attempts_ = 0;
  // Refill state (run()'s coroutine only): the cursor while a refill is under way.
  std::optional<std::string> refill_after_;
  std::vector<std::int32_t> refilling_;  // the partitions being refilled
  // refill() asked for these (with the number of the request): a refill under way when one is
  // asked again for a partition does not count for it.
  std::map<std::int32_t, std::uint64_t> forced_;
  std::uint64_t forced_requests_ = 0;
  std::uint64_t refill_covers_ = 0;  // the requests the refill under way started after
  std::chrono::steady_clock::time_point next_marker_check_{};  // epoch: check at once
  std::chrono::steady_clock::time_point refill_started_{};
  std::size_t refilled_ = 0;
  bool refilling_stale_ = false;  // this refill is of a stale view: refreshed() once done
};

}  // namespace xbanku::mirror
