#include "xbanku/common/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <exception>

namespace xbanku {

namespace asio = boost::asio;

TaskGroup::TaskGroup(asio::any_io_executor ex) : ex_(ex), idle_(ex) {}

void TaskGroup::spawn(asio::awaitable<void> task, std::string name) {
  auto signal = signals_.emplace(signals_.end());
  asio::co_spawn(ex_, std::move(task),
                 asio::bind_cancellation_slot(
                     signal->slot(), [this, signal, name = std::move(name)](std::exception_ptr e) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::error("{} failed: {}", name, ex.what());
                         } catch (...) {
                           spdlog::error("{} failed with an unknown exception", name);
                         }
                       }
                       signals_.erase(signal);
                       if (signals_.empty()) idle_.cancel();
                     }));
}

void TaskGroup::cancel() {
  for (auto& signal : signals_) signal.emit(asio::cancellation_type::terminal);
}

asio::awaitable<void> TaskGroup::wait() {
  while (!signals_.empty()) {
    idle_.expires_at(asio::steady_timer::time_point::max());
    co_await idle_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace xbanku
