#pragma once
// The one code path that folds log records into the view: the service's projector, the
// console consumer and --act=verify all go through Projection::fold, so a replay can only
// differ from the live view if the log differs.

#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/view/store.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::app {

// One record as read from the topic, independent of the Kafka client.
struct RawRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string_view key;
  std::string_view value;
};

// A record that cannot be decoded: copied to `<topic>.dlq` (DESIGN §2) before its batch commits.
struct DeadLetter {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  std::string reason;  // "malformed_event: field 'AccId' is not a UUID"
};

// What a fold did, for metrics, waiters and the dead-letter topic.
struct FoldResult {
  std::size_t applied = 0;     // outcome applied / completed / pending / refunded
  std::size_t rejected = 0;    // outcome rejected by a rule (incl. invalid_amount)
  std::size_t duplicates = 0;  // already-seen command or follow-up: nothing changed
  std::size_t skipped = 0;     // below the stored next offset (already in the view)
  std::size_t misplaced = 0;   // rejected misplaced_record (also among rejected, dead-lettered)
  std::vector<DeadLetter> dead_letters;
  std::vector<std::string> command_ids;  // of the records folded, in order (for waiters)
};

// Called for every folded record (console consumer output): the record, its outcome, and
// whether it was a duplicate. Runs before the batch commits.
using FoldObserver =
    std::function<void(const RawRecord&, const domain::Outcome&, bool duplicate)>;

class Projection {
 public:
  Projection(view::Store& store, domain::Placement placement)
      : store_(store), placement_(placement) {}

  // Folds `records` into `batch` in order and advances each partition's next offset. Records
  // below the batch's partition offset are skipped, so a redelivery changes nothing. The caller
  // commits the batch (and sends the dead letters first).
  FoldResult fold(view::Batch& batch, std::span<const RawRecord> records,
                  const FoldObserver& observer = {});

  [[nodiscard]] const domain::Placement& placement() const noexcept { return placement_; }
  [[nodiscard]] view::Store& store() noexcept { return store_; }

  // Next offsets as of the last fold (store's committed offsets plus folded records).
  [[nodiscard]] std::int64_t next_offset(std::int32_t partition);
  // Forgets cached offsets (after a failed commit, or when a partition is re-assigned).
  void reset_offsets() { offsets_.clear(); }

 private:
  std::int64_t& offset_slot(std::int32_t partition);

  view::Store& store_;
  domain::Placement placement_;
  std::map<std::int32_t, std::int64_t> offsets_;  // cache of next offsets per partition
};

}  // namespace xbanku::app
