#include "xbanku/view/account_cache.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace xbanku::view {
namespace {

using domain::Account;

Account account(std::string id, std::int64_t balance, std::uint64_t version,
                std::string name = "Ann", std::string owner = "") {
  return {std::move(id), std::move(name), balance, version, std::move(owner)};
}

TEST(AccountCache, FindsWhatWasPutAndNothingElse) {
  AccountCache cache(16);
  EXPECT_FALSE(cache.find("a"));
  cache.put(account("a", 10, 1, "Ann", "alice"));
  cache.put(account("b", 20, 2, "Bob"));
  EXPECT_EQ(cache.find("a"), account("a", 10, 1, "Ann", "alice"));
  EXPECT_EQ(cache.find("b"), account("b", 20, 2, "Bob"));
  EXPECT_FALSE(cache.find("c"));
  EXPECT_FALSE(cache.find(""));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(AccountCache, APutReplacesTheState) {
  AccountCache cache(16);
  cache.put(account("a", 10, 1));
  cache.put(account("a", 25, 2));
  EXPECT_EQ(cache.find("a"), account("a", 25, 2));
  EXPECT_EQ(cache.size(), 1u);
  // A new name or owner (the rules never make one, but the cache must not keep the old).
  cache.put(account("b", 1, 1));
  cache.put(account("a", 30, 3, "Anne", "alice"));
  EXPECT_EQ(cache.find("a"), account("a", 30, 3, "Anne", "alice"));
  EXPECT_FALSE(cache.find("b")) << "a rewritten entry starts the cache over";
}

TEST(AccountCache, EmptiesWhenFullAndKeepsWorking) {
  AccountCache cache(3);
  for (int i = 0; i < 3; ++i) cache.put(account("id" + std::to_string(i), i, 1));
  EXPECT_EQ(cache.size(), 3u);
  cache.put(account("id3", 3, 1));  // the fourth: everything else goes
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find("id3"), account("id3", 3, 1));
  EXPECT_FALSE(cache.find("id0"));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.find("id3"));
}

// UUIDs are kept packed (16 bytes); every other id as it is. No two ids may meet.
TEST(AccountCache, UuidsAndOtherIdsNeverMeet) {
  AccountCache cache(16);
  const std::string lower = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const std::string upper = "0F8FAD5B-D9CB-469F-A165-70867728950E";
  const std::string not_hex = "0f8fad5b-d9cb-469f-a165-70867728950g";
  const std::string no_dash = "0f8fad5bxd9cb-469f-a165-70867728950e";
  // Exactly what `lower` is packed into (0x00 + its 16 bytes), and those bytes alone and after
  // 0x01, as ids of their own: still apart.
  std::string hex;
  for (const char c : lower) {
    if (c != '-') hex.push_back(c);
  }
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  ASSERT_EQ(bytes.size(), 16u);
  const std::string packed = std::string(1, '\0') + bytes;
  const std::string prefixed = std::string(1, '\1') + bytes;
  const std::vector<std::string> ids{lower,  upper, not_hex,  no_dash,
                                     packed, bytes, prefixed, lower.substr(1)};
  for (std::size_t i = 0; i < ids.size(); ++i) cache.put(account(ids[i], 100 + i, 1, "N", "o"));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(cache.find(ids[i]), account(ids[i], 100 + i, 1, "N", "o")) << i;
  }
  EXPECT_EQ(cache.size(), ids.size());
  EXPECT_FALSE(cache.find("0f8fad5b-d9cb-469f-a165-70867728950f"));
}

TEST(AccountCache, ZeroCapacityKeepsNothing) {
  AccountCache cache(0);
  cache.put(account("a", 1, 1));
  EXPECT_FALSE(cache.find("a"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(AccountCache, LongStringsAreStoredWhole) {
  AccountCache cache(16);
  const std::string id(300, 'x');  // lengths of two varint bytes
  const std::string name(200, 'n');
  cache.put(account(id, -5, 9, name, "o"));
  EXPECT_EQ(cache.find(id), account(id, -5, 9, name, "o"));
  // Longer than the cache's text budget (128 bytes an entry): not kept, and not wrong.
  AccountCache small(1);
  small.put(account(id, 1, 1));
  EXPECT_FALSE(small.find(id));
  small.put(account("short", 1, 1));
  EXPECT_EQ(small.find("short"), account("short", 1, 1));
}

// The cache against a std::map under many random puts, with a capacity small enough that it
// empties itself again and again: whatever it finds must be the latest state put.
TEST(AccountCache, AgreesWithAMapUnderRandomPuts) {
  AccountCache cache(500);
  std::map<std::string, Account> latest;
  std::mt19937_64 rng(7);
  std::size_t found = 0;
  for (int i = 0; i < 200'000; ++i) {
    const auto n = rng() % 2'000;
    // Half UUIDs (kept packed), half other ids.
    const std::string id = n % 2 ? fmt::format("{:08x}-0000-4000-8000-{:012x}", n, n * 7919)
                                 : "acc-" + std::to_string(n);
    if (rng() % 3 == 0) {
      const auto a = cache.find(id);
      const auto it = latest.find(id);
      if (a) {
        ++found;
        ASSERT_NE(it, latest.end()) << id;
        ASSERT_EQ(*a, it->second);
      }
    } else {
      auto& a = latest[id];
      // Now and then a new name or owner (the cache starts over) or a long name (its text
      // budget, 128 bytes an entry, fills and it starts over).
      const auto k = rng() % 100;
      std::string name = k == 0 ? "renamed" : k < 10 ? std::string(100, 'L') : a.name;
      if (name.empty()) name = "N" + id;
      const std::string owner = k == 1 ? "owner-" + std::to_string(rng() % 3) : a.owner;
      a = account(id, static_cast<std::int64_t>(rng() % 1000), a.version + 1, name, owner);
      cache.put(a);
    }
  }
  EXPECT_GT(found, 1'000u) << "the cache should have found something";
}

}  // namespace
}  // namespace xbanku::view
