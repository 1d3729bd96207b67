#pragma once
// An in-memory State for rule tests: what the view keeps, as plain maps.

#include "xbanku/domain/partitioner.hpp"
#include "xbanku/domain/rules.hpp"

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace xbanku::domain::testing {

class MemoryState final : public State {
 public:
  std::map<std::string, Account, std::less<>> accounts;
  // Idempotency keys by scope (partition, principal, command id): the first record's request.
  std::map<std::tuple<std::int32_t, std::string, std::string>, Request> commands;
  std::map<std::string, TransferState, std::less<>> transfers;
  std::map<std::string, std::vector<HistoryEntry>, std::less<>> history;

  [[nodiscard]] std::optional<Account> account(std::string_view id) const override {
    const auto it = accounts.find(id);
    if (it == accounts.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] std::optional<Request> first_request(const CommandKey& key) const override {
    const auto it =
        commands.find({key.partition, std::string(key.principal), std::string(key.command_id)});
    if (it == commands.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] bool command_seen(std::int32_t partition, std::string_view command_id) const {
    return first_request({partition, "", command_id}).has_value();
  }
  [[nodiscard]] std::optional<TransferState> transfer(std::string_view id) const override {
    const auto it = transfers.find(id);
    if (it == transfers.end()) return std::nullopt;
    return it->second;
  }

  // What the projector does with a decision (in one WriteBatch there).
  void apply(const Decision& d) {
    if (d.duplicate) return;
    for (const Account& a : d.changes) accounts[a.id] = a;
    for (const auto& [id, entry] : d.history) history[id].push_back(entry);
    if (!d.outcome.command_id.empty() && !d.by_position) {
      commands.emplace(
          std::tuple{d.outcome.pos.partition, d.outcome.principal, d.outcome.command_id},
          request_of(d.outcome));
    }
    if (d.transfer_update) transfers[d.transfer_update->first] = d.transfer_update->second;
  }

  void put(Account a) { accounts[a.id] = std::move(a); }

  friend bool operator==(const MemoryState& a, const MemoryState& b) {
    return a.accounts == b.accounts && a.commands == b.commands && a.transfers == b.transfers &&
           a.history == b.history;
  }
};

// A UUID-shaped account id, numbered, for readable tests.
inline std::string account_id(unsigned n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012u", n);
  return buf;
}

// The first numbered account id (from `start`) whose partition is / is not `partition`.
inline std::string account_in(std::int32_t partition, std::int32_t partitions, unsigned start = 1) {
  for (unsigned n = start;; ++n) {
    auto id = account_id(n);
    if (partition_for_key(id, partitions) == partition) return id;
  }
}
inline std::string account_not_in(std::int32_t partition, std::int32_t partitions,
                                  unsigned start = 1) {
  for (unsigned n = start;; ++n) {
    auto id = account_id(n);
    if (partition_for_key(id, partitions) != partition) return id;
  }
}

}  // namespace xbanku::domain::testing
