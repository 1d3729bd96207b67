#include "xbanku/common/runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <exception>

namespace xbanku {

int run_to_completion(const std::function<boost::asio::awaitable<int>()>& main) {
  boost::asio::io_context io(1);
  int code = 1;
  boost::asio::co_spawn(io, main(), [&](std::exception_ptr e, int rc) {
    code = rc;
    if (!e) return;
    code = 1;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::critical("{}", ex.what());
    } catch (...) {
      spdlog::critical("unknown exception");
    }
  });
  io.run();
  return code;
}

}  // namespace xbanku
