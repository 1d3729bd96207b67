// OutboxSender: follow-ups from the view's outbox to the topic (see the header).
#include "xbanku/app/outbox_sender.hpp"

#include "xbanku/common/task_group.hpp"
#include "xbanku/domain/codec.hpp"
#include "xbanku/log/producer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

namespace xbanku::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr std::size_t kRound = 512;  // outbox entries sent per round
}

OutboxSender::OutboxSender(asio::any_io_executor ex, view::Store& store, log::Producer& producer,
                           std::string topic, metrics::Registry& registry)
    : ex_(ex),
      store_(store),
      producer_(producer),
      topic_(std::move(topic)),
      wake_(ex),
      pending_(registry.gauge("xbanku_outbox_pending",
                              "Follow-up events not yet acknowledged by Kafka")) {}

void OutboxSender::notify() {
  wake_.cancel();
}

void OutboxSender::stop() {
  stopping_ = true;
  wake_.cancel();
}

asio::awaitable<void> OutboxSender::run() {
  while (true) {
    auto entries = store_.outbox(kRound);
    if (!entries) {
      spdlog::error("outbox: cannot read the outbox: {}", entries.error().message());
    } else if (!entries->empty()) {
      pending_.set(static_cast<double>(entries->size()));
      co_await send(*entries);
      // On a stop, one round is enough: what is left stays in RocksDB and is sent on restart.
      if (!stopping_) continue;
    } else {
      pending_.set(0);
    }
    if (stopping_) break;
    wake_.expires_after(1s);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  spdlog::info("outbox: stopped");
}

// Sends one round concurrently (the idempotent producer keeps per-partition order); deletes the
// acknowledged entries.
asio::awaitable<void> OutboxSender::send(const std::vector<view::OutboxEntry>& entries) {
  std::vector<std::uint64_t> acked;
  acked.reserve(entries.size());
  TaskGroup group(ex_);
  for (const auto& entry : entries) {
    group.spawn(
        [](OutboxSender& self, const view::OutboxEntry& e,
           std::vector<std::uint64_t>& done) -> asio::awaitable<void> {
          const std::string value = domain::encode(e.event);
          auto sent = co_await self.producer_.send(self.topic_, e.event.acc_id, value);
          if (sent) done.push_back(e.seq);
        }(*this, entry, acked),
        "outbox send");
  }
  co_await group.wait();
  bool removed = true;
  if (!acked.empty()) {
    if (auto ec = store_.remove_outbox(acked)) {
      // E.g. a full disk: they are sent again next round (deduplicated on arrival), so pause as
      // for a failed send rather than flood Kafka with copies.
      spdlog::error("outbox: cannot remove sent entries: {}", ec.message());
      removed = false;
    }
  }
  pending_.set(static_cast<double>(entries.size() - acked.size()));
  if (acked.size() < entries.size() || !removed) {
    if (acked.size() < entries.size())
      spdlog::warn("outbox: {} follow-ups not acknowledged; retrying",
                   entries.size() - acked.size());
    asio::steady_timer pause(ex_, 500ms);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace xbanku::app
