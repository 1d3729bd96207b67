#pragma once
// Sends the follow-ups the projector left in the view's outbox (credits and refunds of
// cross-partition transfers, DESIGN §2) and deletes each once Kafka has acknowledged it. A
// crash between the acknowledgement and the delete sends it again; the target's partition
// deduplicates it by TransferId.
// Thread-safety: single-executor.

#include "xbanku/metrics/registry.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <string>

namespace xbanku::log {
class Producer;
}

namespace xbanku::app {

class OutboxSender {
 public:
  OutboxSender(boost::asio::any_io_executor ex, view::Store& store, log::Producer& producer,
               std::string topic, metrics::Registry& registry);

  // Sends what the outbox holds, then waits for notify() (or a second) and looks again, until
  // stop(); after stop() it finishes one more round and returns (what is left stays in the
  // view and is sent on restart).
  boost::asio::awaitable<void> run();
  // A commit may have added entries.
  void notify();
  void stop();

 private:
  boost::asio::awaitable<void> send(const std::vector<view::OutboxEntry>& entries);

  boost::asio::any_io_executor ex_;
  view::Store& store_;
  log::Producer& producer_;
  std::string topic_;
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
  metrics::Gauge& pending_;
};

}  // namespace xbanku::app
