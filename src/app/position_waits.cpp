// PositionWaits: min_position reads wait here for the view (see the header).
#include "xbanku/app/position_waits.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace xbanku::app {

namespace asio = boost::asio;

PositionWaits::PositionWaits(asio::any_io_executor ex, const view::Store& store,
                             metrics::Registry* registry)
    : ex_(std::move(ex)), store_(store) {
  if (registry == nullptr) return;
  const char* names[] = {"applied", "waited", "owner", "not_reached"};
  for (std::size_t i = 0; i < 4; ++i) {
    counters_[i] = &registry->counter(
        "xbanku_min_position_queries_total",
        "Queries with min_position: answered here at once (applied), here after waiting for the "
        "view (waited), by the owner, or not at all (not_reached, 504)",
        {{"result", names[i]}});
  }
}

void PositionWaits::count(Answered how) {
  if (auto* c = counters_[static_cast<std::size_t>(how)]) c->inc();
}

bool PositionWaits::applied(std::int32_t partition, std::int64_t offset) const {
  const auto next = store_.next_offset(partition);
  return next && next->has_value() && **next > offset;
}

asio::awaitable<bool> PositionWaits::reached(std::int32_t partition, std::int64_t offset,
                                             Clock::time_point deadline) {
  while (!applied(partition, offset)) {
    if (stopping_ || Clock::now() >= deadline) co_return false;
    // The deadline, cut short by committed() or stop(): either way, look again.
    asio::steady_timer timer(ex_, deadline);
    waiting_.insert(&timer);
    struct Unregister {
      std::set<asio::steady_timer*>& set;
      asio::steady_timer* timer;
      ~Unregister() { set.erase(timer); }
    } unregister{waiting_, &timer};
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return true;
}

void PositionWaits::committed() {
  // cancel() only posts the waiters' completions: none erases itself from the set meanwhile.
  for (auto* timer : waiting_) timer->cancel();
}

void PositionWaits::stop() {
  stopping_ = true;
  committed();
}

}  // namespace xbanku::app
