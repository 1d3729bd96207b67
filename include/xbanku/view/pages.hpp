#pragma once
// The shapes of the view's paged answers, shared by the store, the query ports, the peer API
// and the JSON wire format. Plain data: no RocksDB in sight.

#include "xbanku/domain/rules.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xbanku::view {

struct AccountPage {
  std::vector<domain::Account> items;
  std::optional<std::string> next;  // id to pass as `after` for the next page; nullopt = last
  friend bool operator==(const AccountPage&, const AccountPage&) = default;
};

struct HistoryItem {
  std::uint64_t seq = 0;  // the account's version after this entry; the page cursor
  domain::HistoryEntry entry;
  friend bool operator==(const HistoryItem&, const HistoryItem&) = default;
};

struct HistoryPage {
  std::vector<HistoryItem> items;
  std::optional<std::uint64_t> next;  // seq to pass as `after_seq`; nullopt = last page
  friend bool operator==(const HistoryPage&, const HistoryPage&) = default;
};

}  // namespace xbanku::view
