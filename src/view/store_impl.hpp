#pragma once
// Private to src/view: the RocksDB handles behind Store, shared by store.cpp and compare.cpp.

#include "xbanku/view/account_cache.hpp"
#include "xbanku/view/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/status.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace xbanku::view {

enum class Cf : std::size_t {
  meta,  // the default column family
  accounts,
  history,
  outcomes,
  outcomes_by_pos,
  transfers,
  offsets,
  outbox,
  mirror_owed,
  owners,
  count_
};
inline constexpr std::size_t kCfCount = static_cast<std::size_t>(Cf::count_);

[[nodiscard]] std::string_view cf_name(Cf) noexcept;

// Logs a non-OK status (what + status text); true when OK.
bool check(const rocksdb::Status& s, std::string_view what);

// Printable form of a key for logs and differences (text as is, binary as hex).
[[nodiscard]] std::string printable(std::string_view key);

struct StrHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct Store::Impl {
  StoreOptions options;
  rocksdb::DB* db = nullptr;
  std::array<rocksdb::ColumnFamilyHandle*, kCfCount> cf{};
  std::vector<rocksdb::ColumnFamilyHandle*> foreign;  // unknown CFs found on disk (kept open)
  rocksdb::WriteOptions write_options;

  // Next outbox sequence to hand out (recovered from the last key on open).
  std::atomic<std::uint64_t> next_outbox_seq{1};
  // No live outbox key is below this (so outbox() seeks past delete tombstones).
  mutable std::atomic<std::uint64_t> outbox_floor{0};
  // Set once accounts changed with options.mirror_debts off, and stored with that commit
  // (meta "mirror-stale"): Redis then lacks changes no debt records. Read by the mirror's
  // thread, written by the projector's: atomic.
  std::atomic<bool> mirror_stale{false};
  // Serializes commit() with mark_mirrored()'s read-compare-delete.
  std::mutex write_mu;
  // RocksDB's words for the last failed commit or resume(); empty after a success. Written by
  // the projector's thread, read by /readyz.
  mutable std::mutex write_error_mu;
  std::string write_error;
  void set_write_error(const rocksdb::Status& s) {
    const std::lock_guard lock(write_error_mu);
    write_error = s.ok() ? std::string{} : s.ToString();
  }

  // Committed account states the projector has read or written: most records touch an account
  // some earlier batch touched, and a RocksDB point read walks every memtable and L0 file that
  // may hold the key (it was the projector's second cost after memtable inserts). Only the
  // projector reads it (Batch::account) and only commit() changes accounts, so it is always
  // exactly what RocksDB holds; a failed commit clears it. Bounded by
  // StoreOptions::account_cache_entries (see AccountCache).
  std::mutex cache_mu;
  AccountCache account_cache{0};  // sized by Store::open()

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();

  [[nodiscard]] rocksdb::ColumnFamilyHandle* h(Cf c) const noexcept {
    return cf[static_cast<std::size_t>(c)];
  }
  [[nodiscard]] std::unique_ptr<rocksdb::Iterator> iter(Cf c,
                                                        const rocksdb::ReadOptions& ro) const {
    return std::unique_ptr<rocksdb::Iterator>(db->NewIterator(ro, h(c)));
  }
};

}  // namespace xbanku::view
