#pragma once
// One coroutine at a time through a section that spans awaits (the projector's fold and commit
// of a batch, shared by the group's partitions and the standby shadows). Single-executor: every
// user runs on the same io thread, so a flag and a timer to sleep on are enough; the holder
// leaves through the Pass it was given (RAII), on every path out.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace xbanku {

class AsyncGate {
 public:
  // The timer never expires: leave() cancels it, which wakes every waiter at once.
  explicit AsyncGate(boost::asio::any_io_executor ex)
      : wake_(ex, boost::asio::steady_timer::time_point::max()) {}

  class Pass {
   public:
    explicit Pass(AsyncGate* gate) noexcept : gate_(gate) {}
    Pass(Pass&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Pass& operator=(Pass&&) = delete;
    ~Pass() {
      if (gate_ != nullptr) gate_->leave();
    }

   private:
    AsyncGate* gate_;
  };

  // Waits until nobody holds the gate, then holds it until the Pass is destroyed.
  boost::asio::awaitable<Pass> enter() {
    while (held_) co_await wake_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    held_ = true;
    co_return Pass(this);
  }

 private:
  void leave() noexcept {
    held_ = false;
    wake_.cancel();
  }

  bool held_ = false;
  boost::asio::steady_timer wake_;
};

}  // namespace xbanku
