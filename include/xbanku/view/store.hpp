#pragma once
// The materialized view (DESIGN §2, §3, §7, §8): one RocksDB database per instance.
//
// Layout — one column family per kind of record, so that each gets the tuning its access
// pattern needs (bloom filters for point lookups, small memtables for queues) while ONE
// WriteBatch still spans them all (column families share the WAL, so a batch is atomic):
//
//   CF               key                                    value (codec.hpp, version byte 1)
//   default          "format"                               "3" (refuses any other layout)
//                    "partitions"                           the topic's partition count
//   accounts         account id                             name, balance, version, owner
//   history          id, 0x00, big-endian u64 seq           HistoryEntry
//   outcomes         partition, principal, command id       Outcome (codec::command_key)
//   outcomes_by_pos  BE partition (4 B), BE offset (8 B)    Outcome (records with no command id)
//   transfers        "<partition>/<s|t>/<transfer id>"      TransferState (domain::transfer_key)
//   offsets          BE partition (4 B)                     next offset to consume (zigzag varint)
//   outbox           BE u64 sequence                        follow-up Event (binary)
//   mirror_owed      account id                             account version owed to Redis
//   owners           owner, 0x00, account id                (empty): a principal's accounts
//
// Why these keys:
// - accounts by id gives `GET /accounts?after=` pagination in id order as a plain range scan.
// - history's seq is the account's version after the change, so an account's history is one
//   contiguous range in order, the page cursor IS the version, and re-applying a record
//   (never happens: exactly once) would overwrite rather than duplicate.
// - `outcomes` doubles as the set of idempotency keys seen, each in its scope (partition,
//   principal; domain::CommandKey): first_request is a point lookup on it, served by the
//   memtable bloom filter and SST bloom filters when it misses, which is the common case (a new
//   command). The partition comes first so that one partition's keys sort together.
// - `transfers` holds each side of a transfer in the partition whose records keep it, so that
//   one partition's fold never reads or writes another's state, whatever a credit or refund
//   record names (domain::transfer_key says why).
// - big-endian sequence/position keys sort numerically under the bytewise comparator, so the
//   outbox is FIFO and the sequence continues after a restart from the last key.
// - mirror_owed holds one entry per account changed since Redis last saw it (not one per
//   change), so a Redis outage costs at most one entry per account, and the mirror catches up
//   by reading current states, never replaying.
//
// Values are binary with a format version byte: far cheaper than JSON on the projector's hot
// path and compact in the block cache; a corrupt value decodes to an error, never a crash.
//
// Durability: by default no WAL, atomic flushes (`sync_writes` = false): a commit reaches disk
// with the next flush of the memtables, all column families at once. A crash (kill -9 or power
// loss) leaves the view at an earlier consistent point — the state after some whole commit,
// with the next offsets that go with it — and the projector replays the rest from Kafka
// (store.cpp, db_options(), says why this keeps exactly-once). A clean close flushes.
// `sync_writes` = true: WAL on and fsynced on every commit, so a commit survives a crash.
//
// Threads: reads are thread-safe and are point lookups or short range scans served from the
// memtables and the block cache, cheap enough for the io thread. Writes have ONE writer (the
// projector): at most one Batch is being filled at a time; commit(), remove_outbox() and
// mark_mirrored() may be called from any thread.

#include "xbanku/domain/events.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/view/pages.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xbanku::view {

struct StoreOptions {
  std::filesystem::path dir;
  bool sync_writes = false;  // false: no WAL, a crash replays from Kafka; true: fsynced WAL
  // All memtables together (RocksDB's db_write_buffer_size): when reached, every column family
  // is flushed. Most of the peak RSS; a crash loses (and replays from Kafka) up to this much.
  std::size_t memtable_bytes = std::size_t{64} << 20;
  // Writes are refused (errc::store_unwritable) while the filesystem has less available: room
  // for a flush of the memtables and for compactions. RocksDB must not meet a full disk in a
  // background flush or compaction: the 7.8 Debian ships then aborts the process (an assertion
  // left on in WritableFileWriter, seen in tests/integration/view/full_disk_test.cpp).
  std::size_t min_free_bytes = 2 * memtable_bytes + (std::size_t{64} << 20);
  // Holds the bloom filters and indexes of the point-lookup column families (~1.3 bytes per
  // key) and hot data blocks; 32 MiB leaves room under the 256 MiB peak-RSS goal at 1M records.
  std::size_t block_cache_bytes = std::size_t{32} << 20;
  // Committed account states kept in memory for the projector's reads (about 60 bytes each:
  // 8 of index, 24 of state, the id, name and owner); 0 turns the cache off. The default holds
  // every account of a view of a million.
  std::size_t account_cache_entries = std::size_t{1} << 20;
  // Whether commits record what Redis is owed (mirror_owed). Off when no mirror is configured:
  // one memtable insert less per changed account. The view then remembers it is mirror-stale,
  // and a mirror started on it later refills Redis from the accounts (mirror_stale()).
  bool mirror_debts = true;
};

struct OutboxEntry {
  std::uint64_t seq = 0;
  domain::Event event;  // to produce keyed by event.acc_id
};

class Store;

// The writes of one projector batch, and a domain::State that sees them: State reads look at
// this batch's own pending writes first, then the store, so a record later in the batch sees
// the effects of earlier ones. Not thread-safe: one thread fills it, then Store::commit().
// Reads from the store that fail (I/O error, corrupt value) make the batch fail: error() is
// set and commit() refuses it, since decisions taken on a failed read are not trustworthy.
class Batch final : public domain::State {
 public:
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;
  ~Batch() override;

  // domain::State (overlay, then store).
  [[nodiscard]] std::optional<domain::Account> account(std::string_view id) const override;
  [[nodiscard]] std::optional<domain::Request> first_request(
      const domain::CommandKey& key) const override;
  [[nodiscard]] std::optional<domain::TransferState> transfer(
      std::string_view transfer_id) const override;

  // Records everything a decision implies (domain::decide or decide_undecodable): account
  // upserts (+ mirror_owed), history entries, the outcome (by CommandKey, else or when
  // `by_position` by pos), the transfer update, each follow-up as an outbox entry. A duplicate
  // decision writes nothing. Throws std::logic_error on a decision that breaks the rules'
  // contract (history for an unchanged account) or on a committed batch.
  void apply(const domain::Decision& decision);
  // The partition's next offset to consume, written with the batch (the exactly-once unit).
  void set_next_offset(std::int32_t partition, std::int64_t next);

  // Account changes in apply order with the position of the record that made them: what the
  // projector publishes to WebSocket subscribers after a successful commit.
  [[nodiscard]] const std::vector<std::pair<domain::Account, domain::RecordPos>>& changed()
      const noexcept;
  // Number of apply() calls (duplicates included).
  [[nodiscard]] std::size_t records() const noexcept;
  // Bytes of the underlying WriteBatch so far (account states are added at commit).
  [[nodiscard]] std::size_t approximate_bytes() const noexcept;
  // Sticky failure of a store read made through the State interface.
  [[nodiscard]] boost::system::error_code error() const noexcept;
  // Empties the batch for reuse (keeps allocated buffers); also allowed after commit.
  void clear();

 private:
  friend class Store;
  struct Impl;
  explicit Batch(std::unique_ptr<Impl>);
  std::unique_ptr<Impl> impl_;
};

class Store {
 public:
  // Opens (creating the directory and missing column families) the store at opts.dir.
  // Errors (logged) → errc::store_error.
  [[nodiscard]] static boost::system::result<std::unique_ptr<Store>> open(const StoreOptions&);
  ~Store();  // closes the column families, then the database
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] const std::filesystem::path& dir() const noexcept;

  // ---- reads: thread-safe; a failure (logged) is errc::store_error ----
  [[nodiscard]] boost::system::result<std::optional<domain::Account>> account(
      std::string_view id) const;
  // Accounts in id order strictly after `after` ("" = from the start), at most `limit`.
  [[nodiscard]] boost::system::result<AccountPage> accounts(std::string_view after,
                                                            std::size_t limit) const;
  // The accounts `owner` created, in id order strictly after `after`, at most `limit`.
  [[nodiscard]] boost::system::result<AccountPage> accounts_of(std::string_view owner,
                                                               std::string_view after,
                                                               std::size_t limit) const;
  // History entries with seq > after_seq, at most `limit`; nullopt if the account does not
  // exist. Consistent: the account check and the scan read one snapshot.
  [[nodiscard]] boost::system::result<std::optional<HistoryPage>> history(std::string_view id,
                                                                          std::uint64_t after_seq,
                                                                          std::size_t limit) const;
  [[nodiscard]] boost::system::result<std::optional<domain::Outcome>> outcome(
      const domain::CommandKey& key) const;
  // The outcome of `command_id` from `principal` in the lowest of partitions [0, partitions)
  // that has one (a key names one command per partition; see domain::CommandKey).
  [[nodiscard]] boost::system::result<std::optional<domain::Outcome>> find_outcome(
      std::string_view command_id, std::string_view principal, std::int32_t partitions) const;
  // Outcome of a record that had no command id (records with one are found by outcome()).
  [[nodiscard]] boost::system::result<std::optional<domain::Outcome>> outcome_at(
      domain::RecordPos pos) const;
  [[nodiscard]] boost::system::result<std::optional<domain::TransferState>> transfer(
      std::string_view transfer_id) const;
  [[nodiscard]] boost::system::result<std::optional<std::int64_t>> next_offset(
      std::int32_t partition) const;
  [[nodiscard]] boost::system::result<std::map<std::int32_t, std::int64_t>> next_offsets() const;
  // The partition count of the topic the view was built from (nullopt until recorded): the
  // placement of every account, so a view must never fold a topic with another count.
  [[nodiscard]] boost::system::result<std::optional<std::int32_t>> partition_count() const;
  [[nodiscard]] boost::system::error_code set_partition_count(std::int32_t partitions);
  // The oldest `limit` outbox entries, in sequence order.
  [[nodiscard]] boost::system::result<std::vector<OutboxEntry>> outbox(std::size_t limit) const;
  // Up to `limit` current account states owed to the mirror (in id order). Mark them with
  // mark_mirrored(id, account.version) once Redis has them.
  [[nodiscard]] boost::system::result<std::vector<domain::Account>> owed(std::size_t limit) const;
  // Exact count of accounts owed to the mirror; a key-only scan, O(owed): for metrics at a
  // modest rate, not per record.
  [[nodiscard]] boost::system::result<std::uint64_t> owed_count() const;

  // ---- writes ----
  // A new empty batch on this store (one writer: see the header comment). `owe_mirror` false:
  // its changes record no mirror debt and do not make the view mirror-stale — a standby's
  // shadow of partitions another instance mirrors; whoever promotes it refills Redis from the
  // view (app::Projector, mirror::Mirror::refill).
  [[nodiscard]] Batch begin(bool owe_mirror = true);
  // Writes the whole batch as ONE RocksDB WriteBatch: all of it or nothing. The batch is then
  // spent (changed() stays readable; clear() makes it reusable), whether or not it succeeded:
  // after a failure the projector must rebuild from the stored offsets, not retry the batch.
  // errc::store_unwritable when the filesystem has less than min_free_bytes available, or
  // RocksDB could not write to its files (an I/O error): nothing of the batch is stored, and
  // resume() tells when writes may go on. remove_outbox() and mark_mirrored() refuse alike.
  [[nodiscard]] boost::system::error_code commit(Batch& batch);
  // After a write failed on I/O, RocksDB refuses every write until its background error is
  // cleared: retries what failed (DB::Resume) once the filesystem has min_free_bytes available,
  // and returns errc::store_unwritable while the cause persists; success once writes may go on.
  [[nodiscard]] boost::system::error_code resume();
  // RocksDB's words for the last failed commit or resume (empty once one succeeds), for /readyz.
  // Thread-safe.
  [[nodiscard]] std::string last_write_error() const;
  // True when accounts changed while mirror_debts was off (stored: it survives a restart). A
  // mirror must then refill Redis from the accounts, then clear_mirror_stale(). Thread-safe.
  [[nodiscard]] bool mirror_stale() const noexcept;
  [[nodiscard]] boost::system::error_code clear_mirror_stale();
  // Deletes outbox entries once their follow-ups are acknowledged by Kafka.
  [[nodiscard]] boost::system::error_code remove_outbox(std::span<const std::uint64_t> seqs);
  // For each (id, version) Redis now holds: forget the debt if the owed version <= version.
  // If the projector changed the account since, the debt stays. Atomic w.r.t. commit().
  [[nodiscard]] boost::system::error_code mark_mirrored(
      std::span<const std::pair<std::string, std::uint64_t>> id_versions);

  // ---- scans for --act=verify: key order, from one snapshot; stop at the first error ----
  [[nodiscard]] boost::system::error_code for_each_account(
      const std::function<void(const domain::Account&)>& fn) const;
  [[nodiscard]] boost::system::error_code for_each_history(
      const std::function<void(std::string_view id, std::uint64_t seq,
                               const domain::HistoryEntry&)>& fn) const;
  // Outcomes keyed by CommandKey.
  [[nodiscard]] boost::system::error_code for_each_outcome(
      const std::function<void(const domain::CommandKey&, const domain::Outcome&)>& fn) const;
  // Outcomes of records without a command id, keyed by position.
  [[nodiscard]] boost::system::error_code for_each_outcome_at(
      const std::function<void(domain::RecordPos, const domain::Outcome&)>& fn) const;

  struct Impl;  // private to src/view (public name only so that compare() can reach it)
  [[nodiscard]] const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit Store(std::unique_ptr<Impl>);
  [[nodiscard]] boost::system::error_code check_room();
  std::unique_ptr<Impl> impl_;
};

// What compare() looks at. A null predicate means "everything".
struct CompareScope {
  // Accounts and histories of these accounts.
  std::function<bool(std::string_view account_id)> account;
  // Outcomes of records in these partitions (by the outcome's pos.partition).
  std::function<bool(std::int32_t partition)> partition;

  // The usual scope: the partitions this instance owns; accounts placed in them.
  [[nodiscard]] static CompareScope partitions(std::set<std::int32_t> owned,
                                               domain::Placement placement);
};

// Human-readable differences between a live store and one rebuilt from the log (accounts,
// histories, outcomes; offsets, outbox and mirror_owed are deliberately ignored: they are
// delivery state, not the view). Empty = identical within `scope`. A store read error or a
// corrupt value is reported as a difference. Stops after `max_differences` lines (the last
// line then says so). Merge-joins the key-ordered column families: memory O(1) in the size.
[[nodiscard]] std::vector<std::string> compare(
    const Store& live, const Store& replayed, const CompareScope& scope = {},
    std::size_t max_differences = std::numeric_limits<std::size_t>::max());

}  // namespace xbanku::view
