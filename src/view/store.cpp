#include "xbanku/view/store.hpp"

#include "store_impl.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/view/codec.hpp"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

namespace xbanku::view {

using boost::system::error_code;
using boost::system::result;

// ---- helpers shared with compare.cpp -----------------------------------------------------

std::string_view cf_name(Cf c) noexcept {
  switch (c) {
    case Cf::meta: return rocksdb::kDefaultColumnFamilyName;
    case Cf::accounts: return "accounts";
    case Cf::history: return "history";
    case Cf::outcomes: return "outcomes";
    case Cf::outcomes_by_pos: return "outcomes_by_pos";
    case Cf::transfers: return "transfers";
    case Cf::offsets: return "offsets";
    case Cf::outbox: return "outbox";
    case Cf::mirror_owed: return "mirror_owed";
    case Cf::owners: return "owners";
    case Cf::count_: break;
  }
  return "?";
}

bool check(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return true;
  spdlog::error("view store: {} failed: {}", what, s.ToString());
  return false;
}

std::string printable(std::string_view key) {
  const bool text = std::all_of(key.begin(), key.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F;
  });
  if (text) return std::string(key);
  std::string out = "0x";
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : key) {
    out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kHex[static_cast<unsigned char>(c) & 0xF]);
  }
  return out;
}

namespace {

constexpr std::string_view kFormatKey = "format";
// "3": transfer states keyed by (partition, side, transfer id); outcomes' optional type.
constexpr std::string_view kFormatValue = "3";
constexpr std::string_view kPartitionsKey = "partitions";
constexpr std::string_view kMirrorStaleKey = "mirror-stale";

error_code store_error() noexcept {
  return make_error_code(errc::store_error);
}

rocksdb::Slice slice(std::string_view s) noexcept {
  return {s.data(), s.size()};
}
std::string_view view_of(const rocksdb::Slice& s) noexcept {
  return {s.data(), s.size()};
}

error_code failed(const rocksdb::Status& s, std::string_view op, Cf c, std::string_view key) {
  spdlog::error("view store: {} {}[{}] failed: {}", op, cf_name(c), printable(key), s.ToString());
  return store_error();
}

error_code corrupt(const error_code& ec, Cf c, std::string_view key) {
  spdlog::error("view store: corrupt value in {}[{}]: {}", cf_name(c), printable(key),
                ec.message());
  return store_error();
}

// Point lookup + decode. nullopt when the key is absent; an error (logged) on a RocksDB
// failure or a corrupt value. PinnableSlice: the value is read in place from the block cache
// or memtable, not copied before decoding.
template <typename T, typename Decode>
result<std::optional<T>> get_decoded(const Store::Impl& s, Cf c, std::string_view key,
                                     Decode&& decode, const rocksdb::ReadOptions& ro = {}) {
  rocksdb::PinnableSlice value;
  const rocksdb::Status st = s.db->Get(ro, s.h(c), slice(key), &value);
  if (st.IsNotFound()) return std::optional<T>{};
  if (!st.ok()) return failed(st, "get", c, key);
  result<T> r = decode(view_of(value));
  if (!r) return corrupt(r.error(), c, key);
  return std::optional<T>(std::move(*r));
}

// Releases a snapshot when the read is done.
class SnapshotGuard {
 public:
  explicit SnapshotGuard(rocksdb::DB* db) : db_(db), snap_(db->GetSnapshot()) {}
  ~SnapshotGuard() { db_->ReleaseSnapshot(snap_); }
  SnapshotGuard(const SnapshotGuard&) = delete;
  SnapshotGuard& operator=(const SnapshotGuard&) = delete;
  [[nodiscard]] const rocksdb::Snapshot* get() const noexcept { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

rocksdb::CompressionType pick_compression(bool bottommost) {
  const auto supported = rocksdb::GetSupportedCompressions();
  const auto has = [&](rocksdb::CompressionType t) {
    return std::find(supported.begin(), supported.end(), t) != supported.end();
  };
  // LZ4 on every level, the bottom one included: cheap to decompress on the read path, and
  // cheap to compress. ZSTD at the bottom level cost more CPU than anything but the projector
  // itself while catching up (with level_compaction_dynamic_level_bytes every compaction
  // writes the bottom level), and on a small box compaction competes with the projector and
  // the broker for the cores. The space it saved is not worth that.
  (void)bottommost;
  if (has(rocksdb::kLZ4Compression)) return rocksdb::kLZ4Compression;
  if (has(rocksdb::kSnappyCompression)) return rocksdb::kSnappyCompression;
  return rocksdb::kNoCompression;
}

rocksdb::DBOptions db_options(std::size_t memtable_bytes) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  // Two background threads (flush + compaction) leave the projector's core alone on a small box.
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  // No write-ahead log (every write uses WriteOptions::disableWAL), and flushes are atomic
  // across column families. Why exactly-once still holds:
  //  - The view is a deterministic function of the log: each commit writes one record batch's
  //    view changes, outcomes, outbox entries AND the partitions' next offsets in ONE
  //    WriteBatch, applied atomically to the memtables (a batch is never half visible).
  //  - atomic_flush: every flush (memtable full, db_write_buffer_size, shutdown) switches the
  //    memtables of ALL column families at one point of the write sequence, with no batch
  //    in progress, and records the resulting files in one MANIFEST entry: all or none. So
  //    what is on disk is always the state after some whole commit, offsets included. (Without
  //    it, the offsets CF could reach disk ahead of the accounts it describes, and a crash
  //    would then skip records: that is why the WAL may only go together with this option.)
  //  - A crash (kill -9, power loss) loses the commits since the last flush, all of them
  //    together; on restart the projector reads the stored next offsets, which belong to the
  //    same state, and replays the lost records from Kafka. They fold into the same state
  //    again, since the fold only reads that state and the records. Follow-ups re-emitted by
  //    the replay are deduplicated by TransferId on arrival (as a re-sent outbox entry always
  //    was); lost outbox deletions and mirror marks only cause such re-sends and re-mirrors.
  //  - A clean stop loses nothing: Close() flushes the memtables (avoid_flush_during_shutdown
  //    is false), so a clean restart consumes nothing twice.
  // Before, the WAL (without fsync) made a commit survive kill -9 but not a power loss; the
  // replay above was already the recovery for the latter. What the WAL cost: a copy and a
  // CRC of every batch and a write(2), about 5-7% of the projector's CPU; what is given up:
  // after a crash, catch-up replays up to the size of the memtables (~a few 100k records).
  o.atomic_flush = true;
  o.avoid_flush_during_shutdown = false;
  // One writer (the projector) at a time: no need for concurrent memtable inserts.
  o.allow_concurrent_memtable_write = false;
  // Caps all memtables together, whatever each CF's write_buffer_size (a flush of all CFs
  // when reached, see atomic_flush). Memtables are most of the peak RSS.
  o.db_write_buffer_size = memtable_bytes;  // StoreOptions::memtable_bytes, 64 MiB by default
  o.unordered_write = false;                // readers must never see half a batch
  o.avoid_unnecessary_blocking_io = true;   // obsolete files are purged in the background
  o.keep_log_file_num = 4;
  o.max_log_file_size = std::size_t{16} << 20;
  return o;
}

enum class Access { point, scan, queue };

Access access_of(Cf c) {
  switch (c) {
    case Cf::accounts:
    case Cf::outcomes:
    case Cf::outcomes_by_pos:
    case Cf::transfers: return Access::point;
    case Cf::outbox:
    case Cf::mirror_owed: return Access::queue;
    default: return Access::scan;
  }
}

std::size_t write_buffer_of(Cf c) {
  switch (c) {
    case Cf::history:
    case Cf::outcomes:
      // The two that grow with every record. Smaller than the 64 MiB they had: a skiplist
      // insert costs a cache miss per level, and the memtables are most of the peak RSS.
      return std::size_t{16} << 20;
    case Cf::accounts:
    case Cf::outcomes_by_pos: return std::size_t{8} << 20;
    default:
      return std::size_t{4} << 20;  // small CFs; small memtables keep queue tombstones short-lived
  }
}

rocksdb::ColumnFamilyOptions cf_options(Cf c, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = write_buffer_of(c);
  o.max_write_buffer_number = 3;  // writes go on while one memtable flushes
  o.level_compaction_dynamic_level_bytes = true;
  o.compression = pick_compression(false);
  o.bottommost_compression = pick_compression(true);

  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;  // one LRU cache shared by every CF: StoreOptions::block_cache_bytes
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  t.format_version = 5;
  const Access access = access_of(c);
  if (access != Access::scan) {
    // Point lookups, most of which MISS on the hot path (a new command id, a new transfer id):
    // bloom filters in the SSTs and in the memtable answer those without touching data blocks.
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
    o.memtable_whole_key_filtering = true;
    o.memtable_prefix_bloom_size_ratio = 0.05;
  }
  if (access == Access::queue) {
    // Insert-then-delete CFs: compact SST files dense in tombstones so scans stay short.
    o.table_properties_collector_factories.emplace_back(
        rocksdb::NewCompactOnDeletionCollectorFactory(128, 32));
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

template <typename V>
using StrMap = std::unordered_map<std::string, V, StrHash, std::equal_to<>>;
using StrSet = std::unordered_set<std::string, StrHash, std::equal_to<>>;

}  // namespace

// ---- Store::Impl ---------------------------------------------------------------------------

Store::Impl::~Impl() {
  if (db == nullptr) return;
  // Handles first, then Close(): RocksDB refuses to close with live handles.
  for (auto*& handle : cf) {
    if (handle != nullptr) check(db->DestroyColumnFamilyHandle(handle), "destroy CF handle");
    handle = nullptr;
  }
  for (auto* handle : foreign) check(db->DestroyColumnFamilyHandle(handle), "destroy CF handle");
  foreign.clear();
  check(db->Close(), "close");
  delete db;
  db = nullptr;
}

// ---- Batch ---------------------------------------------------------------------------------

struct Batch::Impl {
  explicit Impl(Store::Impl& s) : store(&s) {}

  Store::Impl* store;
  bool owe_mirror = true;  // false for a standby's batch (see Store::begin)
  rocksdb::WriteBatch wb;
  // Writes are staged here and reach `wb` at commit sorted by (column family, key): the
  // memtable is a skiplist that remembers where the previous insert landed (its "splice"), so
  // keys inserted in order are found from there in a few steps, while random keys (UUIDs,
  // command ids) each cost a full descent with a cache miss per level. That descent was the
  // projector's largest single cost. The sort is stable, so two writes of one key keep their
  // order and the later one still wins (it gets the higher sequence number in the batch).
  struct Staged {
    Cf cf;
    std::uint32_t key_off, key_len, value_off, value_len;
  };
  std::vector<Staged> staged;
  std::string arena;  // staged keys and values, back to back
  // Accounts read or changed in this batch: the overlay AND a read-through cache, so a hot
  // account costs one RocksDB lookup per batch. Dirty ones are written once, at commit.
  struct Cached {
    std::optional<domain::Account> account;
    bool dirty = false;
  };
  StrMap<Cached> accounts;
  StrMap<domain::Request> commands;  // by codec::command_key: keys first used in this batch
  StrMap<domain::TransferState> transfers;
  std::map<std::int32_t, std::int64_t> offsets;
  std::vector<std::pair<domain::Account, domain::RecordPos>> changed;
  std::string key, value;  // scratch buffers reused for every encode
  error_code error;
  std::size_t records = 0;
  bool spent = false;

  void ensure_open() const {
    if (spent) throw std::logic_error("view::Batch used after commit (call clear() first)");
  }

  void put(Cf c) {
    // A WriteBatch is limited to 4 GiB as well; beyond that the offsets would wrap.
    if (arena.size() + key.size() + value.size() > std::numeric_limits<std::uint32_t>::max()) {
      if (!error)
        error = failed(rocksdb::Status::MemoryLimit("batch over 4 GiB"), "batch put", c, key);
      return;
    }
    const auto key_off = static_cast<std::uint32_t>(arena.size());
    arena.append(key);
    const auto value_off = static_cast<std::uint32_t>(arena.size());
    arena.append(value);
    staged.push_back({c, key_off, static_cast<std::uint32_t>(key.size()), value_off,
                      static_cast<std::uint32_t>(value.size())});
  }

  [[nodiscard]] std::string_view staged_key(const Staged& e) const noexcept {
    return {arena.data() + e.key_off, e.key_len};
  }

  // Moves the staged writes into `wb` in (CF, key) order (see `staged`).
  void flush_staged() {
    std::stable_sort(staged.begin(), staged.end(), [this](const Staged& a, const Staged& b) {
      if (a.cf != b.cf) return a.cf < b.cf;
      return staged_key(a) < staged_key(b);
    });
    for (const Staged& e : staged) {
      const std::string_view k = staged_key(e);
      const rocksdb::Status st =
          wb.Put(store->h(e.cf), slice(k), rocksdb::Slice(arena.data() + e.value_off, e.value_len));
      if (!st.ok()) {
        if (!error) error = failed(st, "batch put", e.cf, k);
        return;
      }
    }
  }

  void put_outcome(const domain::Outcome& o, bool by_position) {
    codec::encode_outcome(o, value);
    if (!o.command_id.empty() && !by_position) {
      codec::command_key({o.pos.partition, o.principal, o.command_id}, key);
      commands.insert_or_assign(key, domain::request_of(o));
      put(Cf::outcomes);
    } else {
      codec::pos_key(o.pos, key);
      put(Cf::outcomes_by_pos);
    }
  }
};

Batch::Batch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;
Batch::~Batch() = default;

std::optional<domain::Account> Batch::account(std::string_view id) const {
  Impl& b = *impl_;
  if (auto it = b.accounts.find(id); it != b.accounts.end()) return it->second.account;
  {
    const std::lock_guard lock(b.store->cache_mu);
    if (auto a = b.store->account_cache.find(id)) {
      return b.accounts.try_emplace(std::string(id), Impl::Cached{std::move(a), false})
          .first->second.account;
    }
  }
  auto r = get_decoded<domain::Account>(*b.store, Cf::accounts, id, [id](std::string_view v) {
    return codec::decode_account(id, v);
  });
  if (!r) {
    if (!b.error) b.error = r.error();
    return std::nullopt;
  }
  // One writer: nothing committed between the read and now, so this is the committed state.
  if (*r) {
    const std::lock_guard lock(b.store->cache_mu);
    b.store->account_cache.put(**r);
  }
  // Cache the answer (a miss too: the rules ask again, e.g. a create then its deposits).
  const auto it = b.accounts.try_emplace(std::string(id), Impl::Cached{std::move(*r), false}).first;
  return it->second.account;
}

std::optional<domain::Request> Batch::first_request(const domain::CommandKey& k) const {
  Impl& b = *impl_;
  std::string key;
  codec::command_key(k, key);
  if (auto it = b.commands.find(key); it != b.commands.end()) return it->second;
  // A miss (a new key) is the common case and costs a bloom filter probe; a hit decodes the
  // first outcome to learn what it asked for.
  auto first = get_decoded<domain::Outcome>(*b.store, Cf::outcomes, key, &codec::decode_outcome);
  if (!first) {
    if (!b.error) b.error = first.error();
    return std::nullopt;
  }
  if (!*first) return std::nullopt;
  return domain::request_of(**first);
}

std::optional<domain::TransferState> Batch::transfer(std::string_view transfer_id) const {
  Impl& b = *impl_;
  if (auto it = b.transfers.find(transfer_id); it != b.transfers.end()) return it->second;
  auto r = get_decoded<domain::TransferState>(*b.store, Cf::transfers, transfer_id,
                                              &codec::decode_transfer_state);
  if (!r) {
    if (!b.error) b.error = r.error();
    return std::nullopt;
  }
  return *r;
}

void Batch::apply(const domain::Decision& d) {
  Impl& b = *impl_;
  b.ensure_open();
  ++b.records;
  if (d.duplicate) return;
  const domain::RecordPos pos = d.outcome.pos;

  for (const domain::Account& a : d.changes) {
    if (a.version == 1 && !a.owner.empty()) {
      // A new account of an authenticated principal: indexed by owner once (owners never
      // change), so that a principal's own accounts list without a scan of everyone's.
      codec::owner_key(a.owner, a.id, b.key);
      b.value.clear();
      b.put(Cf::owners);
    }
    auto& cached = b.accounts[a.id];
    cached.account = a;
    cached.dirty = true;
    b.changed.emplace_back(a, pos);
  }
  for (const auto& [id, entry] : d.history) {
    // The entry's seq is the version the change gave the account.
    const auto change = std::find_if(d.changes.begin(), d.changes.end(),
                                     [&](const domain::Account& a) { return a.id == id; });
    if (change == d.changes.end())
      throw std::logic_error("view::Batch::apply: history entry for an unchanged account");
    codec::history_key(id, change->version, b.key);
    codec::encode_history(entry, b.value);
    b.put(Cf::history);
  }
  b.put_outcome(d.outcome, d.by_position);
  if (d.transfer_update) {
    b.transfers[d.transfer_update->first] = d.transfer_update->second;
    b.key.assign(d.transfer_update->first);
    codec::encode_transfer_state(d.transfer_update->second, b.value);
    b.put(Cf::transfers);
  }
  for (const domain::Event& e : d.follow_ups) {
    // Sequences are handed out now; a batch that is never committed leaves a harmless gap.
    codec::seq_key(b.store->next_outbox_seq.fetch_add(1, std::memory_order_relaxed), b.key);
    codec::encode_event(e, b.value);
    b.put(Cf::outbox);
  }
}

void Batch::set_next_offset(std::int32_t partition, std::int64_t next) {
  impl_->ensure_open();
  impl_->offsets[partition] = next;
}

const std::vector<std::pair<domain::Account, domain::RecordPos>>& Batch::changed() const noexcept {
  return impl_->changed;
}
std::size_t Batch::records() const noexcept {
  return impl_->records;
}
std::size_t Batch::approximate_bytes() const noexcept {
  return impl_->wb.GetDataSize() + impl_->arena.size() +
         impl_->staged.size() * sizeof(Impl::Staged);
}
error_code Batch::error() const noexcept {
  return impl_->error;
}

void Batch::clear() {
  Impl& b = *impl_;
  b.wb.Clear();
  b.staged.clear();
  b.arena.clear();
  b.accounts.clear();
  b.commands.clear();
  b.transfers.clear();
  b.offsets.clear();
  b.changed.clear();
  b.error = {};
  b.records = 0;
  b.spent = false;
}

// ---- Store: open / close -------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::filesystem::path& Store::dir() const noexcept {
  return impl_->options.dir;
}

result<std::unique_ptr<Store>> Store::open(const StoreOptions& opts) {
  std::error_code fs_ec;
  std::filesystem::create_directories(opts.dir, fs_ec);
  if (fs_ec) {
    spdlog::error("view store: cannot create {}: {}", opts.dir.string(), fs_ec.message());
    return store_error();
  }
  auto impl = std::make_unique<Impl>();
  impl->options = opts;
  impl->account_cache = AccountCache(opts.account_cache_entries);
  impl->write_options.sync = opts.sync_writes;
  // No WAL (see db_options()), unless every commit is to be fsynced: RocksDB only syncs a WAL.
  impl->write_options.disableWAL = !opts.sync_writes;

  const rocksdb::DBOptions dbo = db_options(opts.memtable_bytes);
  // Few shards: an LRU shard evicts at once any block larger than its share of the capacity,
  // and with the default (64 shards of 1 MiB for 64 MiB) the full bloom filter of a large SST
  // (~1.25 bytes per key) was such a block, so every command_seen() miss re-read and
  // re-checksummed it from the file: ~30% of the projector's time at 1M records. Four shards
  // keep filters of files up to a few million keys cached; one writer thread and a few
  // readers do not need more shards for lock contention.
  const auto cache = rocksdb::NewLRUCache(opts.block_cache_bytes, /*num_shard_bits=*/2);
  const std::string path = opts.dir.string();

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < kCfCount; ++i) {
    const auto c = static_cast<Cf>(i);
    descriptors.emplace_back(std::string(cf_name(c)), cf_options(c, cache));
  }
  // RocksDB only opens a database with ALL its column families named: keep any we do not know
  // (left by a newer version) open with default options rather than refusing to start.
  std::vector<std::string> on_disk;
  if (rocksdb::DB::ListColumnFamilies(dbo, path, &on_disk).ok()) {
    for (const std::string& name : on_disk) {
      const bool known = std::any_of(descriptors.begin(), descriptors.end(),
                                     [&](const auto& d) { return d.name == name; });
      if (!known) {
        spdlog::warn("view store: unknown column family '{}' in {}", name, path);
        descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions{});
      }
    }
  }  // else: a new database (nothing to list)

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  if (!check(rocksdb::DB::Open(dbo, path, descriptors, &handles, &impl->db), "open " + path))
    return store_error();
  for (std::size_t i = 0; i < handles.size(); ++i) {
    if (i < kCfCount)
      impl->cf[i] = handles[i];
    else
      impl->foreign.push_back(handles[i]);
  }

  // Layout version: refuse a store written in a layout this build does not know.
  {
    rocksdb::PinnableSlice v;
    const rocksdb::Status st = impl->db->Get({}, impl->h(Cf::meta), slice(kFormatKey), &v);
    if (st.IsNotFound()) {
      if (!check(impl->db->Put(impl->write_options, impl->h(Cf::meta), slice(kFormatKey),
                               slice(kFormatValue)),
                 "write layout version"))
        return store_error();
    } else if (!check(st, "read layout version")) {
      return store_error();
    } else if (view_of(v) != kFormatValue) {
      // The view is a fold of the topic: an old layout is rebuilt, not migrated.
      spdlog::error(
          "view store: {} has layout version '{}', this build needs '{}': stop every process "
          "using it, move the folder away and start again to rebuild the view from the topic",
          path, printable(view_of(v)), kFormatValue);
      return store_error();
    }
  }

  {
    rocksdb::PinnableSlice v;
    const rocksdb::Status st = impl->db->Get({}, impl->h(Cf::meta), slice(kMirrorStaleKey), &v);
    if (!st.IsNotFound() && !check(st, "read mirror-stale")) return store_error();
    impl->mirror_stale = st.ok();
  }

  // The outbox sequence continues after the last key; the floor starts at the first.
  {
    auto it = impl->iter(Cf::outbox, {});
    it->SeekToLast();
    if (it->Valid()) {
      auto seq = codec::parse_seq_key(view_of(it->key()));
      if (!seq) return corrupt(seq.error(), Cf::outbox, view_of(it->key()));
      impl->next_outbox_seq = *seq + 1;
      it->SeekToFirst();
      if (it->Valid()) {
        auto first = codec::parse_seq_key(view_of(it->key()));
        if (!first) return corrupt(first.error(), Cf::outbox, view_of(it->key()));
        impl->outbox_floor = *first;
      }
    }
    if (!check(it->status(), "scan outbox")) return store_error();
  }
  spdlog::info("view store: opened {} (sync_writes={} i.e. WAL {}, block cache {} MiB)", path,
               opts.sync_writes, opts.sync_writes ? "on" : "off", opts.block_cache_bytes >> 20);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

// ---- Store: reads --------------------------------------------------------------------------

result<std::optional<domain::Account>> Store::account(std::string_view id) const {
  return get_decoded<domain::Account>(
      *impl_, Cf::accounts, id, [id](std::string_view v) { return codec::decode_account(id, v); });
}

result<AccountPage> Store::accounts_of(std::string_view owner, std::string_view after,
                                       std::size_t limit) const {
  AccountPage page;
  if (limit == 0) return page;
  std::string start, upper;
  codec::owner_key(owner, after, start);
  codec::owner_key(owner, "", upper);
  upper.back() = '\x01';  // every key of this owner is owner + 0x00 + id < owner + 0x01
  const rocksdb::Slice upper_slice = slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  auto it = impl_->iter(Cf::owners, ro);
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && view_of(it->key()) == start) it->Next();
  for (; it->Valid(); it->Next()) {
    const std::string_view key = view_of(it->key());
    if (key.size() <= owner.size() || key[owner.size()] != '\0') continue;
    const std::string_view id = key.substr(owner.size() + 1);
    if (page.items.size() == limit) {
      page.next = page.items.back().id;
      break;
    }
    auto a = account(id);
    if (!a) return a.error();
    if (*a) page.items.push_back(std::move(**a));
  }
  if (!check(it->status(), "scan owners")) return store_error();
  return page;
}

result<AccountPage> Store::accounts(std::string_view after, std::size_t limit) const {
  AccountPage page;
  if (limit == 0) return page;
  auto it = impl_->iter(Cf::accounts, {});
  if (after.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(slice(after));
    if (it->Valid() && view_of(it->key()) == after) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    const std::string_view id = view_of(it->key());
    if (page.items.size() == limit) {
      page.next = page.items.back().id;
      break;
    }
    auto a = codec::decode_account(id, view_of(it->value()));
    if (!a) return corrupt(a.error(), Cf::accounts, id);
    page.items.push_back(std::move(*a));
  }
  if (!check(it->status(), "scan accounts")) return store_error();
  return page;
}

result<std::optional<HistoryPage>> Store::history(std::string_view id, std::uint64_t after_seq,
                                                  std::size_t limit) const {
  const SnapshotGuard snap(impl_->db);
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  {
    rocksdb::PinnableSlice ignored;
    const rocksdb::Status st = impl_->db->Get(ro, impl_->h(Cf::accounts), slice(id), &ignored);
    if (st.IsNotFound()) return std::optional<HistoryPage>{};
    if (!st.ok()) return failed(st, "get", Cf::accounts, id);
  }
  HistoryPage page;
  if (limit == 0 || after_seq == std::numeric_limits<std::uint64_t>::max()) return page;

  std::string lower;
  codec::history_key(id, after_seq + 1, lower);
  std::string upper(id);
  upper.push_back('\x01');  // every key of this id is id + 0x00 + 8 bytes < id + 0x01
  const rocksdb::Slice upper_slice = slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  auto it = impl_->iter(Cf::history, ro);
  for (it->Seek(slice(lower)); it->Valid(); it->Next()) {
    const std::string_view key = view_of(it->key());
    auto hk = codec::parse_history_key(key);
    if (!hk) return corrupt(hk.error(), Cf::history, key);
    if (hk->id != id) continue;  // a longer id that starts with id + 0x00
    if (page.items.size() == limit) {
      page.next = page.items.back().seq;
      break;
    }
    auto e = codec::decode_history(view_of(it->value()));
    if (!e) return corrupt(e.error(), Cf::history, key);
    page.items.push_back(HistoryItem{hk->seq, std::move(*e)});
  }
  if (!check(it->status(), "scan history")) return store_error();
  return std::optional<HistoryPage>(std::move(page));
}

result<std::optional<domain::Outcome>> Store::outcome(const domain::CommandKey& k) const {
  if (k.command_id.empty()) return std::optional<domain::Outcome>{};
  std::string key;
  codec::command_key(k, key);
  return get_decoded<domain::Outcome>(*impl_, Cf::outcomes, key, &codec::decode_outcome);
}

result<std::optional<domain::Outcome>> Store::find_outcome(std::string_view command_id,
                                                           std::string_view principal,
                                                           std::int32_t partitions) const {
  for (std::int32_t p = 0; p < partitions; ++p) {
    auto o = outcome({p, principal, command_id});
    if (!o || *o) return o;
  }
  return std::optional<domain::Outcome>{};
}

result<std::optional<std::int32_t>> Store::partition_count() const {
  return get_decoded<std::int32_t>(
      *impl_, Cf::meta, kPartitionsKey, [](std::string_view v) -> result<std::int32_t> {
        std::int32_t n = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || end != v.data() + v.size() || n < 1) {
          return make_error_code(codec::codec_errc::bad_key);
        }
        return n;
      });
}

error_code Store::set_partition_count(std::int32_t partitions) {
  const std::string value = std::to_string(partitions);
  if (!check(impl_->db->Put(impl_->write_options, impl_->h(Cf::meta), slice(kPartitionsKey),
                            slice(value)),
             "write partition count"))
    return store_error();
  return {};
}

result<std::optional<domain::Outcome>> Store::outcome_at(domain::RecordPos pos) const {
  std::string key;
  codec::pos_key(pos, key);
  return get_decoded<domain::Outcome>(*impl_, Cf::outcomes_by_pos, key, &codec::decode_outcome);
}

result<std::optional<domain::TransferState>> Store::transfer(std::string_view transfer_id) const {
  return get_decoded<domain::TransferState>(*impl_, Cf::transfers, transfer_id,
                                            &codec::decode_transfer_state);
}

result<std::optional<std::int64_t>> Store::next_offset(std::int32_t partition) const {
  std::string key;
  codec::partition_key(partition, key);
  return get_decoded<std::int64_t>(*impl_, Cf::offsets, key, &codec::decode_offset);
}

result<std::map<std::int32_t, std::int64_t>> Store::next_offsets() const {
  std::map<std::int32_t, std::int64_t> out;
  auto it = impl_->iter(Cf::offsets, {});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = view_of(it->key());
    auto p = codec::parse_partition_key(key);
    if (!p) return corrupt(p.error(), Cf::offsets, key);
    auto o = codec::decode_offset(view_of(it->value()));
    if (!o) return corrupt(o.error(), Cf::offsets, key);
    out.emplace(*p, *o);
  }
  if (!check(it->status(), "scan offsets")) return store_error();
  return out;
}

result<std::vector<OutboxEntry>> Store::outbox(std::size_t limit) const {
  std::vector<OutboxEntry> out;
  if (limit == 0) return out;
  const std::uint64_t floor = impl_->outbox_floor.load(std::memory_order_relaxed);
  std::string start;
  codec::seq_key(floor, start);
  auto it = impl_->iter(Cf::outbox, {});
  for (it->Seek(slice(start)); it->Valid() && out.size() < limit; it->Next()) {
    const std::string_view key = view_of(it->key());
    auto seq = codec::parse_seq_key(key);
    if (!seq) return corrupt(seq.error(), Cf::outbox, key);
    auto e = codec::decode_event(view_of(it->value()));
    if (!e) return corrupt(e.error(), Cf::outbox, key);
    out.push_back(OutboxEntry{*seq, std::move(*e)});
  }
  if (!check(it->status(), "scan outbox")) return store_error();
  // Everything below the first live entry is gone for good (one writer, increasing
  // sequences), so the next scan can seek past the delete tombstones.
  if (!out.empty()) {
    std::uint64_t cur = floor;
    while (cur < out.front().seq &&
           !impl_->outbox_floor.compare_exchange_weak(cur, out.front().seq)) {
    }
  }
  return out;
}

result<std::vector<domain::Account>> Store::owed(std::size_t limit) const {
  std::vector<domain::Account> out;
  if (limit == 0) return out;
  const SnapshotGuard snap(impl_->db);
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  auto it = impl_->iter(Cf::mirror_owed, ro);
  for (it->SeekToFirst(); it->Valid() && out.size() < limit; it->Next()) {
    const std::string_view id = view_of(it->key());
    auto a = get_decoded<domain::Account>(
        *impl_, Cf::accounts, id, [id](std::string_view v) { return codec::decode_account(id, v); },
        ro);
    if (!a) return a.error();
    if (!*a) {
      spdlog::warn("view store: mirror owes account {} which does not exist", printable(id));
      continue;
    }
    out.push_back(std::move(**a));
  }
  if (!check(it->status(), "scan mirror_owed")) return store_error();
  return out;
}

result<std::uint64_t> Store::owed_count() const {
  std::uint64_t n = 0;
  auto it = impl_->iter(Cf::mirror_owed, {});
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (!check(it->status(), "scan mirror_owed")) return store_error();
  return n;
}

// ---- Store: writes -------------------------------------------------------------------------

Batch Store::begin(bool owe_mirror) {
  // The projector's thread: RocksDB's default perf level (counters) costs a thread-local
  // lookup on every memtable insert and read; nothing here reads perf_context.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  auto impl = std::make_unique<Batch::Impl>(*impl_);
  impl->owe_mirror = owe_mirror;
  return Batch(std::move(impl));
}

error_code Store::commit(Batch& batch) {
  Batch::Impl& b = *batch.impl_;
  if (b.store != impl_.get()) throw std::logic_error("view::Store::commit: batch of another store");
  b.ensure_open();
  b.spent = true;
  if (b.error) return b.error;
  // Account states and mirror debts are written once per batch, whatever the number of
  // records that changed the account: fewer memtable inserts on hot accounts.
  const bool debts = impl_->options.mirror_debts && b.owe_mirror;
  bool changed = false;
  for (const auto& [id, cached] : b.accounts) {
    if (!cached.dirty || !cached.account) continue;
    changed = true;
    b.key.assign(id);
    codec::encode_account(*cached.account, b.value);
    b.put(Cf::accounts);
    if (!debts) continue;
    codec::encode_version(cached.account->version, b.value);
    b.put(Cf::mirror_owed);
  }
  // The first change without a debt makes the view mirror-stale, in the same atomic write.
  const bool becomes_stale = changed && !impl_->options.mirror_debts &&
                             !impl_->mirror_stale.load(std::memory_order_relaxed);
  if (becomes_stale) {
    b.key.assign(kMirrorStaleKey);
    b.value.assign("1");
    b.put(Cf::meta);
  }
  for (const auto& [partition, next] : b.offsets) {
    codec::partition_key(partition, b.key);
    codec::encode_offset(next, b.value);
    b.put(Cf::offsets);
  }
  if (b.error) return b.error;
  b.flush_staged();
  if (b.error) return b.error;
  if (auto ec = check_room()) {
    const std::lock_guard cache_lock(impl_->cache_mu);
    impl_->account_cache.clear();  // as for a failed write: the caller rebuilds
    return ec;
  }
  const std::lock_guard lock(impl_->write_mu);
  const rocksdb::Status status = impl_->db->Write(impl_->write_options, &b.wb);
  impl_->set_write_error(status);
  const std::lock_guard cache_lock(impl_->cache_mu);
  if (!check(status, "commit")) {
    impl_->account_cache.clear();  // the caller rebuilds from the stored state
    // An I/O error (a full filesystem, typically) passes; anything else is not expected to.
    return make_error_code(status.IsIOError() ? errc::store_unwritable : errc::store_error);
  }
  if (becomes_stale) impl_->mirror_stale.store(true, std::memory_order_relaxed);
  try {
    for (const auto& [id, cached] : b.accounts) {
      if (cached.dirty && cached.account) impl_->account_cache.put(*cached.account);
    }
  } catch (...) {  // bad_alloc: the cache must not keep states this commit replaced
    impl_->account_cache.clear();
    throw;
  }
  return {};
}

bool Store::mirror_stale() const noexcept {
  return impl_->mirror_stale.load(std::memory_order_relaxed);
}

error_code Store::clear_mirror_stale() {
  if (auto ec = check_room()) return ec;
  if (!check(impl_->db->Delete(impl_->write_options, impl_->h(Cf::meta), slice(kMirrorStaleKey)),
             "clear mirror-stale"))
    return store_error();
  impl_->mirror_stale.store(false, std::memory_order_relaxed);
  return {};
}

// Refuses a write while the data directory's filesystem is short of min_free_bytes (see
// StoreOptions): RocksDB never meets a full disk through our writes, since the memtables stop
// growing and no flush falls due. One statvfs per write, about a microsecond.
error_code Store::check_room() {
  struct statvfs fs {};
  if (::statvfs(impl_->options.dir.c_str(), &fs) != 0) return {};  // unknown: let RocksDB say
  const std::uint64_t available = std::uint64_t{fs.f_bavail} * fs.f_frsize;
  if (available >= impl_->options.min_free_bytes) return {};
  const std::lock_guard lock(impl_->write_error_mu);
  impl_->write_error = fmt::format(
      "the filesystem of {} has {} MiB available, less than the {} MiB kept free for flushes "
      "and compactions",
      impl_->options.dir.string(), available >> 20, impl_->options.min_free_bytes >> 20);
  return make_error_code(errc::store_unwritable);
}

error_code Store::resume() {
  if (auto ec = check_room()) return ec;
  const rocksdb::Status status = impl_->db->Resume();
  impl_->set_write_error(status);
  if (status.ok()) return {};
  return make_error_code(status.IsIOError() ? errc::store_unwritable : errc::store_error);
}

std::string Store::last_write_error() const {
  const std::lock_guard lock(impl_->write_error_mu);
  return impl_->write_error;
}

error_code Store::remove_outbox(std::span<const std::uint64_t> seqs) {
  if (seqs.empty()) return {};
  if (auto ec = check_room()) return ec;
  rocksdb::WriteBatch wb;
  std::string key;
  for (const std::uint64_t seq : seqs) {
    codec::seq_key(seq, key);
    if (!check(wb.Delete(impl_->h(Cf::outbox), slice(key)), "batch delete outbox"))
      return store_error();
  }
  if (!check(impl_->db->Write(impl_->write_options, &wb), "remove outbox")) return store_error();
  return {};
}

error_code Store::mark_mirrored(
    std::span<const std::pair<std::string, std::uint64_t>> id_versions) {
  if (id_versions.empty()) return {};
  if (auto ec = check_room()) return ec;
  rocksdb::WriteBatch wb;
  // Under the write lock: no commit can raise a debt between our read and our delete.
  const std::lock_guard lock(impl_->write_mu);
  for (const auto& [id, version] : id_versions) {
    auto owed = get_decoded<std::uint64_t>(*impl_, Cf::mirror_owed, id, &codec::decode_version);
    if (!owed) return owed.error();
    if (!*owed || **owed > version) continue;
    if (!check(wb.Delete(impl_->h(Cf::mirror_owed), slice(id)), "batch delete mirror_owed"))
      return store_error();
  }
  if (wb.Count() == 0) return {};
  if (!check(impl_->db->Write(impl_->write_options, &wb), "mark mirrored")) return store_error();
  return {};
}

// ---- Store: full scans ---------------------------------------------------------------------

error_code Store::for_each_account(const std::function<void(const domain::Account&)>& fn) const {
  auto it = impl_->iter(Cf::accounts, {});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view id = view_of(it->key());
    auto a = codec::decode_account(id, view_of(it->value()));
    if (!a) return corrupt(a.error(), Cf::accounts, id);
    fn(*a);
  }
  return check(it->status(), "scan accounts") ? error_code{} : store_error();
}

error_code Store::for_each_history(
    const std::function<void(std::string_view, std::uint64_t, const domain::HistoryEntry&)>& fn)
    const {
  auto it = impl_->iter(Cf::history, {});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = view_of(it->key());
    auto hk = codec::parse_history_key(key);
    if (!hk) return corrupt(hk.error(), Cf::history, key);
    auto e = codec::decode_history(view_of(it->value()));
    if (!e) return corrupt(e.error(), Cf::history, key);
    fn(hk->id, hk->seq, *e);
  }
  return check(it->status(), "scan history") ? error_code{} : store_error();
}

error_code Store::for_each_outcome(
    const std::function<void(const domain::CommandKey&, const domain::Outcome&)>& fn) const {
  auto it = impl_->iter(Cf::outcomes, {});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = view_of(it->key());
    auto k = codec::parse_command_key(key);
    if (!k) return corrupt(k.error(), Cf::outcomes, key);
    auto o = codec::decode_outcome(view_of(it->value()));
    if (!o) return corrupt(o.error(), Cf::outcomes, key);
    fn(*k, *o);
  }
  return check(it->status(), "scan outcomes") ? error_code{} : store_error();
}

error_code Store::for_each_outcome_at(
    const std::function<void(domain::RecordPos, const domain::Outcome&)>& fn) const {
  auto it = impl_->iter(Cf::outcomes_by_pos, {});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = view_of(it->key());
    auto pos = codec::parse_pos_key(key);
    if (!pos) return corrupt(pos.error(), Cf::outcomes_by_pos, key);
    auto o = codec::decode_outcome(view_of(it->value()));
    if (!o) return corrupt(o.error(), Cf::outcomes_by_pos, key);
    fn(*pos, *o);
  }
  return check(it->status(), "scan outcomes_by_pos") ? error_code{} : store_error();
}

}  // namespace xbanku::view
