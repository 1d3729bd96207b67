// The projector's write path: a 1,000-record batch applied through view::Batch and committed
// as one RocksDB WriteBatch. Compared, in the same run, with BM_ViewRawRocksDbBaseline: the
// same number of key/values of similar sizes written raw to one column family, no encoding,
// no overlay — the ceiling the view store can approach.
//
// Setup (opening the store, creating accounts, building decisions) stays outside the timing.

#include "xbanku/domain/rules.hpp"
#include "xbanku/view/account_cache.hpp"
#include "xbanku/view/store.hpp"

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace xbanku;

constexpr int kBatch = 1000;
constexpr unsigned kAccounts = 10'000;

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xbanku-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string account_id(unsigned n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012u", n);
  return buf;
}

std::unique_ptr<view::Store> open_with_accounts(benchmark::State& state, const ScratchDir& dir) {
  spdlog::set_level(spdlog::level::warn);
  if (dir.path().empty()) {
    state.SkipWithError("mkdtemp failed");
    return nullptr;
  }
  auto store = view::Store::open(view::StoreOptions{dir.path()});
  if (!store) {
    state.SkipWithError(("open: " + store.error().message()).c_str());
    return nullptr;
  }
  view::Batch b = (*store)->begin();
  const domain::Placement placement{1};
  for (unsigned n = 0; n < kAccounts; ++n) {
    domain::Event e;
    e.type = domain::EventType::create;
    e.acc_id = account_id(n);
    e.acc_name = "Account " + std::to_string(n);
    b.apply(domain::decide(b, e, {0, n}, placement));
  }
  b.set_next_offset(0, kAccounts);
  if (auto ec = (*store)->commit(b)) {
    state.SkipWithError(("setup commit: " + ec.message()).c_str());
    return nullptr;
  }
  return std::move(*store);
}

// The full projector path: the rules decide against the batch's overlay, then apply + commit.
void BM_ViewDecideApplyCommit(benchmark::State& state) {
  ScratchDir dir;
  auto store = open_with_accounts(state, dir);
  if (!store) return;
  const domain::Placement placement{1};
  std::mt19937 rng(42);
  std::int64_t offset = kAccounts;
  std::uint64_t command = 0;
  domain::Event e;
  e.type = domain::EventType::deposit;
  e.amount = 100;
  e.ts = 1'700'000'000'000;
  view::Batch b = store->begin();
  for (auto _ : state) {
    b.clear();
    for (int i = 0; i < kBatch; ++i) {
      e.acc_id = account_id(rng() % kAccounts);
      e.command_id = "bench-" + std::to_string(command++);
      b.apply(domain::decide(b, e, {0, offset}, placement));
      ++offset;
    }
    b.set_next_offset(0, offset);
    if (auto ec = store->commit(b)) {
      state.SkipWithError(("commit: " + ec.message()).c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ViewDecideApplyCommit)->Unit(benchmark::kMillisecond)->UseRealTime();

// Store cost alone: decisions built beforehand (cycling through 16 pre-built batches).
void BM_ViewApplyCommit(benchmark::State& state) {
  ScratchDir dir;
  auto store = open_with_accounts(state, dir);
  if (!store) return;
  std::mt19937 rng(7);
  std::vector<std::vector<domain::Decision>> batches(16);
  std::int64_t offset = kAccounts;
  for (auto& decisions : batches) {
    for (int i = 0; i < kBatch; ++i, ++offset) {
      domain::Decision d;
      domain::Account a{account_id(rng() % kAccounts), "Account", 100 + i, 2};
      d.outcome = {domain::Status::applied,
                   domain::Reason::none,
                   "bench-" + std::to_string(offset),
                   domain::EventType::deposit,
                   {0, offset},
                   a.id,
                   a,
                   {},
                   {},
                   {}};
      domain::HistoryEntry h;
      h.pos = {0, offset};
      h.type = domain::EventType::deposit;
      h.amount = 100;
      h.balance_after = a.balance;
      h.command_id = d.outcome.command_id;
      h.ts = 1'700'000'000'000;
      d.history.emplace_back(a.id, h);
      d.changes.push_back(std::move(a));
      decisions.push_back(std::move(d));
    }
  }
  view::Batch b = store->begin();
  std::size_t round = 0;
  for (auto _ : state) {
    b.clear();
    for (const auto& d : batches[round++ % batches.size()]) b.apply(d);
    b.set_next_offset(0, offset);
    if (auto ec = store->commit(b)) {
      state.SkipWithError(("commit: " + ec.message()).c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ViewApplyCommit)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline: raw RocksDB, one column family, 3 puts per record of the view's sizes (account
// ~60 B, history ~90 B, outcome ~150 B), one WriteBatch per 1,000 records.
void BM_ViewRawRocksDbBaseline(benchmark::State& state) {
  ScratchDir dir;
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = std::size_t{64} << 20;
  options.max_background_jobs = 2;
  rocksdb::DB* raw = nullptr;
  if (dir.path().empty() || !rocksdb::DB::Open(options, dir.path().string(), &raw).ok()) {
    state.SkipWithError("open raw rocksdb failed");
    return;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::mt19937 rng(7);
  const std::string account(20, 'a'), history(80, 'h'), outcome(120, 'o');
  std::uint64_t n = 0;
  std::string key;
  rocksdb::WriteBatch wb;
  for (auto _ : state) {
    wb.Clear();
    for (int i = 0; i < kBatch; ++i, ++n) {
      key = "a" + account_id(rng() % kAccounts);
      wb.Put(key, account);
      key = "h" + std::to_string(n);
      wb.Put(key, history);
      key = "o-bench-" + std::to_string(n);
      wb.Put(key, outcome);
    }
    if (auto s = db->Write({}, &wb); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  if (!db->Close().ok()) state.SkipWithError("close raw rocksdb failed");
}
BENCHMARK(BM_ViewRawRocksDbBaseline)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- the projector's account cache --------------------------------------------------------
// Reads of random accounts out of N cached, each as Batch::account() makes a domain::Account of
// it. BM_AccountMapFind is the layout it replaced (a std::unordered_map of strings), so both
// are measured in one run.

std::vector<std::string> uuid_ids(std::size_t n) {
  std::mt19937_64 rng(3);
  std::vector<std::string> ids;
  ids.reserve(n);
  char buf[40];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                  static_cast<unsigned long long>(rng() & 0xffffffff),
                  static_cast<unsigned long long>(rng() & 0xffff),
                  static_cast<unsigned long long>(rng() & 0xfff),
                  static_cast<unsigned long long>(rng() & 0xfff),
                  static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
    ids.emplace_back(buf);
  }
  return ids;
}

void BM_AccountCacheFind(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto ids = uuid_ids(n);
  view::AccountCache cache(n);
  for (std::size_t i = 0; i < n; ++i) {
    cache.put({ids[i], "Bench " + std::to_string(i), static_cast<std::int64_t>(i), 1, ""});
  }
  std::mt19937_64 rng(5);
  for (auto _ : state) {
    auto a = cache.find(ids[rng() % n]);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AccountCacheFind)->Arg(100'000)->Arg(1'000'000);

void BM_AccountMapFind(benchmark::State& state) {
  struct Committed {
    std::string name;
    std::int64_t balance = 0;
    std::uint64_t version = 0;
    std::string owner;
  };
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto ids = uuid_ids(n);
  std::unordered_map<std::string, Committed> map;
  for (std::size_t i = 0; i < n; ++i) {
    map[ids[i]] = {"Bench " + std::to_string(i), static_cast<std::int64_t>(i), 1, ""};
  }
  std::mt19937_64 rng(5);
  for (auto _ : state) {
    const std::string& id = ids[rng() % n];
    const auto it = map.find(id);
    domain::Account a{id, it->second.name, it->second.balance, it->second.version,
                      it->second.owner};
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AccountMapFind)->Arg(100'000)->Arg(1'000'000);

}  // namespace
