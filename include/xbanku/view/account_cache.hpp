#pragma once
// The projector's in-memory copy of committed account states (view::Store keeps one).

#include "xbanku/domain/rules.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::view {

// A bounded map from account id to the account's committed state, laid out to hold a million
// accounts in ~60 MiB: an open-addressing index of 4-byte slots (at most half full), one 24-byte
// entry per account, and the account's id (a UUID packed into 16 bytes), name and owner in one
// text buffer. A node-based std::unordered_map spent ~170 bytes per account (a node, a
// heap-allocated id, two strings), so the ~45 MiB it was given held a quarter of a million
// accounts: with a million in the view most reads missed it and walked RocksDB's memtables and
// levels instead (catch-up of 10M records over 1M accounts: 41,441 records/s then, 64,844 with
// this cache holding them all; README "The account cache").
//
// When full it is emptied and refills from RocksDB, as before: a cheap policy that keeps memory
// bounded, and the default capacity holds every account of a view of a million.
//
// Not thread-safe: Store::Impl guards it with cache_mu.
class AccountCache {
 public:
  // capacity 0 disables the cache (find() never finds, put() keeps nothing); at most
  // 16,777,215 accounts (an index slot has 24 bits for the entry), more is taken as that.
  explicit AccountCache(std::size_t capacity);

  [[nodiscard]] std::optional<domain::Account> find(std::string_view id) const;
  // Inserts or replaces the state of account a.id.
  void put(const domain::Account& a);
  void clear() noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::int64_t balance;
    std::uint64_t version;
    std::uint32_t text;  // offset in text_ of: Key, name, owner, each as varint length + bytes
    std::uint32_t tag;   // the id hash's high half: most probes of another id stop here
  };
  static_assert(sizeof(Entry) == 24);

  // An id as text_ keeps it. Account ids are UUIDs (DESIGN §2): a canonical lower-case one is
  // packed into 0x00 + its 16 bytes (20 bytes less per account than its 36 characters); any
  // other id is kept as 0x01 + the id, so the two forms never meet.
  class Key {
   public:
    explicit Key(std::string_view id);
    Key(const Key&) = delete;  // bytes_ may point into this object
    Key& operator=(const Key&) = delete;
    [[nodiscard]] std::string_view bytes() const noexcept { return bytes_; }

   private:
    std::array<char, 17> packed_{};
    std::string other_;
    std::string_view bytes_;
  };

  // Where the key lives in index_, or the empty slot where it would go.
  [[nodiscard]] std::size_t slot_of(const Key& key, std::uint64_t hash) const;
  [[nodiscard]] bool entry_is(const Entry& e, const Key& key, std::uint32_t tag) const;
  // The three strings of the entry at text offset `at`.
  struct Text {
    std::string_view key, name, owner;
  };
  [[nodiscard]] Text text_at(std::uint32_t at) const;
  void append(std::string_view s);

  std::size_t capacity_;
  std::size_t text_budget_;  // text_ never grows past this (and never past 4 GiB: uint32 offsets)
  std::vector<std::uint32_t> index_;  // 0 = empty, else hash tag << 24 | (1 + index in entries_)
  std::vector<Entry> entries_;
  std::string text_;
};

}  // namespace xbanku::view
