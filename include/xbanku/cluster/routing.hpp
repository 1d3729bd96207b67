#pragma once
// Where a query is answered (DESIGN §8), decided without I/O so it can be tested step by step
// like a sans-io state machine (after Boost.Redis's *_fsm): the caller asks next(), does what it
// says (read the local view, or ask a peer), and reports what happened.
//
//   serving here                         → read the view: a fresh local answer
//   owned by another instance, and the
//   request was not itself forwarded     → forward; answered → that answer,
//                                          else fall back
//   anything else (no owner known, this
//   instance the owner but not caught up,
//   or a forwarded request)              → fall back
//   fall back                            → read the local copy: found → answer it marked
//                                          stale; not found → unavailable (503), never a
//                                          wrong "not found" from a partition nobody serves
//
// Listings and command lookups span partitions; plan_listing() and CommandLookup decide those.
// Pure; not thread-safe (one query each).

#include "xbanku/cluster/members.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::cluster {

enum class Answer {
  local,       // this instance serves the partition
  remote,      // the owner answered
  stale,       // the local copy, while no serving owner could answer
  unavailable  // no answer at all: 503 Retry-After
};

class QueryRouting {
 public:
  enum class Step {
    read_local,  // read this instance's view, then on_local()
    forward,     // ask target(), then on_peer()
    done         // answer() says what the answer is
  };

  // `serving_here`: this instance serves the partition (caught up). `forwarded`: the request
  // came from another instance. `owner`: the announced owner, if any; `self` names this one.
  QueryRouting(bool serving_here, bool forwarded, std::optional<Owner> owner,
               std::string_view self);

  [[nodiscard]] Step next() const noexcept { return step_; }
  // The instance to ask; only when next() == forward.
  [[nodiscard]] const Owner& target() const noexcept { return *owner_; }
  // The peer answered (a value or a definite "not found") or did not (unreachable, 503, …).
  void on_peer(bool answered) noexcept;
  // The local read found a value or not.
  void on_local(bool found) noexcept;
  // Only when next() == done.
  [[nodiscard]] Answer answer() const noexcept { return answer_; }

 private:
  Step step_;
  bool fallback_ = false;  // the local read is a fallback, not a fresh answer
  std::optional<Owner> owner_;
  Answer answer_ = Answer::unavailable;
};

// GET /accounts merges pages: which partitions this instance lists from its own view, which it
// asks each other owner for, and whether the local part includes a copy nobody serves.
struct ListingPlan {
  struct Remote {
    Owner owner;
    std::vector<std::int32_t> partitions;
  };
  std::set<std::int32_t> local;
  bool stale = false;
  std::vector<Remote> remote;  // one per owner, in partition order of their first partition
};
[[nodiscard]] ListingPlan plan_listing(std::int32_t partitions,
                                       const std::set<std::int32_t>& serving_here,
                                       const std::vector<std::optional<Owner>>& owners,
                                       std::string_view self);

// A listing forwarded by another instance names the partitions it expects this one to serve
// (all it serves when none are named): the set to list, or nullopt (503) when any is not served
// here, since a page missing a partition would look complete.
[[nodiscard]] std::optional<std::set<std::int32_t>> forwarded_listing(
    const std::vector<std::int32_t>& asked, const std::set<std::int32_t>& serving_here);

// GET /commands/{id} that the local view cannot answer: a command id does not name its
// partition, so every other owner is asked; "not found" stands only once every partition is
// covered by an instance that looked (this one for what it serves, each owner for its own).
class CommandLookup {
 public:
  CommandLookup(std::int32_t partitions, const std::set<std::int32_t>& serving_here);
  // The owner that answered "not found" covers the partitions it owns (per `owners`).
  void owner_said_not_found(const Owner& owner, const std::vector<std::optional<Owner>>& owners);
  // Every partition covered: "not found" is the answer; else it is unavailable (503).
  [[nodiscard]] bool complete() const noexcept;

 private:
  std::int32_t partitions_;
  std::set<std::int32_t> covered_;
};

}  // namespace xbanku::cluster
