#pragma once
// Who owns which partition (DESIGN §8). After every rebalance each instance announces
// {instance, advertised URL, partitions} on the compacted topic `<topic>.members`, keyed by
// its instance name, and every instance folds that topic into a MemberTable.
//
// The owner of a partition is the member whose latest announcement claims it and came last in
// the topic. An instance killed with SIGKILL cannot retract its claim, but the instance the
// group hands its partitions to announces after it, so the newer claim wins. Pure: no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::cluster {

struct Announcement {
  std::string instance;                  // instance name (also the record's key)
  std::string url;                       // http(s)://host:port other instances forward to
  std::vector<std::int32_t> partitions;  // ascending; empty = owns nothing (e.g. clean stop)
  std::int64_t ts = 0;                   // ms since epoch, for operators reading the topic
  std::string mac;  // with a cluster secret: its MAC of signed_payload(); else empty
  friend bool operator==(const Announcement&, const Announcement&) = default;
};

// What an announcement's MAC covers: every field but the MAC, in one unambiguous string. A
// Kafka writer without the cluster secret cannot make an instance forward queries (or relay
// updates) to a URL of its choice.
[[nodiscard]] std::string signed_payload(const Announcement& a);

[[nodiscard]] std::string encode(const Announcement& a);
// nullopt for a value that is not an announcement (logged and ignored by the reader). A
// compaction tombstone (empty value) is an announcement of no partitions by `key`.
[[nodiscard]] std::optional<Announcement> decode_announcement(std::string_view key,
                                                              std::string_view value);

struct Owner {
  std::string instance;
  std::string url;
  friend bool operator==(const Owner&, const Owner&) = default;
};

class MemberTable {
 public:
  // Folds the announcement read at `offset` of `<topic>.members` (offsets only grow).
  void apply(Announcement a, std::int64_t offset);

  // The instance serving `partition`, if any claims it.
  [[nodiscard]] std::optional<Owner> owner(std::int32_t partition) const;
  // The distinct owners of partitions [0, partitions), in partition order.
  [[nodiscard]] std::vector<Owner> owners(std::int32_t partitions) const;
  // The owner of each partition [0, partitions), by index (nullopt where none claims it).
  [[nodiscard]] std::vector<std::optional<Owner>> by_partition(std::int32_t partitions) const;
  // Every instance that ever announced, by name, with its latest claims (which a newer claim
  // of another may have superseded: owner() tells). For the console's members table.
  [[nodiscard]] std::vector<Owner> members() const;

 private:
  struct Member {
    std::string url;
    std::vector<std::int32_t> partitions;
    std::int64_t offset = -1;
  };
  std::map<std::string, Member, std::less<>> members_;
};

}  // namespace xbanku::cluster
