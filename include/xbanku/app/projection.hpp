#pragma once
// The one code path that folds log records into the view: the service's projector, the
// console consumer and --act=verify all go through Projection::fold, so a replay can only
// differ from the live view if the log differs.

#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/log/consumer.hpp"
#include "xbanku/view/store.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace xbanku::app {

// A record that cannot be projected (malformed, unknown type, misplaced): copied to
// `<topic>.dlq` (DESIGN §2) before its batch commits.
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
    std::function<void(const log::Record&, const domain::Outcome&, bool duplicate)>;

class Projection {
 public:
  Projection(view::Store& store, domain::Placement placement)
      : store_(store), placement_(placement) {}

  // Folds `records` into `batch` in order and advances each partition's next offset. Records
  // below the batch's partition offset are skipped, so a redelivery changes nothing. The caller
  // commits the batch (and sends the dead letters first). errc::store_error when a partition's
  // stored offset cannot be read (nothing is folded from then on: guessing would re-apply
  // records that carry no command id).
  [[nodiscard]] boost::system::result<FoldResult> fold(view::Batch& batch,
                                                       std::span<const log::Record> records,
                                                       const FoldObserver& observer = {});

  [[nodiscard]] const domain::Placement& placement() const noexcept { return placement_; }
  [[nodiscard]] view::Store& store() noexcept { return store_; }

  // Next offset as of the last fold (the store's committed offset plus folded records).
  [[nodiscard]] boost::system::result<std::int64_t> next_offset(std::int32_t partition);
  // Forgets cached offsets (after a failed commit, or when a partition is re-assigned).
  void reset_offsets() { offsets_.clear(); }

 private:
  boost::system::result<std::int64_t*> offset_slot(std::int32_t partition);

  view::Store& store_;
  domain::Placement placement_;
  std::map<std::int32_t, std::int64_t> offsets_;  // cache of next offsets per partition
};

}  // namespace xbanku::app
