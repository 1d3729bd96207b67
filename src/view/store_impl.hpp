#pragma once
// Private to src/view: the RocksDB handles behind Store, shared by store.cpp and compare.cpp.

#include "xbanku/view/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/status.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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
  count_
};
inline constexpr std::size_t kCfCount = static_cast<std::size_t>(Cf::count_);

[[nodiscard]] std::string_view cf_name(Cf) noexcept;

// Logs a non-OK status (what + status text); true when OK.
bool check(const rocksdb::Status& s, std::string_view what);

// Printable form of a key for logs and differences (text as is, binary as hex).
[[nodiscard]] std::string printable(std::string_view key);

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
  // Serializes commit() with mark_mirrored()'s read-compare-delete.
  std::mutex write_mu;

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
