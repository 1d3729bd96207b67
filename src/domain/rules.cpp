#include "xbanku/domain/rules.hpp"

#include "xbanku/domain/partitioner.hpp"

#include <fmt/format.h>

#include <limits>

namespace xbanku::domain {

std::string_view to_string(Status s) noexcept {
  switch (s) {
    case Status::applied: return "applied";
    case Status::rejected: return "rejected";
    case Status::pending: return "pending";
    case Status::completed: return "completed";
    case Status::refunded: return "refunded";
  }
  return "unknown";
}

std::string_view to_string(Reason r) noexcept {
  switch (r) {
    case Reason::none: return "none";
    case Reason::account_exists: return "account_exists";
    case Reason::account_not_found: return "account_not_found";
    case Reason::balance_overflow: return "balance_overflow";
    case Reason::insufficient_funds: return "insufficient_funds";
    case Reason::same_account: return "same_account";
    case Reason::target_not_found: return "target_not_found";
    case Reason::invalid_amount: return "invalid_amount";
    case Reason::malformed_event: return "malformed_event";
    case Reason::unknown_type: return "unknown_type";
    case Reason::misplaced_record: return "misplaced_record";
    case Reason::idempotency_key_reused: return "idempotency_key_reused";
  }
  return "unknown";
}

std::string_view to_string(TransferState s) noexcept {
  switch (s) {
    case TransferState::pending: return "pending";
    case TransferState::completed: return "completed";
    case TransferState::credit_failed: return "credit_failed";
    case TransferState::refunded: return "refunded";
    case TransferState::refund_failed: return "refund_failed";
  }
  return "unknown";
}

std::int32_t Placement::partition_of(std::string_view account_id) const noexcept {
  return partition_for_key(account_id, partitions);
}

std::string transfer_key(std::int32_t partition, std::string_view transfer_id, TransferSide side) {
  return fmt::format("{}/{}/{}", partition, side == TransferSide::source ? 's' : 't', transfer_id);
}

std::string transfer_id_at(RecordPos pos) {
  return fmt::format("{}-{}", pos.partition, pos.offset);
}

Request request_of(const Event& e) {
  Request r;
  r.type = e.type;
  r.account = e.acc_id;
  if (e.type == EventType::transfer) r.target = e.target_id;
  if (e.type == EventType::create) {
    r.name = e.acc_name;
  } else {
    r.amount = e.amount;
  }
  return r;
}

Request request_of(const Outcome& o) {
  Request r;
  r.type = o.type;
  r.account = o.account_id;
  if (o.type == EventType::transfer) r.target = o.to;
  r.amount = o.amount;
  r.name = o.name;
  return r;
}

namespace {

constexpr std::int64_t kMaxBalance = std::numeric_limits<std::int64_t>::max();

// amount is positive (checked before): the sum passes 2^63-1 exactly when this is true.
bool credit_overflows(std::int64_t balance, std::int64_t amount) noexcept {
  return balance > kMaxBalance - amount;
}

void reject(Decision& d, Reason reason, std::optional<Account> account) {
  d.outcome.status = Status::rejected;
  d.outcome.reason = reason;
  d.outcome.account = std::move(account);
}

// Applies one record to one account: new balance, version + 1, one history line.
Account apply(Decision& d, Account account, std::int64_t new_balance, const Event& e, RecordPos pos,
              std::string_view counterparty, std::string_view transfer_id) {
  account.balance = new_balance;
  ++account.version;
  d.history.emplace_back(
      account.id,
      HistoryEntry{pos, e.type, e.amount, account.balance, std::string(counterparty), e.command_id,
                   std::string(transfer_id), e.ts, e.principal, e.request_id});
  d.changes.push_back(account);
  return account;
}

void decide_create(const State& st, const Event& e, RecordPos pos, Decision& d) {
  if (auto existing = st.account(e.acc_id)) {
    reject(d, Reason::account_exists, std::move(existing));  // never reset (the Go bug)
    return;
  }
  Account fresh{e.acc_id, e.acc_name, 0, 0, e.principal};
  d.outcome.account = apply(d, std::move(fresh), 0, e, pos, {}, {});
}

void decide_deposit(const State& st, const Event& e, RecordPos pos, Decision& d) {
  auto account = st.account(e.acc_id);
  if (!account) return reject(d, Reason::account_not_found, std::nullopt);
  if (credit_overflows(account->balance, e.amount)) {
    return reject(d, Reason::balance_overflow, std::move(account));
  }
  const std::int64_t balance = account->balance + e.amount;
  d.outcome.account = apply(d, std::move(*account), balance, e, pos, {}, {});
}

void decide_withdraw(const State& st, const Event& e, RecordPos pos, Decision& d) {
  auto account = st.account(e.acc_id);
  if (!account) return reject(d, Reason::account_not_found, std::nullopt);
  if (e.amount > account->balance) return reject(d, Reason::insufficient_funds, std::move(account));
  const std::int64_t balance = account->balance - e.amount;
  d.outcome.account = apply(d, std::move(*account), balance, e, pos, {}, {});
}

void decide_transfer(const State& st, const Event& e, RecordPos pos, const Placement& placement,
                     Decision& d) {
  const std::string id = d.outcome.transfer_id;  // set by decide()

  auto source = st.account(e.acc_id);
  if (!source) return reject(d, Reason::account_not_found, std::nullopt);
  if (e.target_id == e.acc_id) return reject(d, Reason::same_account, std::move(source));
  if (e.amount > source->balance) return reject(d, Reason::insufficient_funds, std::move(source));
  const std::int64_t source_balance = source->balance - e.amount;

  if (placement.partition_of(e.target_id) == pos.partition) {
    // Both accounts live in this partition: debit and credit in one atomic step.
    auto target = st.account(e.target_id);
    if (!target) return reject(d, Reason::target_not_found, std::move(source));
    if (credit_overflows(target->balance, e.amount)) {
      return reject(d, Reason::balance_overflow, std::move(source));
    }
    const std::int64_t target_balance = target->balance + e.amount;
    d.outcome.account = apply(d, std::move(*source), source_balance, e, pos, e.target_id, id);
    apply(d, std::move(*target), target_balance, e, pos, e.acc_id, id);
    d.outcome.status = Status::completed;
    d.transfer_update.emplace(transfer_key(pos.partition, id, TransferSide::source),
                              TransferState::completed);
    return;
  }

  // The target lives in another partition: debit now; its partition's projector credits it
  // (or refunds us) when the follow-up arrives there. A replay re-sends the credit; the
  // target's side of the transfer makes the copy a duplicate there.
  d.outcome.account = apply(d, std::move(*source), source_balance, e, pos, e.target_id, id);
  d.outcome.status = Status::pending;  // readers resolve it from the two sides' states
  Event credit;
  credit.type = EventType::transfer_credit;
  credit.acc_id = e.target_id;
  credit.source_id = e.acc_id;
  credit.amount = e.amount;
  credit.transfer_id = id;
  credit.ts = e.ts;
  d.follow_ups.push_back(std::move(credit));
  d.transfer_update.emplace(transfer_key(pos.partition, id, TransferSide::source),
                            TransferState::pending);
}

void decide_credit(const State& st, const Event& e, RecordPos pos, Decision& d) {
  d.outcome.transfer_id = e.transfer_id;
  d.outcome.from = e.source_id;
  d.outcome.to = e.acc_id;
  const auto target_key = transfer_key(pos.partition, e.transfer_id, TransferSide::target);
  if (st.transfer(target_key)) {
    d.duplicate = true;  // redelivered or re-sent credit: it already landed (or failed) once
    return;
  }
  auto target = st.account(e.acc_id);
  Reason failure = Reason::none;
  if (!target) {
    failure = Reason::target_not_found;
  } else if (credit_overflows(target->balance, e.amount)) {
    failure = Reason::balance_overflow;
  }
  if (failure != Reason::none) {
    // Give the money back to the source, in the source's partition.
    reject(d, failure, std::move(target));
    Event refund;
    refund.type = EventType::transfer_refund;
    refund.acc_id = e.source_id;
    refund.target_id = e.acc_id;
    refund.amount = e.amount;
    refund.transfer_id = e.transfer_id;
    refund.reason = std::string(to_string(failure));
    refund.ts = e.ts;
    d.follow_ups.push_back(std::move(refund));
    d.transfer_update.emplace(target_key, TransferState::credit_failed);
    return;
  }
  const std::int64_t balance = target->balance + e.amount;
  d.outcome.account = apply(d, std::move(*target), balance, e, pos, e.source_id, e.transfer_id);
  d.outcome.status = Status::completed;
  d.transfer_update.emplace(target_key, TransferState::completed);
}

void decide_refund(const State& st, const Event& e, RecordPos pos, Decision& d) {
  d.outcome.transfer_id = e.transfer_id;
  d.outcome.from = e.acc_id;
  d.outcome.to = e.target_id;
  const auto source_key = transfer_key(pos.partition, e.transfer_id, TransferSide::source);
  // Refunds are deduplicated by transfer id like credits: the first copy decides, whatever its
  // outcome. A copy re-sent after a rejected one (an outbox retry, a replay, a hand-written
  // record) must not be applied later, when the account could take it: the view would then
  // depend on timing, not on the log.
  if (const auto side = st.transfer(source_key);
      side == TransferState::refunded || side == TransferState::refund_failed) {
    d.duplicate = true;
    return;
  }
  auto source = st.account(e.acc_id);
  Reason failure = Reason::none;
  if (!source) {
    // Accounts are never deleted and the source was debited in this partition, so this is
    // only reachable with a hand-written record.
    failure = Reason::account_not_found;
  } else if (credit_overflows(source->balance, e.amount)) {
    // The source refilled to within `amount` of 2^63-1 while the transfer was in flight: the
    // money is then held (debited, never credited), visible as a rejected refund. Extremely
    // unlikely with amounts capped at 10^15.
    failure = Reason::balance_overflow;
  }
  if (failure != Reason::none) {
    reject(d, failure, std::move(source));
    d.transfer_update.emplace(source_key, TransferState::refund_failed);
    return;
  }
  const std::int64_t balance = source->balance + e.amount;
  d.outcome.account = apply(d, std::move(*source), balance, e, pos, e.target_id, e.transfer_id);
  d.outcome.status = Status::refunded;
  d.transfer_update.emplace(source_key, TransferState::refunded);
}

}  // namespace

Decision decide(const State& state, const Event& event, RecordPos pos, const Placement& placement) {
  Decision d;
  d.outcome.command_id = event.command_id;
  d.outcome.type = event.type;
  d.outcome.pos = pos;
  d.outcome.account_id = event.acc_id;
  d.outcome.principal = event.principal;
  if (event.type == EventType::create) {
    d.outcome.name = event.acc_name;
  } else {
    d.outcome.amount = event.amount;
  }
  if (event.type == EventType::transfer) {
    d.outcome.transfer_id = transfer_id_at(pos);
    d.outcome.from = event.acc_id;
    d.outcome.to = event.target_id;
  }

  // Placement first. A record in a partition that is not its account's (a keyless producer,
  // another partitioner) would otherwise be folded in whatever order partitions happen to be
  // read, against state that belongs to another partition's records: it touches nothing, not
  // even its key's scope, and the projector dead-letters it.
  if (placement.partition_of(event.acc_id) != pos.partition) {
    d.by_position = true;
    reject(d, Reason::misplaced_record, std::nullopt);
    return d;
  }
  // The idempotency key, in its scope: the same request again changes nothing and shares the
  // first outcome; another request under the same key is refused, never taken for the first.
  if (!event.command_id.empty()) {
    if (auto first = state.first_request({pos.partition, event.principal, event.command_id})) {
      if (*first == request_of(event)) {
        d.duplicate = true;
      } else {
        d.by_position = true;
        reject(d, Reason::idempotency_key_reused, std::nullopt);
      }
      return d;
    }
  }
  // decode() already guarantees this; checked again so that no caller can move bad amounts.
  if (event.type != EventType::create && !valid_amount(event.amount)) {
    reject(d, Reason::invalid_amount, state.account(event.acc_id));
    return d;
  }
  switch (event.type) {
    case EventType::create: decide_create(state, event, pos, d); break;
    case EventType::deposit: decide_deposit(state, event, pos, d); break;
    case EventType::withdraw: decide_withdraw(state, event, pos, d); break;
    case EventType::transfer: decide_transfer(state, event, pos, placement, d); break;
    case EventType::transfer_credit: decide_credit(state, event, pos, d); break;
    case EventType::transfer_refund: decide_refund(state, event, pos, d); break;
  }
  return d;
}

Outcome undecodable_outcome(const DecodeError& error, RecordPos pos) {
  Outcome o;
  o.status = Status::rejected;
  switch (error.code) {
    case DecodeErrc::malformed_event: o.reason = Reason::malformed_event; break;
    case DecodeErrc::unknown_type: o.reason = Reason::unknown_type; break;
    case DecodeErrc::invalid_amount: o.reason = Reason::invalid_amount; break;
  }
  o.command_id = error.command_id;
  o.type = error.type;
  o.pos = pos;
  o.account_id = error.acc_id;
  o.principal = error.principal;
  return o;
}

Decision decide_undecodable(const State& state, const DecodeError& error, RecordPos pos,
                            const Placement& placement) {
  Decision d;
  d.outcome = undecodable_outcome(error, pos);
  // invalid_amount is only reported for an otherwise well-formed event (codec.hpp), so its
  // AccId is valid and placement applies as in decide(): checked before the key, a misplaced
  // record belongs to no scope. (Malformed records and unknown types have no trustworthy
  // account: they are dead-lettered where they lie.)
  if (error.code == DecodeErrc::invalid_amount &&
      placement.partition_of(error.acc_id) != pos.partition) {
    d.by_position = true;
    d.outcome.reason = Reason::misplaced_record;
    return d;
  }
  // A key already taken in its scope keeps naming its first outcome.
  d.by_position =
      !error.command_id.empty() &&
      state.first_request({pos.partition, error.principal, error.command_id}).has_value();
  return d;
}

}  // namespace xbanku::domain
