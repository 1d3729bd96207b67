#pragma once
// The one main runner: a process mode is a coroutine returning an exit code, run on a fresh
// single-threaded io_context until it completes.

#include <boost/asio/awaitable.hpp>

#include <functional>

namespace xbanku {

// Runs `main()` to completion and returns its exit code; 1 if it threw (logged as critical).
[[nodiscard]] int run_to_completion(const std::function<boost::asio::awaitable<int>()>& main);

}  // namespace xbanku
