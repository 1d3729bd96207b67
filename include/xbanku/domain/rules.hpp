#pragma once
// The projection rules (DESIGN §2) as a pure function: (state, record) → (changes, outcome,
// follow-ups). Deterministic: the same log folded into the same state gives the same view.

#include <xbanku/domain/codec.hpp>
#include <xbanku/domain/events.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xbanku::domain {

struct Account {
  std::string id;
  std::string name;
  std::int64_t balance = 0;
  std::uint64_t version = 0;  // number of records applied to the account
  friend bool operator==(const Account&, const Account&) = default;
};

enum class Status : std::uint8_t { applied, rejected, pending, completed, refunded };
enum class Reason : std::uint8_t {
  none,
  account_exists,
  account_not_found,
  balance_overflow,
  insufficient_funds,
  same_account,
  target_not_found,
  invalid_amount,
  malformed_event,
  unknown_type
};

// The snake_case name of the enumerator, e.g. "insufficient_funds".
[[nodiscard]] std::string_view to_string(Status) noexcept;
[[nodiscard]] std::string_view to_string(Reason) noexcept;

// Where a transfer stands, on one side. A transfer keeps one state per partition it touches,
// each written and read only by that partition's records, so that folding the partitions in
// any order — one instance or several, live or replayed — gives the same view:
//   source side (the transfer record's partition): completed for a same-partition transfer;
//     pending for a cross-partition one, → refunded when its refund arrives;
//   target side (the credit's partition): completed, or credit_failed (refund emitted).
enum class TransferState : std::uint8_t { pending, completed, credit_failed, refunded };
[[nodiscard]] std::string_view to_string(TransferState) noexcept;

enum class TransferSide : std::uint8_t { source, target };
// The view's key for one side of a transfer: "s/<transfer id>" or "t/<transfer id>".
[[nodiscard]] std::string transfer_key(std::string_view transfer_id, TransferSide side);

struct RecordPos {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  friend bool operator==(const RecordPos&, const RecordPos&) = default;
};

// One line of an account's history: a record applied to it.
struct HistoryEntry {
  RecordPos pos;
  EventType type{};
  std::int64_t amount = 0;  // > 0 for money movements (type tells the direction), 0 for create
  std::int64_t balance_after = 0;
  std::string counterparty;  // other account of a transfer/credit/refund, else empty
  std::string command_id;    // empty if none
  std::string transfer_id;   // for transfer/credit/refund
  std::int64_t ts = 0;
  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

// The one outcome of a record.
struct Outcome {
  Status status = Status::applied;
  Reason reason = Reason::none;
  std::string command_id;  // may be empty (Go-format record, follow-ups)
  EventType type{};
  RecordPos pos;
  std::string account_id;          // AccId of the record
  std::optional<Account> account;  // resulting state of the record's account, if it exists
  std::string transfer_id, from, to;  // transfers, credits and refunds only
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// What the rules may read; implemented by the view (RocksDB + in-batch overlay) and by tests.
class State {
 public:
  virtual ~State() = default;
  [[nodiscard]] virtual std::optional<Account> account(std::string_view id) const = 0;
  [[nodiscard]] virtual bool command_seen(std::string_view command_id) const = 0;
  // `key` is a transfer_key().
  [[nodiscard]] virtual std::optional<TransferState> transfer(std::string_view key) const = 0;
};

struct Decision {
  // CommandId already seen, or credit/refund already applied: change NOTHING and record no
  // new outcome (`outcome` then only names the record: command_id, type, pos, account_id).
  bool duplicate = false;
  Outcome outcome;
  // Full new state of each changed account (upserts), at most 2.
  std::vector<Account> changes;
  // (account id, entry) to append to that account's history, in order; one per change.
  std::vector<std::pair<std::string, HistoryEntry>> history;
  // TransferCreditEvent / TransferRefundEvent to produce (via the outbox), keyed by acc_id.
  std::vector<Event> follow_ups;
  // New state of one side of a transfer (transfer_key → state; overwrite, never backwards).
  std::optional<std::pair<std::string, TransferState>> transfer_update;
};

struct Placement {
  std::int32_t partitions = 1;
  // The partition holding an account's records: partition_for_key(account_id, partitions).
  [[nodiscard]] std::int32_t partition_of(std::string_view account_id) const noexcept;
};

// Decide what record `event` at `pos` does to `state` (DESIGN §2). Pure; deterministic.
// The caller must record `outcome.command_id` (when set) as seen together with the changes,
// whatever the outcome, unless `duplicate`.
[[nodiscard]] Decision decide(const State& state, const Event& event, RecordPos pos,
                              const Placement& placement);

// For records that failed to decode: the outcome the projector records (rejected with
// invalid_amount / malformed_event / unknown_type, best-effort command and account ids).
[[nodiscard]] Outcome undecodable_outcome(const DecodeError&, RecordPos);

// The transfer id of a TransferEvent at `pos`: its CommandId, else "<partition>-<offset>".
[[nodiscard]] std::string transfer_id_for(const Event& transfer, RecordPos pos);

}  // namespace xbanku::domain
