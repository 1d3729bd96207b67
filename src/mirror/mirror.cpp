#include "xbanku/mirror/mirror.hpp"

#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace xbanku::mirror {

namespace asio = boost::asio;

Mirror::Mirror(asio::any_io_executor executor, RedisConfig config, MirrorSource source,
               MirrorOptions options)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      source_(std::move(source)),
      options_(options),
      wake_(executor_),
      backoff_timer_(executor_),
      backoff_(options_.backoff_min, options_.backoff_max) {}

Mirror::~Mirror() = default;

void Mirror::notify() {
  // Only the first notify() of a burst posts; later ones find the flag set and return. While
  // Redis is down run() does not clear the flag, so an outage costs one atomic exchange each.
  if (!notified_.exchange(true, std::memory_order_acq_rel)) {
    asio::post(executor_, [this] { wake_.cancel(); });
  }
}

void Mirror::stop() {
  stopping_.store(true, std::memory_order_release);
  asio::post(executor_, [this] {
    wake_.cancel();
    backoff_timer_.cancel();
    // Completes an in-flight connect or pipeline at once (mirror_unavailable).
    if (connection_) connection_->close();
  });
}

std::size_t Mirror::lag() const {
  return source_.owed_count();
}

bool Mirror::connected() const noexcept {
  return connected_.load(std::memory_order_acquire);
}

asio::awaitable<void> Mirror::run() {
  std::vector<std::pair<std::string, std::uint64_t>> written;
  while (!stopping_.load(std::memory_order_acquire)) {
    if (!connection_ || !connection_->connected()) {
      connected_.store(false, std::memory_order_release);
      connection_ = std::make_unique<RedisConnection>(executor_, config_);
      if (const auto ec = co_await connection_->connect()) {
        on_failure("connect to", ec);
        co_await back_off();
        continue;
      }
      connected_.store(true, std::memory_order_release);
      next_marker_check_ = {};  // a new connection may be to a Redis that restarted empty
    }

    if (const auto ec = co_await check_marker()) {
      if (stopping_.load(std::memory_order_acquire)) break;
      connected_.store(false, std::memory_order_release);
      on_failure("read the refill marker from", ec);
      co_await back_off();
      continue;
    }
    if (refill_after_) {
      if (const auto ec = co_await refill_step()) {
        if (stopping_.load(std::memory_order_acquire)) break;
        connected_.store(false, std::memory_order_release);
        refill_after_.reset();  // Redis may have lost the pages written: start over
        next_marker_check_ = {};
        on_failure("refill", ec);
        co_await back_off();
        continue;
      }
    }

    // Clear before reading the owed set: a notify() from now on wakes the next idle wait, so a
    // commit that lands after this read is never left waiting for the tick.
    notified_.store(false, std::memory_order_release);
    const auto batch = source_.owed(options_.batch_size);
    if (batch.empty() && refill_after_) continue;  // the refill's next page
    if (batch.empty()) {
      on_success();  // connected and nothing owed: an outage, if any, is over
      co_await wait_for_work();
      continue;
    }

    if (const auto ec = co_await connection_->pipeline_hset(batch)) {
      if (stopping_.load(std::memory_order_acquire)) break;
      connected_.store(false, std::memory_order_release);
      on_failure("write to", ec);
      co_await back_off();
      continue;
    }
    on_success();
    written.clear();
    written.reserve(batch.size());
    for (const auto& a : batch) written.emplace_back(a.id, a.version);
    if (!source_.mark_mirrored(written)) co_await back_off();
    // No wait: a full batch probably means more is owed; an empty owed() sends us to sleep.
  }
  connection_.reset();
  connected_.store(false, std::memory_order_release);
}

void Mirror::refill(const std::vector<std::int32_t>& partitions) {
  ++forced_requests_;
  for (const auto p : partitions) forced_[p] = forced_requests_;
  next_marker_check_ = {};
  notify();
}

// Starts a refill of the partitions whose marker Redis lacks (looked for at most every
// marker_check).
asio::awaitable<boost::system::error_code> Mirror::check_marker() {
  const auto now = std::chrono::steady_clock::now();
  if (!source_.refill || !source_.partitions || options_.marker_prefix.empty() || refill_after_ ||
      now < next_marker_check_)
    co_return boost::system::error_code{};
  std::vector<std::int32_t> missing;
  const bool stale = source_.stale && source_.stale();
  for (const auto p : source_.partitions()) {
    if (stale || forced_.contains(p)) {
      missing.push_back(p);
      continue;
    }
    auto present = co_await connection_->exists(options_.marker_prefix + std::to_string(p));
    if (!present) co_return present.error();
    if (!*present) missing.push_back(p);
  }
  next_marker_check_ = now + options_.marker_check;
  if (missing.empty()) co_return boost::system::error_code{};
  if (!stale && !forced_.empty()) {
    spdlog::info(
        "redis mirror: refilling {}:{} (db {}) with the accounts of promoted partition(s) {}",
        config_.host, config_.port, config_.db, fmt::join(missing, ","));
  } else if (stale) {
    spdlog::info(
        "redis mirror: the view changed while no mirror was configured; refilling {}:{} (db {}) "
        "with the accounts of partition(s) {}",
        config_.host, config_.port, config_.db, fmt::join(missing, ","));
  } else {
    spdlog::info(
        "redis mirror: {}:{} (db {}) lacks the accounts of partition(s) {} (no {}<partition> "
        "marker: restarted empty, flushed, or never had them); refilling them from the view",
        config_.host, config_.port, config_.db, fmt::join(missing, ","), options_.marker_prefix);
  }
  refilling_stale_ = stale;
  refill_covers_ = forced_requests_;
  refilling_ = std::move(missing);
  refill_after_ = std::string{};
  refill_started_ = now;
  refilled_ = 0;
  co_return boost::system::error_code{};
}

// One page of a refill; the markers once the view is scanned.
asio::awaitable<boost::system::error_code> Mirror::refill_step() {
  const auto page = source_.refill(*refill_after_, options_.batch_size, refilling_);
  if (!page) co_return make_error_code(errc::store_error);
  if (const auto ec = co_await connection_->pipeline_hset(page->accounts)) co_return ec;
  refilled_ += page->accounts.size();
  if (page->next) {
    refill_after_ = *page->next;
    co_return boost::system::error_code{};
  }
  // Only partitions still mirrored here: a partition that moved meanwhile is its new
  // projector's to refill (it finds no marker).
  const auto now_mirrored = source_.partitions();
  for (const auto p : refilling_) {
    if (std::find(now_mirrored.begin(), now_mirrored.end(), p) == now_mirrored.end()) continue;
    if (const auto ec = co_await connection_->set(options_.marker_prefix + std::to_string(p), "1"))
      co_return ec;
  }
  refill_after_.reset();
  for (const auto p : refilling_) {
    if (auto it = forced_.find(p); it != forced_.end() && it->second <= refill_covers_)
      forced_.erase(it);
  }
  // What this view folded without a mirror is now in Redis for the partitions it mirrors; a
  // partition that moved meanwhile is mirrored by its new projector, which folds (and mirrors)
  // every record after its own stored offset.
  if (refilling_stale_ && source_.refreshed && !source_.refreshed())
    next_marker_check_ = {};  // not recorded: refill again rather than forget
  refilling_stale_ = false;
  spdlog::info(
      "redis mirror: refilled {} accounts of partition(s) {} in {:.2f} s", refilled_,
      fmt::join(refilling_, ","),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - refill_started_).count());
  co_return boost::system::error_code{};
}

asio::awaitable<void> Mirror::wait_for_work() {
  if (notified_.load(std::memory_order_acquire)) co_return;
  wake_.expires_after(options_.tick);
  // Cancelled by notify() or stop(), otherwise the tick: either way, look at the owed set.
  (void)co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> Mirror::back_off() {
  if (stopping_.load(std::memory_order_acquire)) co_return;
  backoff_timer_.expires_after(backoff_.next());
  // notify() deliberately does not cut this short: commits must not turn into a reconnect storm.
  (void)co_await backoff_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

void Mirror::on_failure(std::string_view what, const boost::system::error_code& ec) {
  ++failed_attempts_;
  const std::string detail = connection_ ? connection_->last_error() : std::string{};
  if (!in_outage_) {
    in_outage_ = true;
    spdlog::warn(
        "redis mirror: cannot {} {}:{} (db {}): {}{}{}; retrying with back-off up to {} ms, "
        "owed accounts stay in the view ({} now)",
        what, config_.host, config_.port, config_.db, ec.message(), detail.empty() ? "" : ": ",
        detail, options_.backoff_max.count(), source_.owed_count());
  } else {
    spdlog::debug("redis mirror: attempt {} to {} {}:{} failed: {}: {}", failed_attempts_, what,
                  config_.host, config_.port, ec.message(), detail);
  }
}

void Mirror::on_success() {
  backoff_.reset();
  if (in_outage_) {
    in_outage_ = false;
    spdlog::info("redis mirror: {}:{} reachable again after {} failed attempt(s); catching up",
                 config_.host, config_.port, failed_attempts_);
  }
  failed_attempts_ = 0;
}

}  // namespace xbanku::mirror
