#pragma once
// Detached coroutines that must end before their owner does (CONVENTIONS 6), after the task
// group of Beast's `server-flex-awaitable` example: spawn() runs a coroutine bound to a
// cancellation signal of the group; cancel() asks every one of them to stop (their pending
// operation completes with operation_aborted); wait() completes once all have ended.
// An exception escaping a task is logged with the task's name and dropped: the task ends, the
// group goes on (the owner decides what a failed task means through what the task itself did).
// Thread-safety: single-executor. Use it from the thread of the executor it was made with.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <list>
#include <string>

namespace xbanku {

class TaskGroup {
 public:
  explicit TaskGroup(boost::asio::any_io_executor ex);
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts `task` on the group's executor (co_spawn: it begins after spawn returns). `name`
  // names it in logs.
  void spawn(boost::asio::awaitable<void> task, std::string name);
  // Terminal cancellation to every running task. Tasks spawned afterwards are not affected.
  void cancel();
  // Completes when no task is running (at once if none is).
  boost::asio::awaitable<void> wait();
  [[nodiscard]] std::size_t size() const noexcept { return signals_.size(); }

 private:
  boost::asio::any_io_executor ex_;
  std::list<boost::asio::cancellation_signal> signals_;
  boost::asio::steady_timer idle_;  // cancelled when the last task ends
};

}  // namespace xbanku
