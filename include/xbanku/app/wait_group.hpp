#pragma once
// Waits for a set of detached coroutines on one executor (Boost 1.81 has no ranged
// parallel_group): add() before spawning, done() when each finishes, co_await wait().
// Single-threaded: use on the executor's thread only.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>

namespace xbanku::app {

class WaitGroup {
 public:
  explicit WaitGroup(boost::asio::any_io_executor ex) : timer_(ex) {}

  void add(std::size_t n = 1) noexcept { pending_ += n; }
  void done() {
    if (pending_ > 0 && --pending_ == 0) timer_.cancel();
  }
  [[nodiscard]] std::size_t pending() const noexcept { return pending_; }

  // Completes when every added task called done().
  boost::asio::awaitable<void> wait() {
    while (pending_ > 0) {
      timer_.expires_at(boost::asio::steady_timer::time_point::max());
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
  }

 private:
  boost::asio::steady_timer timer_;
  std::size_t pending_ = 0;
};

}  // namespace xbanku::app
