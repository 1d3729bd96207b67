#pragma once
// Waits for this view to apply past a position (a query's min_position, DESIGN §8): woken
// after every commit, the group's or a standby's, each waiter looks at its partition's stored
// next offset again, until its deadline.
// Thread-safety: single-executor, like the service.

#include "xbanku/metrics/registry.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <set>

namespace xbanku::app {

class PositionWaits {
 public:
  using Clock = std::chrono::steady_clock;

  PositionWaits(boost::asio::any_io_executor ex, const view::Store& store,
                metrics::Registry* registry = nullptr);

  // How a min_position query was answered (xbanku_min_position_queries_total{result}).
  enum class Answered { applied, waited, owner, not_reached };
  void count(Answered how);

  // Whether the view has applied the record at `offset` of `partition` (its next offset is
  // past it) now, without waiting.
  [[nodiscard]] bool applied(std::int32_t partition, std::int64_t offset) const;
  // The same, waiting until `deadline` (or stop()) for commits to get there.
  boost::asio::awaitable<bool> reached(std::int32_t partition, std::int64_t offset,
                                       Clock::time_point deadline);
  // After each commit: every waiter looks again.
  void committed();
  void stop();

 private:
  boost::asio::any_io_executor ex_;
  const view::Store& store_;
  std::set<boost::asio::steady_timer*> waiting_;
  bool stopping_ = false;
  metrics::Counter* counters_[4] = {};
};

}  // namespace xbanku::app
