#pragma once
// The one owner of read-your-writes waits (DESIGN §3, §8): a command waiting here for its own
// record, another instance's forwarded wait (GET /commands/{id}?wait_ms=), the wake-up after
// each commit, the end of waits whose partition moved away, and what a pending cross-partition
// transfer has become as far as this view knows.
//
// A wait is registered BEFORE the command is produced (expect()), because the projector may
// commit the record before Kafka's acknowledgement reaches the producer.
// Thread-safety: single-executor, like the service.

#include "xbanku/domain/rules.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace xbanku::app {

class OutcomeWaits {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Woken {
    projected,  // the outcome is committed here
    timeout,    // the deadline passed
    moved,      // the partition was taken away from this instance: ask its new owner
    stopping    // the service is stopping
  };
  struct Result {
    Woken woken = Woken::timeout;
    std::optional<domain::Outcome> outcome;  // set when projected (resolved, see resolve())
  };

  // One registered wait; unregisters when destroyed. Move-only.
  class Ticket {
   public:
    Ticket(Ticket&&) noexcept;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();
    // Waits until projected, `deadline`, moved or stopping. After `moved` the ticket stays
    // registered and may wait again (the partition may come back here).
    boost::asio::awaitable<Result> wait_until(Clock::time_point deadline);
    // The outcome, if it was committed here since expect().
    [[nodiscard]] const std::optional<domain::Outcome>& outcome() const noexcept;

   private:
    friend class OutcomeWaits;
    struct Waiter;
    Ticket(OutcomeWaits& owner, std::unique_ptr<Waiter> waiter);
    OutcomeWaits* owner_;
    std::unique_ptr<Waiter> waiter_;
  };

  OutcomeWaits(boost::asio::any_io_executor ex, const view::Store& store,
               domain::Placement placement);

  // Registers a wait for the outcome of `command_id` from `principal` in `partition` (any
  // partition when nullopt: a forwarded wait names only the key).
  [[nodiscard]] Ticket expect(std::string command_id, std::string principal,
                              std::optional<std::int32_t> partition);

  // After each commit: wakes the waits of these keys whose outcome is now in the view.
  void committed(const std::vector<std::string>& command_ids);
  // The partitions left this instance: their waits (and those of unknown partition) end with
  // `moved`.
  void moved(const std::vector<std::int32_t>& partitions);
  // Every wait ends with `stopping` (the command is durable: its client gets 504 pending).
  void stop();

  // The outcome of a key as this view has it now (resolved), in `partition` or any.
  [[nodiscard]] boost::system::result<std::optional<domain::Outcome>> lookup(
      std::string_view command_id, std::string_view principal,
      std::optional<std::int32_t> partition) const;
  // A cross-partition transfer's outcome stays `pending` in its record; this is where it ended
  // as far as this view knows (refunded, completed, or still pending).
  [[nodiscard]] domain::Outcome resolve(domain::Outcome o) const;

 private:
  void wake(Ticket::Waiter& w, std::optional<domain::Outcome> outcome, Woken why);

  boost::asio::any_io_executor ex_;
  const view::Store& store_;
  domain::Placement placement_;
  std::unordered_multimap<std::string, Ticket::Waiter*> waiters_;  // by command id
  bool stopping_ = false;
};

}  // namespace xbanku::app
