#include "xbanku/view/account_cache.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <functional>
#include <limits>

namespace xbanku::view {
namespace {

// Text bytes per account before the cache empties itself: ids and names are tens of bytes, so
// this only binds if they are unusually long.
constexpr std::size_t kTextPerEntry = 128;

std::uint64_t hash_of(std::string_view id) noexcept {
  return std::hash<std::string_view>{}(id);
}

std::uint32_t tag_of(std::uint64_t hash) noexcept {
  return static_cast<std::uint32_t>(hash >> 32);
}

// LEB128: one byte for lengths below 128, the common case.
std::size_t read_length(std::string_view text, std::size_t& at) noexcept {
  std::size_t n = 0;
  for (unsigned shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(text[at++]);
    n |= static_cast<std::size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return n;
  }
}

// Each char's value as a lower-case hex digit, or -1 (upper case too: a packed id must stand
// for exactly one id).
constexpr std::array<std::int8_t, 256> kHexDigit = [] {
  std::array<std::int8_t, 256> t{};
  t.fill(-1);
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<std::int8_t>(c - 'a' + 10);
  return t;
}();

// An index slot: the entry's number (1-based; 0 = empty) in the low 24 bits, the top 8 bits of
// the id's hash above, so that most probes past another id read no entry.
constexpr std::uint32_t kEntryBits = 24;
constexpr std::uint32_t kEntryMask = (std::uint32_t{1} << kEntryBits) - 1;

std::uint32_t slot_tag(std::uint64_t hash) noexcept {
  return static_cast<std::uint32_t>(hash >> 56) << kEntryBits;
}

}  // namespace

AccountCache::Key::Key(std::string_view id) {
  // xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, lower-case hex: 0x00 + the 16 bytes.
  constexpr std::size_t kUuidChars = 36;
  // Where each of the 16 bytes' two hex digits start.
  static constexpr std::array<std::uint8_t, 16> kPairs{0,  2,  4,  6,  9,  11, 14, 16,
                                                       19, 21, 24, 26, 28, 30, 32, 34};
  bool packed =
      id.size() == kUuidChars && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-';
  int bad = 0;  // any digit's -1 makes this negative
  for (std::size_t i = 0; packed && i < kPairs.size(); ++i) {
    const int hi = kHexDigit[static_cast<unsigned char>(id[kPairs[i]])];
    const int lo = kHexDigit[static_cast<unsigned char>(id[kPairs[i] + 1])];
    bad |= hi | lo;
    packed_[i + 1] = static_cast<char>(hi << 4 | lo);
  }
  packed = packed && bad >= 0;
  if (packed) {
    packed_[0] = '\0';
    bytes_ = {packed_.data(), packed_.size()};
  } else {
    other_.reserve(id.size() + 1);
    other_.push_back('\1');
    other_.append(id);
    bytes_ = other_;
  }
}

AccountCache::AccountCache(std::size_t capacity)
    : capacity_(std::min<std::size_t>(capacity, kEntryMask)),
      text_budget_(std::min<std::size_t>(capacity_ * kTextPerEntry,
                                         std::numeric_limits<std::uint32_t>::max())),
      // At most half full: linear probing stays short (1.5 probes for a hit on average).
      // Zeroed here, so in RSS from the start (8 MiB for the default million).
      index_(capacity_ == 0 ? 0 : std::bit_ceil(std::max<std::size_t>(2 * capacity_, 8)), 0) {
  // Reserved, not touched: these pages count in RSS only as entries fill them.
  entries_.reserve(capacity_);
}

std::size_t AccountCache::slot_of(const Key& key, std::uint64_t hash) const {
  const std::size_t mask = index_.size() - 1;
  const std::uint32_t tag = tag_of(hash);
  // Terminates: the index is never more than half full.
  for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t s = index_[slot];
    if (s == 0) return slot;
    if ((s & ~kEntryMask) == slot_tag(hash) && entry_is(entries_[(s & kEntryMask) - 1], key, tag))
      return slot;
  }
}

bool AccountCache::entry_is(const Entry& e, const Key& key, std::uint32_t tag) const {
  return e.tag == tag && text_at(e.text).key == key.bytes();
}

AccountCache::Text AccountCache::text_at(std::uint32_t at) const {
  const std::string_view text = text_;
  std::size_t pos = at;
  Text t;
  for (std::string_view* s : {&t.key, &t.name, &t.owner}) {
    const std::size_t n = read_length(text, pos);
    *s = text.substr(pos, n);
    pos += n;
  }
  return t;
}

void AccountCache::append(std::string_view s) {
  for (std::size_t n = s.size();; n >>= 7) {
    if (n < 0x80) {
      text_.push_back(static_cast<char>(n));
      break;
    }
    text_.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  text_.append(s);
}

std::optional<domain::Account> AccountCache::find(std::string_view id) const {
  if (entries_.empty()) return std::nullopt;
  const std::uint64_t hash = hash_of(id);
  const std::uint32_t at = index_[slot_of(Key(id), hash)] & kEntryMask;
  if (at == 0) return std::nullopt;
  const Entry& e = entries_[at - 1];
  const Text t = text_at(e.text);
  return domain::Account{std::string(id), std::string(t.name), e.balance, e.version,
                         std::string(t.owner)};
}

void AccountCache::put(const domain::Account& a) {
  if (capacity_ == 0) return;
  const std::uint64_t hash = hash_of(a.id);
  const Key key(a.id);
  std::size_t slot = slot_of(key, hash);
  if (const std::uint32_t at = index_[slot] & kEntryMask; at != 0) {
    Entry& e = entries_[at - 1];
    const Text t = text_at(e.text);
    if (t.name == a.name && t.owner == a.owner) {  // the usual case: only money moved
      e.balance = a.balance;
      e.version = a.version;
      return;
    }
    // A new name or owner (the rules change neither): linear probing cannot drop one entry
    // without moving its neighbours, so the cache starts over.
    clear();
    slot = slot_of(key, hash);
  }
  const std::size_t text_bytes = key.bytes().size() + a.name.size() + a.owner.size() + 3 * 10;
  if (text_bytes > text_budget_) return;  // absurdly long strings: left to RocksDB
  if (entries_.size() == capacity_ || text_.size() + text_bytes > text_budget_) {
    clear();
    slot = slot_of(key, hash);
  }
  entries_.push_back({.balance = a.balance,
                      .version = a.version,
                      .text = static_cast<std::uint32_t>(text_.size()),
                      .tag = tag_of(hash)});
  append(key.bytes());
  append(a.name);
  append(a.owner);
  index_[slot] = slot_tag(hash) | static_cast<std::uint32_t>(entries_.size());
}

void AccountCache::clear() noexcept {
  std::fill(index_.begin(), index_.end(), 0);
  entries_.clear();
  text_.clear();
}

}  // namespace xbanku::view
