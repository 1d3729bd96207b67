#pragma once
// Shared by the view tests: a temporary directory per test and terse builders of decisions.

#include "xbanku/domain/rules.hpp"
#include "xbanku/view/store.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace xbanku::view::testing {

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xbanku-view-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<Store> open_store(const std::filesystem::path& dir) {
  auto r = Store::open(StoreOptions{dir, false, std::size_t{8} << 20});
  if (!r) ADD_FAILURE() << "open " << dir << ": " << r.error().message();
  return r ? std::move(*r) : nullptr;
}

// The outcome of `command_id` (no principal) in whichever of the first 16 partitions has it.
inline boost::system::result<std::optional<domain::Outcome>> outcome_of(
    const Store& store, std::string_view command_id) {
  return store.find_outcome(command_id, "", 16);
}

// Whether `batch` knows the key `command_id` (no principal) in `partition`.
inline bool seen(const Batch& batch, std::string_view command_id, std::int32_t partition = 0) {
  return batch.first_request({partition, "", command_id}).has_value();
}

inline std::string id(unsigned n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012u", n);
  return buf;
}

inline domain::HistoryEntry entry(domain::RecordPos pos, domain::EventType type,
                                  std::int64_t amount, std::int64_t balance_after,
                                  std::string command_id = {}) {
  domain::HistoryEntry e;
  e.pos = pos;
  e.type = type;
  e.amount = amount;
  e.balance_after = balance_after;
  e.command_id = std::move(command_id);
  e.ts = 1'700'000'000'000 + pos.offset;
  return e;
}

// The decision for a record that moves `account` to `after` (balance += delta, version + 1).
inline domain::Decision change(const domain::Account& before, std::int64_t delta,
                               domain::EventType type, domain::RecordPos pos,
                               std::string command_id = {}) {
  domain::Decision d;
  domain::Account after = before;
  after.balance += delta;
  after.version += 1;
  d.outcome.status = domain::Status::applied;
  d.outcome.command_id = command_id;
  d.outcome.type = type;
  d.outcome.pos = pos;
  d.outcome.account_id = before.id;
  d.outcome.account = after;
  d.changes.push_back(after);
  d.history.emplace_back(before.id, entry(pos, type, delta < 0 ? -delta : delta, after.balance,
                                          std::move(command_id)));
  return d;
}

inline domain::Decision create(const std::string& account_id, const std::string& name,
                               domain::RecordPos pos, std::string command_id = {}) {
  return change(domain::Account{account_id, name, 0, 0}, 0, domain::EventType::create, pos,
                std::move(command_id));
}

inline domain::Decision rejected(const std::string& account_id, domain::Reason reason,
                                 domain::RecordPos pos, std::string command_id = {}) {
  domain::Decision d;
  d.outcome.status = domain::Status::rejected;
  d.outcome.reason = reason;
  d.outcome.command_id = std::move(command_id);
  d.outcome.type = domain::EventType::withdraw;
  d.outcome.pos = pos;
  d.outcome.account_id = account_id;
  return d;
}

}  // namespace xbanku::view::testing
