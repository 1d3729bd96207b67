// Commands: produce, then read-your-writes here or at the partition's owner (see the header).
#include "xbanku/app/commands.hpp"

#include "xbanku/common/error.hpp"
#include "xbanku/domain/codec.hpp"
#include "xbanku/log/producer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace xbanku::app {

namespace asio = boost::asio;
using asio::awaitable;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {
constexpr auto kOwnerRetry = 100ms;    // a read-your-writes wait looking for an owner
constexpr auto kStandbySlice = 250ms;  // a wait at a standby looks at its lag again this often
}  // namespace

Commands::Commands(asio::any_io_executor ex, CommandsConfig config, log::Producer& producer,
                   const view::Store& store, OutcomeWaits& waits, const Ownership& ownership,
                   const Directory& directory, cluster::PeerApi& peers, domain::Placement placement)
    : ex_(std::move(ex)),
      config_(std::move(config)),
      producer_(producer),
      store_(store),
      waits_(waits),
      ownership_(ownership),
      directory_(directory),
      peers_(peers),
      placement_(placement) {}

awaitable<CommandReply> Commands::execute(domain::Event event, bool wait) {
  CommandReply reply;
  reply.served_by = directory_.self();
  if (stopping_) {
    reply.error = errc::shutting_down;
    co_return reply;
  }
  // A repeat of a projected command answers its first outcome and writes nothing; a key the
  // view knows for another request is refused before anything is written (the API compares).
  // Only the key's own scope counts, the partition its account places it in: the same key in
  // another partition is another key there (DESIGN §2 folds each partition alone). Taking such
  // a record for "another request" refused with 422 retries of commands whose own record was
  // applied, but not yet folded here (an instance that does not own the partition, or a
  // wait=false record still in flight), and a 422 that lies may get a client to send it again.
  const std::int32_t partition = placement_.partition_of(event.acc_id);
  auto first = waits_.lookup(event.command_id, event.principal, partition);
  if (!first) {
    reply.error = errc::store_error;
    co_return reply;
  }
  if (*first) {
    reply.kind = CommandReply::Kind::projected;
    reply.where = {event.command_id, (*first)->pos.partition, (*first)->pos.offset};
    reply.outcome = std::move(**first);
    co_return reply;
  }
  // Registered before producing: the projector may commit the record before the ack arrives.
  auto ticket = waits_.expect(event.command_id, event.principal, partition);

  const auto delivery = co_await producer_.send(config_.topic, event.acc_id, domain::encode(event));
  if (!delivery) {
    reply.error = delivery.error();
    co_return reply;
  }
  reply.where = {event.command_id, delivery->partition, delivery->offset};
  if (!wait) {
    reply.kind = CommandReply::Kind::accepted;
    co_return reply;
  }
  auto outcome = co_await wait_for_projection(ticket, delivery->partition, event.command_id,
                                              event.principal, reply.served_by);
  if (outcome) {
    reply.kind = CommandReply::Kind::projected;
    reply.outcome = std::move(outcome);
  } else {
    reply.kind = CommandReply::Kind::pending;
  }
  co_return reply;
}

// Read-your-writes: here while this instance projects the partition, else at its owner (§8);
// a partition that moves mid-wait is followed to its new owner, until the configured bound.
awaitable<std::optional<domain::Outcome>> Commands::wait_for_projection(
    OutcomeWaits::Ticket& ticket, std::int32_t partition, const std::string& command_id,
    const std::string& principal, std::string& served_by) {
  const auto deadline = Clock::now() + config_.wait;
  while (!stopping_) {
    if (ticket.outcome()) co_return ticket.outcome();
    if (ownership_.resolves_waits(partition)) {  // owned, or a standby near the log's end
      // A standby is looked at again every slice: one that falls behind (or stops shadowing)
      // hands the wait to the owner rather than keep it to the deadline.
      const bool standby = !ownership_.assigned.contains(partition);
      const auto until = standby ? std::min(deadline, Clock::now() + kStandbySlice) : deadline;
      const auto r = co_await ticket.wait_until(until);
      if (r.woken == OutcomeWaits::Woken::moved) continue;  // wait at the new owner
      if (r.woken == OutcomeWaits::Woken::timeout && until < deadline) continue;
      co_return r.outcome;  // projected, or the bound passed
    }
    const auto now = Clock::now();
    if (now >= deadline) break;
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (auto owner = directory_.owner(partition); owner && owner->instance != directory_.self()) {
      // The key's outcome in this partition only: the same key may name another request in
      // another partition, which is not this record's outcome (DESIGN §2, a key's scope).
      auto reply = co_await peers_.command(*owner, command_id, principal, remaining, partition);
      if (reply.status == cluster::PeerStatus::ok) {
        served_by = reply.served_by;
        co_return std::move(reply.value);
      }
      // Not found: the owner waited until our deadline (or lost the partition meanwhile: go on).
      if (reply.status == cluster::PeerStatus::not_found && Clock::now() + kOwnerRetry >= deadline)
        break;
    }
    // No owner known (a rebalance is under way), or it did not answer: look again shortly.
    asio::steady_timer pause(ex_, std::min<Clock::duration>(kOwnerRetry, deadline - Clock::now()));
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return ticket.outcome();
}

}  // namespace xbanku::app
