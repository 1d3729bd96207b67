// OutcomeWaits: read-your-writes waits and their wake-ups (see the header).
#include "xbanku/app/outcome_waits.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace xbanku::app {

namespace asio = boost::asio;

struct OutcomeWaits::Ticket::Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
  std::string command_id;
  std::string principal;
  std::optional<std::int32_t> partition;
  asio::steady_timer timer;  // cancelled to wake the waiting coroutine
  std::optional<domain::Outcome> outcome;
  std::optional<Woken> woken;  // why the current wait was cut short, if it was
  std::unordered_multimap<std::string, Waiter*>::iterator registration;
};

OutcomeWaits::Ticket::Ticket(OutcomeWaits& owner, std::unique_ptr<Waiter> waiter)
    : owner_(&owner), waiter_(std::move(waiter)) {}

OutcomeWaits::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(other.owner_), waiter_(std::move(other.waiter_)) {}

OutcomeWaits::Ticket::~Ticket() {
  if (waiter_) owner_->waiters_.erase(waiter_->registration);
}

const std::optional<domain::Outcome>& OutcomeWaits::Ticket::outcome() const noexcept {
  return waiter_->outcome;
}

asio::awaitable<OutcomeWaits::Result> OutcomeWaits::Ticket::wait_until(Clock::time_point deadline) {
  Waiter& w = *waiter_;
  if (w.outcome) co_return Result{Woken::projected, w.outcome};
  if (owner_->stopping_) co_return Result{Woken::stopping, std::nullopt};
  w.woken.reset();
  w.timer.expires_at(deadline);
  co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (w.outcome) co_return Result{Woken::projected, w.outcome};
  co_return Result{w.woken.value_or(Woken::timeout), std::nullopt};
}

OutcomeWaits::OutcomeWaits(asio::any_io_executor ex, const view::Store& store,
                           domain::Placement placement)
    : ex_(std::move(ex)), store_(store), placement_(placement) {}

OutcomeWaits::Ticket OutcomeWaits::expect(std::string command_id, std::string principal,
                                          std::optional<std::int32_t> partition) {
  auto w = std::make_unique<Ticket::Waiter>(ex_);
  w->command_id = std::move(command_id);
  w->principal = std::move(principal);
  w->partition = partition;
  w->registration = waiters_.emplace(w->command_id, w.get());
  return Ticket(*this, std::move(w));
}

void OutcomeWaits::wake(Ticket::Waiter& w, std::optional<domain::Outcome> outcome, Woken why) {
  if (outcome) w.outcome = std::move(outcome);
  w.woken = why;
  w.timer.cancel();
}

void OutcomeWaits::committed(const std::vector<std::string>& command_ids) {
  for (const auto& id : command_ids) {
    auto [begin, end] = waiters_.equal_range(id);
    for (auto it = begin; it != end; ++it) {
      Ticket::Waiter& w = *it->second;
      if (w.outcome) continue;
      auto outcome = lookup(id, w.principal, w.partition);
      if (outcome && *outcome) wake(w, std::move(*outcome), Woken::projected);
    }
  }
}

void OutcomeWaits::moved(const std::vector<std::int32_t>& partitions) {
  for (auto& [id, w] : waiters_) {
    const bool affected = !w->partition || std::find(partitions.begin(), partitions.end(),
                                                     *w->partition) != partitions.end();
    if (affected && !w->outcome) wake(*w, std::nullopt, Woken::moved);
  }
}

void OutcomeWaits::stop() {
  stopping_ = true;
  for (auto& [id, w] : waiters_) {
    if (!w->outcome) wake(*w, std::nullopt, Woken::stopping);
  }
}

boost::system::result<std::optional<domain::Outcome>> OutcomeWaits::lookup(
    std::string_view command_id, std::string_view principal,
    std::optional<std::int32_t> partition) const {
  auto o = partition ? store_.outcome({*partition, principal, command_id})
                     : store_.find_outcome(command_id, principal, placement_.partitions);
  if (!o) return o.error();
  if (!*o) return std::optional<domain::Outcome>{};
  return std::optional<domain::Outcome>(resolve(std::move(**o)));
}

domain::Outcome OutcomeWaits::resolve(domain::Outcome o) const {
  using domain::TransferSide;
  using domain::TransferState;
  if (o.type != domain::EventType::transfer || o.status != domain::Status::pending ||
      o.transfer_id.empty()) {
    return o;
  }
  // Each side is kept in the partition whose records decide it: the transfer record's, and
  // the target account's.
  auto source =
      store_.transfer(domain::transfer_key(o.pos.partition, o.transfer_id, TransferSide::source));
  auto target = store_.transfer(
      domain::transfer_key(placement_.partition_of(o.to), o.transfer_id, TransferSide::target));
  if (source && *source == TransferState::refunded) o.status = domain::Status::refunded;
  if (target && *target == TransferState::completed) o.status = domain::Status::completed;
  return o;
}

}  // namespace xbanku::app
