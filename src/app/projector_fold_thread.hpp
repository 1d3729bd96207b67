#pragma once
// Projector::on_fold_thread, shared by the group's fold (projector.cpp) and the standby
// shadows' (projector_standby.cpp). Private to src/app.

#include "xbanku/app/projector.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace xbanku::app {

// What the fold thread shares with the io thread, and why that is safe:
//  - projection_ (its offset cache) and the batch are touched by one thread at a time: the
//    projector's coroutine hands them over and waits (co_await) until the work returns, and
//    nothing else uses them meanwhile (rebalance callbacks run inside consumer_->next(), which
//    the same coroutine calls only between batches). The hand-over through the executors'
//    queues orders the memory accesses. The standby loop hands over shadow_projection_ and
//    its batch the same way, and the fold gate lets one loop at a time fold and commit, so
//    the store never has two batches being filled at once.
//  - store_ is read concurrently by queries on the io thread: RocksDB is thread-safe, and the
//    Store's own caches and error text are behind its mutexes (view/store_impl.hpp).
template <class Work>
boost::asio::awaitable<std::invoke_result_t<Work&>> Projector::on_fold_thread(Work work) {
  co_return co_await boost::asio::co_spawn(
      fold_thread_.get_executor(),
      [&work]() -> boost::asio::awaitable<std::invoke_result_t<Work&>> { co_return work(); },
      boost::asio::use_awaitable);
}

}  // namespace xbanku::app
