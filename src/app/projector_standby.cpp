// The projector's standby replicas: shadows of the partitions the group did not assign here,
// folded without side effects (see the header).
#include "projector_fold_thread.hpp"
#include "xbanku/app/projector.hpp"
#include "xbanku/common/error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace xbanku::app {

namespace asio = boost::asio;
using asio::awaitable;
using namespace std::chrono_literals;

namespace {
constexpr auto kShadowPollWait = 50ms;  // longest the standby loop waits for a record
constexpr auto kShadowRetry = 1s;       // after a reader or a commit failed
// A shadow resolves read-your-writes waits while at most this many records behind: a few
// batches, folded in milliseconds.
constexpr std::int64_t kStandbyWaitLag = 20000;
}  // namespace

// Every partition the group does not assign here, once the group has assigned something (an
// instance that knows nothing of the group yet would shadow what it is about to own).
void Projector::update_shadowed() {
  own_.shadowed.clear();
  if (config_.standby_replicas > 0 && assigned_once_ && !stopping_) {
    for (std::int32_t p = 0; p < projection_.placement().partitions; ++p) {
      if (!own_.assigned.contains(p)) own_.shadowed.insert(p);
    }
  }
  update_readable();
}

void Projector::update_readable() {
  own_.readable.clear();
  own_.waitable.clear();
  own_.lag.clear();
  for (auto p : own_.shadowed) {
    const auto l = lag(p);
    if (!l) continue;
    own_.lag[p] = *l;
    if (*l <= config_.max_read_lag) own_.readable.insert(p);
    if (*l <= kStandbyWaitLag) own_.waitable.insert(p);
  }
}

awaitable<void> Projector::run_shadows() {
  while (!stopping_) {
    if (shadow_reader_ && shadow_reading_ != own_.shadowed) {
      // The shadowed set changed: read the new one from the view's stored offsets. Records of a
      // partition that left it are dropped until then (project_shadows filters them).
      co_await shadow_reader_->close();
      shadow_reader_.reset();
      shadow_reading_.clear();
    }
    if (!shadow_reader_ && !own_.shadowed.empty()) {
      std::map<std::int32_t, std::int64_t> start;
      bool readable = true;
      for (auto p : own_.shadowed) {
        auto next = store_.next_offset(p);
        if (!next) {
          readable = false;
          break;
        }
        start[p] = next->value_or(log::kOffsetBeginning);
      }
      auto reader = readable ? log::PartitionReader::create(ex_, config_.standby, topic_, start,
                                                            config_.consumer.max_batch)
                             : boost::system::result<std::unique_ptr<log::PartitionReader>>(
                                   make_error_code(errc::store_error));
      if (!reader) {
        spdlog::warn("projector: cannot shadow partitions [{}] ({}); retrying",
                     fmt::join(own_.shadowed, ","), reader.error().message());
        co_await sleep(kShadowRetry);
        continue;
      }
      shadow_reader_ = std::move(*reader);
      shadow_reading_ = own_.shadowed;
      shadow_next_.clear();
      for (const auto& [p, next] : start) shadow_next_[p] = std::max<std::int64_t>(next, 0);
      shadow_projection_.reset_offsets();
      spdlog::info("projector: shadowing partitions [{}] (standby replica)",
                   fmt::join(shadow_reading_, ","));
    }
    if (!shadow_reader_) {
      co_await sleep(kShadowPollWait);
      continue;
    }
    auto poll = co_await shadow_reader_->next(kShadowPollWait);
    if (!poll) {
      if (poll.error() == errc::shutting_down) break;
      spdlog::warn("projector: standby poll failed: {}", poll.error().message());
      co_await sleep(100ms);
      continue;
    }
    std::vector<log::Record> records(poll->begin(), poll->end());
    if (!records.empty()) {
      const bool committed = co_await project_shadows(records);
      if (!committed) {
        // Read again from what the view holds, after a pause.
        shadow_reader_.reset();
        shadow_reading_.clear();
        co_await sleep(kShadowRetry);
        continue;
      }
    }
    update_readable();
  }
  shadow_reader_.reset();
  shadow_reading_.clear();
}

// One batch of shadow records: fold and commit in one hop to the fold thread. No dead letters
// (the owner sends them), no mirror debts, no update to subscribers (the owner's feed has it),
// no follow-ups sent (they wait in the outbox for the owner, see OutboxSender).
awaitable<bool> Projector::project_shadows(std::vector<log::Record>& records) {
  const auto pass = co_await fold_gate_.enter();
  // Under the gate: a partition assigned while this batch waited belongs to the group now.
  std::erase_if(records,
                [this](const log::Record& r) { return !own_.shadowed.contains(r.partition); });
  if (records.empty()) co_return true;
  struct Done {
    boost::system::result<FoldResult> folded;
    boost::system::error_code ec;
  };
  auto done = co_await on_fold_thread([&] {
    auto batch = store_.begin(/*owe_mirror=*/false);
    Done d{shadow_projection_.fold(batch, records), {}};
    if (d.folded) d.ec = store_.commit(batch);
    return d;
  });
  if (!done.folded || done.ec) {
    shadow_projection_.reset_offsets();
    // Once per outage (a full disk refuses every commit until it has room again; the group's
    // projector says so on its own).
    if (!shadow_failing_) {
      spdlog::warn("projector: standby commit failed ({}); reading the shadows again every {} s",
                   (done.folded ? done.ec : done.folded.error()).message(),
                   std::chrono::duration_cast<std::chrono::seconds>(kShadowRetry).count());
    }
    shadow_failing_ = true;
    co_return false;
  }
  if (std::exchange(shadow_failing_, false)) spdlog::info("projector: standby commits again");
  for (const auto& r : records) {
    auto& next = shadow_next_[r.partition];
    next = std::max(next, r.offset + 1);
  }
  shadow_records_->inc(records.size());
  if (hooks_.shadow_committed) hooks_.shadow_committed(*done.folded);
  co_return true;
}

}  // namespace xbanku::app
