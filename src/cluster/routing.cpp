#include "xbanku/cluster/routing.hpp"

#include <algorithm>

namespace xbanku::cluster {

QueryRouting::QueryRouting(bool serving_here, bool forwarded, std::optional<Owner> owner,
                           std::string_view self)
    : owner_(std::move(owner)) {
  if (serving_here) {
    step_ = Step::read_local;
  } else if (!forwarded && owner_ && owner_->instance != self) {
    step_ = Step::forward;
  } else {
    step_ = Step::read_local;
    fallback_ = true;
  }
}

void QueryRouting::on_peer(bool answered) noexcept {
  if (step_ != Step::forward) return;
  if (answered) {
    answer_ = Answer::remote;
    step_ = Step::done;
  } else {
    step_ = Step::read_local;
    fallback_ = true;
  }
}

void QueryRouting::on_local(bool found) noexcept {
  if (step_ != Step::read_local) return;
  step_ = Step::done;
  if (!fallback_) {
    answer_ = Answer::local;  // a fresh "not found" from the partition's server is an answer
  } else {
    answer_ = found ? Answer::stale : Answer::unavailable;
  }
}

ListingPlan plan_listing(std::int32_t partitions, const std::set<std::int32_t>& serving_here,
                         const std::vector<std::optional<Owner>>& owners, std::string_view self) {
  ListingPlan plan;
  plan.local = serving_here;
  for (std::int32_t p = 0; p < partitions; ++p) {
    if (serving_here.contains(p)) continue;
    const auto& owner = p < static_cast<std::int32_t>(owners.size())
                            ? owners[static_cast<std::size_t>(p)]
                            : std::nullopt;
    if (!owner || owner->instance == self) {
      plan.local.insert(p);  // nobody else serves it: our copy, marked stale
      plan.stale = true;
      continue;
    }
    auto it = std::find_if(plan.remote.begin(), plan.remote.end(),
                           [&](const ListingPlan::Remote& r) { return r.owner == *owner; });
    if (it == plan.remote.end()) it = plan.remote.insert(plan.remote.end(), {*owner, {}});
    it->partitions.push_back(p);
  }
  return plan;
}

std::optional<std::set<std::int32_t>> forwarded_listing(
    const std::vector<std::int32_t>& asked, const std::set<std::int32_t>& serving_here) {
  if (asked.empty()) return serving_here;
  std::set<std::int32_t> wanted(asked.begin(), asked.end());
  for (auto p : wanted) {
    if (!serving_here.contains(p)) return std::nullopt;
  }
  return wanted;
}

CommandLookup::CommandLookup(std::int32_t partitions, const std::set<std::int32_t>& serving_here)
    : partitions_(partitions), covered_(serving_here) {}

void CommandLookup::owner_said_not_found(const Owner& owner,
                                         const std::vector<std::optional<Owner>>& owners) {
  for (std::size_t p = 0; p < owners.size(); ++p) {
    if (owners[p] && *owners[p] == owner) covered_.insert(static_cast<std::int32_t>(p));
  }
}

bool CommandLookup::complete() const noexcept {
  return static_cast<std::int32_t>(covered_.size()) >= partitions_;
}

}  // namespace xbanku::cluster
