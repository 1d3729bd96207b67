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
// Held entries (another owner's follow-ups in flight, see the header) can fill a round while its
// owner is dead; the window then grows up to this, so this instance's own follow-ups behind
// them still go out.
constexpr std::size_t kMaxWindow = 8192;
constexpr auto kHeldPause = 500ms;  // between two rounds that could only hold entries
}  // namespace

OutboxAction outbox_action(const domain::Event& e, const Ownership& own, const view::Store& store,
                           const domain::Placement& placement) {
  // A standby that has not heard from the group yet holds everything: its outbox may hold
  // other owners' follow-ups from before a restart.
  if (own.standby_enabled && !own.settled) return OutboxAction::hold;
  const bool credit = e.type == domain::EventType::transfer_credit;
  // A credit leaves the source's partition; a refund leaves the target's.
  const auto origin = placement.partition_of(credit ? e.source_id : e.target_id);
  if (own.assigned.contains(origin) || !own.shadowed.contains(origin)) return OutboxAction::send;
  const auto destination = placement.partition_of(e.acc_id);
  if (!own.folds(destination)) return OutboxAction::hold;  // cannot tell: the owner sends it
  const auto side = store.transfer(
      domain::transfer_key(destination, e.transfer_id,
                           credit ? domain::TransferSide::target : domain::TransferSide::source));
  if (!side || !side->has_value()) return OutboxAction::hold;
  // A credit's arrival leaves the target side in some state; a refund's, the source side
  // refunded or refund_failed (pending before).
  const bool arrived = credit || **side == domain::TransferState::refunded ||
                       **side == domain::TransferState::refund_failed;
  return arrived ? OutboxAction::trim : OutboxAction::hold;
}

OutboxSender::OutboxSender(asio::any_io_executor ex, view::Store& store, log::Producer& producer,
                           std::string topic, metrics::Registry& registry,
                           const Ownership* const& owned, domain::Placement placement)
    : ex_(ex),
      store_(store),
      producer_(producer),
      topic_(std::move(topic)),
      wake_(ex),
      pending_(registry.gauge("xbanku_outbox_pending",
                              "Follow-up events not yet acknowledged by Kafka")),
      owned_(owned),
      placement_(placement) {}

void OutboxSender::notify() {
  wake_.cancel();
}

void OutboxSender::stop() {
  stopping_ = true;
  wake_.cancel();
}

asio::awaitable<void> OutboxSender::run() {
  std::size_t window = kRound;
  while (true) {
    auto entries = store_.outbox(window);
    if (!entries) {
      spdlog::error("outbox: cannot read the outbox: {}", entries.error().message());
    } else if (!entries->empty()) {
      pending_.set(static_cast<double>(entries->size()));
      const bool progressed = co_await send(*entries);
      if (progressed) {
        window = kRound;
      } else if (entries->size() == window && window < kMaxWindow) {
        window = std::min(window * 4, kMaxWindow);  // a full window of held entries: look further
        if (!stopping_) continue;
      }
      // On a stop, one round is enough: what is left stays in RocksDB and is sent on restart.
      if (!stopping_ && progressed) continue;
      if (!stopping_) {
        // Only held entries (another owner's, in flight): look again in a while, not at every
        // commit — each costs a view read here, and there may be thousands while an owner is
        // dead.
        asio::steady_timer pause(ex_, kHeldPause);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
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
asio::awaitable<bool> OutboxSender::send(const std::vector<view::OutboxEntry>& entries) {
  std::vector<std::uint64_t> acked;  // sent, or trimmed (the owner sent them)
  acked.reserve(entries.size());
  std::size_t to_send = 0, trimmed = 0;
  TaskGroup group(ex_);
  for (const auto& entry : entries) {
    if (owned_ != nullptr) {
      const auto action = outbox_action(entry.event, *owned_, store_, placement_);
      if (action == OutboxAction::hold) continue;
      if (action == OutboxAction::trim) {
        acked.push_back(entry.seq);
        ++trimmed;
        continue;
      }
    }
    ++to_send;
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
  const std::size_t unsent = to_send - (acked.size() - trimmed);
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
  if (unsent > 0 || !removed) {
    if (unsent > 0) spdlog::warn("outbox: {} follow-ups not acknowledged; retrying", unsent);
    asio::steady_timer pause(ex_, 500ms);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return !acked.empty() && removed;
}

}  // namespace xbanku::app
