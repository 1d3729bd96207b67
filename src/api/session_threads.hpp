#pragma once
// Private to src/api: the threads that run plain HTTP sessions (ApiConfig::session_threads).
//
// Each thread runs an io_context of its own (one per thread, so a session's socket, its
// timers and its coroutine never need a strand), and sessions are dealt to them round robin.
// A session thread owns only its sessions' sockets, buffers and parsed requests: everything
// else a request touches (ServerCore's maps, the app's ports, the fan-out) stays on the core
// thread, and the session hands each request to it with on_core() (server_core.hpp).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <thread>
#include <vector>

namespace xbanku::api::detail {

class SessionThreads {
 public:
  explicit SessionThreads(unsigned count) {
    for (unsigned i = 0; i < count; ++i) {
      contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
      guards_.push_back(boost::asio::make_work_guard(*contexts_.back()));
    }
    for (auto& ctx : contexts_) {
      threads_.emplace_back([io = ctx.get()] {
        pthread_setname_np(pthread_self(), "xbanku-http");  // for top -H and perf
        try {
          io->run();
        } catch (const std::exception& e) {  // co_spawn catches what sessions throw: a bug
          spdlog::critical("api: a session thread failed: {}", e.what());
          std::terminate();
        }
      });
    }
  }
  // Joins the threads once what is left on them has run out (Server::run() has returned, so
  // no session is left), then destroys the io_contexts.
  ~SessionThreads() {
    for (auto& g : guards_) g.reset();
    for (auto& ctx : contexts_) ctx->stop();
    for (auto& t : threads_) t.join();
  }
  SessionThreads(const SessionThreads&) = delete;
  SessionThreads& operator=(const SessionThreads&) = delete;

  // Where the next session runs. Called on the core thread only (the acceptor).
  boost::asio::any_io_executor next() {
    const std::size_t i = next_++ % contexts_.size();
    return contexts_[i]->get_executor();
  }

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::size_t next_ = 0;
};

}  // namespace xbanku::api::detail
