#pragma once
// Sends the follow-ups the projector left in the view's outbox (credits and refunds of
// cross-partition transfers, DESIGN §2) and deletes each once Kafka has acknowledged it. A
// crash between the acknowledgement and the delete sends it again; the target's partition
// deduplicates it by TransferId.
//
// With standby replicas the outbox also holds the follow-ups of shadowed partitions (the fold
// writes them wherever it runs). Those are the owner's to send: an entry whose origin
// partition is shadowed here is held, and trimmed once its follow-up has arrived in the view
// (the shadowed destination shows it), so a standby's outbox holds only what is in flight. A
// promoted standby sends what it still holds; the destination deduplicates any copy.
// Thread-safety: single-executor.

#include "xbanku/app/projector.hpp"
#include "xbanku/domain/rules.hpp"
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

// What to do with one outbox entry, given what this instance owns and shadows.
enum class OutboxAction {
  send,  // its origin partition is owned here (or not shadowed: as without standbys)
  trim,  // shadowed origin, and the follow-up has arrived: the owner sent it
  hold   // shadowed origin, not arrived yet: the owner's to send
};
[[nodiscard]] OutboxAction outbox_action(const domain::Event& follow_up, const Ownership& own,
                                         const view::Store& store,
                                         const domain::Placement& placement);

class OutboxSender {
 public:
  // `owned` is read at each round (nullptr: every entry is sent, as before the projector
  // exists); it must outlive the sender.
  OutboxSender(boost::asio::any_io_executor ex, view::Store& store, log::Producer& producer,
               std::string topic, metrics::Registry& registry, const Ownership* const& owned,
               domain::Placement placement);

  // Sends what the outbox holds, then waits for notify() (or a second) and looks again, until
  // stop(); after stop() it finishes one more round and returns (what is left stays in the
  // view and is sent on restart).
  boost::asio::awaitable<void> run();
  // A commit may have added entries.
  void notify();
  void stop();

 private:
  // Whether anything was sent or trimmed (otherwise the round waits for a change).
  boost::asio::awaitable<bool> send(const std::vector<view::OutboxEntry>& entries);

  boost::asio::any_io_executor ex_;
  view::Store& store_;
  log::Producer& producer_;
  std::string topic_;
  boost::asio::steady_timer wake_;
  bool stopping_ = false;
  metrics::Gauge& pending_;
  const Ownership* const& owned_;
  domain::Placement placement_;
};

}  // namespace xbanku::app
