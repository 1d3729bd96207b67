// The projector's standby replicas: shadows of the partitions the group did not assign here,
// folded without side effects (see the header).
#include "projector_fold_thread.hpp"
#include "xbanku/app/projector.hpp"
#include "xbanku/common/backoff.hpp"
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
// Dead letters a shadow remembers for a promotion: the last minute's (a dead owner is replaced
// within its session timeout, 6 s by default), at most this many per partition.
constexpr auto kShadowLetterMemory = 60s;
constexpr std::size_t kShadowLettersPerPartition = 1000;
}  // namespace

// Every partition the group does not assign here, once the group has assigned something (an
// instance that knows nothing of the group yet would shadow what it is about to own).
// Every change bumps the generation, so that a partition that left the set and came back
// between two turns of the standby loop (assigned, then revoked) is still noticed: its reader
// and cached offset are from before the group folded it.
void Projector::update_shadowed() {
  std::set<std::int32_t> shadowed;
  if (config_.standby_replicas > 0 && assigned_once_ && !stopping_) {
    for (std::int32_t p = 0; p < projection_.placement().partitions; ++p) {
      if (!own_.assigned.contains(p)) shadowed.insert(p);
    }
  }
  if (shadowed != own_.shadowed) {
    own_.shadowed = std::move(shadowed);
    ++shadow_generation_;
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
    if (shadow_reader_ && shadow_reader_generation_ != shadow_generation_) {
      // The shadowed set changed: read the new one from the view's stored offsets (batches read
      // before are dropped: project_shadows checks the generation under the gate).
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
      shadow_reader_generation_ = shadow_generation_;
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
    if (!poll->empty()) {
      const auto outcome = co_await project_shadows(poll->records());
      if (outcome == ShadowBatch::failed) break;  // the store failed: the service stops
      if (outcome != ShadowBatch::committed) {
        // Read again from what the view holds (once it writes again, if it refused the commit).
        shadow_reader_.reset();
        shadow_reading_.clear();
        if (outcome == ShadowBatch::unwritable) co_await resume_after_failed_shadow_commit();
        continue;
      }
    }
    update_readable();
  }
  shadow_reader_.reset();
  shadow_reading_.clear();
}

// One batch of shadow records: fold and commit in one hop to the fold thread. No dead letters
// (the owner sends them), no mirror debts, no follow-ups sent (they wait in the outbox for the
// owner, see OutboxSender); the waits are told, and the update hub.
awaitable<Projector::ShadowBatch> Projector::project_shadows(std::span<const log::Record> records) {
  const auto pass = co_await fold_gate_.enter();
  // Under the gate: if the set changed while this batch was read or waited (a partition
  // assigned to the group, or revoked and back), the group may have folded these records.
  if (shadow_reader_generation_ != shadow_generation_) co_return ShadowBatch::stale;
  struct Done {
    boost::system::result<FoldResult> folded;
    boost::system::error_code ec;
  };
  std::optional<view::Batch> batch;  // begun on the fold thread (Store::begin sets its perf level)
  auto done = co_await on_fold_thread([&] {
    batch.emplace(store_.begin(/*owe_mirror=*/false));
    Done d{shadow_projection_.fold(*batch, records), {}};
    if (d.folded) d.ec = store_.commit(*batch);
    return d;
  });
  if (!done.folded || done.ec) {
    shadow_projection_.reset_offsets();
    const auto ec = done.folded ? done.ec : done.folded.error();
    if (ec != errc::store_unwritable) {
      // As for the group's batches: a store that fails otherwise stops the service, and a
      // restart replays from the stored offsets.
      spdlog::critical("projector: standby commit failed ({}); stopping", ec.message());
      failed_ = true;
      stop();
      co_return ShadowBatch::failed;
    }
    if (!shadow_failing_) {  // once per outage: a full disk refuses every commit for a while
      spdlog::warn("projector: standby commit refused ({}); retrying", ec.message());
    }
    shadow_failing_ = true;
    co_return ShadowBatch::unwritable;
  }
  if (std::exchange(shadow_failing_, false)) spdlog::info("projector: standby commits again");
  for (const auto& r : records) {
    auto& next = shadow_next_[r.partition];
    next = std::max(next, r.offset + 1);
  }
  shadow_records_->inc(records.size());
  const auto now = std::chrono::steady_clock::now();
  for (auto& letter : done.folded->dead_letters) {
    auto& kept = shadow_letters_[letter.partition];
    kept.push_back({now, std::move(letter)});
    while (kept.size() > kShadowLettersPerPartition ||
           (!kept.empty() && now - kept.front().at > kShadowLetterMemory))
      kept.pop_front();
  }
  if (hooks_.shadow_committed) hooks_.shadow_committed(*batch, *done.folded);
  co_return ShadowBatch::committed;
}

// On promotion: the dead letters the shadow folded in the last minute, sent again. The previous
// owner sent those it committed before it stopped; which ones is not known here, so some go to
// `<topic>.dlq` twice (their headers name the record: xbanku-origin-partition and -offset), as
// they would in a replay after a failover without standbys. None is lost.
awaitable<void> Projector::send_shadow_letters(const std::vector<std::int32_t>& promoted) {
  std::vector<DeadLetter> letters;
  const auto since = std::chrono::steady_clock::now() - kShadowLetterMemory;
  for (auto p : promoted) {
    auto it = shadow_letters_.find(p);
    if (it == shadow_letters_.end()) continue;
    for (auto& kept : it->second) {
      if (kept.at >= since) letters.push_back(std::move(kept.letter));
    }
    shadow_letters_.erase(it);
  }
  if (letters.empty()) co_return;
  const bool sent = co_await send_dead_letters(letters);
  letters_sent_.clear();  // they are no batch's: nothing to skip later
  spdlog::info("projector: {} {} dead letter(s) folded as a standby of partition(s) [{}]",
               sent ? "sent" : "stopping: could not send all", letters.size(),
               fmt::join(promoted, ","));
}

// A refused shadow commit (an I/O error: a full disk) leaves RocksDB refusing writes until its
// error is cleared; the group's projector may have nothing to commit, so the standby loop asks
// too (Store::resume checks the room first).
awaitable<void> Projector::resume_after_failed_shadow_commit() {
  Backoff backoff(100ms, 2s);
  while (!stopping_) {
    co_await sleep(backoff.next());
    const auto refused = co_await on_fold_thread([this] { return store_.resume(); });
    if (!refused) co_return;
  }
}

}  // namespace xbanku::app
