#include "xbanku/mirror/mirror.hpp"

#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
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
    }

    // Clear before reading the owed set: a notify() from now on wakes the next idle wait, so a
    // commit that lands after this read is never left waiting for the tick.
    notified_.store(false, std::memory_order_release);
    const auto batch = source_.owed(options_.batch_size);
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
    source_.mark_mirrored(written);
    // No wait: a full batch probably means more is owed; an empty owed() sends us to sleep.
  }
  connection_.reset();
  connected_.store(false, std::memory_order_release);
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
