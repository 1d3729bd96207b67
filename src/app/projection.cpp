#include "xbanku/app/projection.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace xbanku::app {
namespace {

bool counts_as_applied(domain::Status s) {
  return s != domain::Status::rejected;
}

}  // namespace

boost::system::result<std::int64_t> Projection::next_offset(std::int32_t partition) {
  auto slot = offset_slot(partition);
  if (!slot) return slot.error();
  return **slot;
}

boost::system::result<std::int64_t*> Projection::offset_slot(std::int32_t partition) {
  auto it = offsets_.find(partition);
  if (it != offsets_.end()) return &it->second;
  auto stored = store_.next_offset(partition);
  if (!stored) {
    spdlog::error("projection: cannot read the next offset of partition {}", partition);
    return stored.error();
  }
  return &offsets_.emplace(partition, stored->value_or(0)).first->second;
}

boost::system::result<FoldResult> Projection::fold(view::Batch& batch,
                                                   std::span<const log::Record> records,
                                                   const FoldObserver& observer) {
  FoldResult result;
  for (const auto& rec : records) {
    auto slot = offset_slot(rec.partition);
    if (!slot) return slot.error();
    std::int64_t& next = **slot;
    if (rec.offset < next) {
      ++result.skipped;
      continue;
    }
    const domain::RecordPos pos{rec.partition, rec.offset};
    auto event = domain::decode(rec.value);
    // decide() never moves a transfer backwards, whatever order partitions are replayed in.
    const auto decision = event ? domain::decide(batch, *event, pos, placement_)
                                : domain::decide_undecodable(batch, event.error(), pos, placement_);
    batch.apply(decision);
    const domain::Outcome& outcome = decision.outcome;
    if (outcome.reason == domain::Reason::misplaced_record) {
      ++result.misplaced;
      result.dead_letters.push_back(
          DeadLetter{rec.partition, rec.offset, std::string(rec.key), std::string(rec.value),
                     fmt::format("misplaced_record: AccId {} belongs in partition {} of {}, not {}",
                                 outcome.account_id, placement_.partition_of(outcome.account_id),
                                 placement_.partitions, rec.partition)});
    } else if (!event && event.error().code != domain::DecodeErrc::invalid_amount) {
      // Malformed or unknown type: copy to the DLQ; invalid amounts are a plain rejection.
      const auto& err = event.error();
      result.dead_letters.push_back(
          DeadLetter{rec.partition, rec.offset, std::string(rec.key), std::string(rec.value),
                     fmt::format("{}: {}", domain::reason_code(err.code), err.message)});
    }
    if (decision.duplicate) {
      ++result.duplicates;
    } else if (counts_as_applied(outcome.status)) {
      ++result.applied;
    } else {
      ++result.rejected;
    }
    if (!outcome.command_id.empty()) result.command_ids.push_back(outcome.command_id);
    if (observer) observer(rec, outcome, decision.duplicate);
    next = rec.offset + 1;
    batch.set_next_offset(rec.partition, next);
  }
  return result;
}

}  // namespace xbanku::app
