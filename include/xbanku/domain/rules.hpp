#pragma once
// The projection rules (DESIGN §2) as a pure function: (state, record) → (changes, outcome,
// follow-ups). Deterministic: the same log folded into the same state gives the same view.

#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/events.hpp"

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
  std::string owner;          // the principal whose create made it; empty without authentication
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
  unknown_type,
  misplaced_record,       // the record's partition is not its account's (DESIGN §2, placement)
  idempotency_key_reused  // its CommandId names a different request in this scope
};

// The snake_case name of the enumerator, e.g. "insufficient_funds".
[[nodiscard]] std::string_view to_string(Status) noexcept;
[[nodiscard]] std::string_view to_string(Reason) noexcept;

// Where a transfer stands, on one side. A transfer keeps one state per partition it touches,
// each written and read only by that partition's records, so that folding the partitions in
// any order — one instance or several, live or replayed — gives the same view:
//   source side (the transfer record's partition): completed for a same-partition transfer;
//     pending for a cross-partition one, → refunded when its refund arrives, or refund_failed
//     when the refund is rejected (the money is then held; later copies change nothing);
//   target side (the credit's partition): completed, or credit_failed (refund emitted).
enum class TransferState : std::uint8_t {
  pending,
  completed,
  credit_failed,
  refunded,
  refund_failed
};
[[nodiscard]] std::string_view to_string(TransferState) noexcept;

enum class TransferSide : std::uint8_t { source, target };
// The view's key for one side of a transfer, in the partition whose records keep it:
// "<partition>/s/<transfer id>" or "<partition>/t/<transfer id>". The partition is part of the
// key because a transfer id is only written by xbanku as a position (transfer_id_at), while any
// Kafka client can write a credit or refund naming any id into any partition: keyed by the id
// alone, two partitions' records would share a state, and what one of them decided would
// depend on which partition was folded first.
[[nodiscard]] std::string transfer_key(std::int32_t partition, std::string_view transfer_id,
                                       TransferSide side);

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
  std::string principal;   // who asked (audit trail); empty without authentication
  std::string request_id;  // the API request that wrote the record; empty if none
  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

// The one outcome of a record.
struct Outcome {
  Status status = Status::applied;
  Reason reason = Reason::none;
  std::string command_id;  // may be empty (Go-format record, follow-ups)
  // nullopt only for a record that could not be decoded and whose Type could not be read
  // either: its outcome claims no type rather than a default one.
  std::optional<EventType> type;
  RecordPos pos;
  std::string account_id;             // AccId of the record
  std::optional<Account> account;     // resulting state of the record's account, if it exists
  std::string transfer_id, from, to;  // transfers, credits and refunds only
  // What the record asked for, beyond type and accounts: the idempotency key is bound to it.
  std::int64_t amount = 0;  // Amount (0 for a create)
  std::string name;         // AccName of a create
  std::string principal;    // the key's scope (with the partition); empty without authentication
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// What a command asked for: the part of a record its idempotency key is bound to (DESIGN §2).
// Two records with one CommandId in one scope are the same request exactly when these match;
// Ts, RequestId and the transport are not part of it.
struct Request {
  std::optional<EventType> type;  // nullopt only for an undecodable record of unreadable Type
  std::string account;            // AccId
  std::string target;             // TargetId of a transfer
  std::int64_t amount = 0;
  std::string name;  // AccName of a create
  friend bool operator==(const Request&, const Request&) = default;
};
[[nodiscard]] Request request_of(const Event&);
[[nodiscard]] Request request_of(const Outcome&);

// Where an idempotency key is looked up: the partition of the record (the partition of the
// account the command names first) and the principal. The same key in another partition or
// from another principal is another key: the fold only ever sees one partition's records in
// a fixed order, so only a scope it sees whole can decide reuse the same way everywhere.
struct CommandKey {
  std::int32_t partition = 0;
  std::string_view principal;
  std::string_view command_id;
};

// What the rules may read; implemented by the view (RocksDB + in-batch overlay) and by tests.
class State {
 public:
  virtual ~State() = default;
  [[nodiscard]] virtual std::optional<Account> account(std::string_view id) const = 0;
  // The request of the first record that used this key (its outcome is recorded under it).
  [[nodiscard]] virtual std::optional<Request> first_request(const CommandKey& key) const = 0;
  // `key` is a transfer_key().
  [[nodiscard]] virtual std::optional<TransferState> transfer(std::string_view key) const = 0;
};

struct Decision {
  // The key was used before for the same request, or a credit/refund already applied: change
  // NOTHING and record no new outcome (`outcome` then only names the record: command_id, type,
  // pos, account_id). The first record's outcome is this one's.
  bool duplicate = false;
  // Record the outcome under the record's position, not under its CommandId: the key already
  // names another request's outcome (idempotency_key_reused), or the record is misplaced and
  // belongs to no scope. Nothing else changes.
  bool by_position = false;
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
// The caller must record the outcome under its CommandKey (when it has a CommandId) together
// with the changes, whatever the outcome, unless `duplicate` or `by_position`.
[[nodiscard]] Decision decide(const State& state, const Event& event, RecordPos pos,
                              const Placement& placement);

// For records that failed to decode: the outcome the projector records (rejected with
// invalid_amount / malformed_event / unknown_type, best-effort command and account ids, and the
// type when the record's Type could be read).
[[nodiscard]] Outcome undecodable_outcome(const DecodeError&, RecordPos);

// What a record that failed to decode does (DESIGN §2): nothing but its outcome. A record whose
// only problem is its amount is otherwise a well-formed event of a known account, so placement
// is checked first, as for any event: misplaced, it is rejected misplaced_record and takes no
// key (`by_position`). Otherwise its outcome takes its CommandId in its scope when the key is
// free there (bound to no request a valid record can repeat: its amount is 0, its name empty),
// and is kept by position when the key is taken. Pure; deterministic.
[[nodiscard]] Decision decide_undecodable(const State& state, const DecodeError& error,
                                          RecordPos pos, const Placement& placement);

// The id of the transfer whose TransferEvent is at `pos`: "<partition>-<offset>". Always the
// position, never the CommandId: a position names one record forever, while a key is only
// unique in its scope (partition, principal), and a client chooses it. So no key, chosen or
// reused, can name (and complete, or refund) a transfer it did not write.
[[nodiscard]] std::string transfer_id_at(RecordPos pos);

}  // namespace xbanku::domain
