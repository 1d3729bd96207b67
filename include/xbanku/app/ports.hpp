#pragma once
// The seams between the API layer (api/) and the service (app/). The API never touches Kafka or
// RocksDB: it submits commands to a CommandService, reads through a QueryService, listens to an
// UpdateFeed and asks Health. Answers are domain values, never HTTP: how they travel is the
// API's business (wire/ has the JSON). All of them live on the service's io_context thread
// (see app/serve.hpp) and must only be called from it.

#include "xbanku/domain/events.hpp"
#include "xbanku/domain/position.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/view/pages.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace xbanku::app {

// Where Kafka stored a command's record.
struct Accepted {
  std::string command_id;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

struct CommandReply {
  enum class Kind {
    projected,  // the record was projected: `outcome` holds its (first) outcome
    accepted,   // wait=false: Kafka acknowledged, not yet projected
    pending,    // the read-your-writes wait passed its bound; the command is durable
    failed,     // not accepted: `error` is errc::log_unavailable (NOT written),
                // errc::log_possibly_persisted (may be written), errc::shutting_down or
                // errc::store_error (NOT written)
  };
  Kind kind = Kind::failed;
  Accepted where;                          // set unless failed
  std::optional<domain::Outcome> outcome;  // set when projected
  boost::system::error_code error;         // set when failed
  std::string served_by;                   // instance that answered (forwarding, §8)
};

class CommandService {
 public:
  virtual ~CommandService() = default;
  // Appends `event` (its command_id already set: the Idempotency-Key or a fresh UUID) to the
  // log. If a record with that key (and principal) was already projected, answers its first
  // outcome without writing again: the caller compares domain::request_of on both, since the
  // key may have been used for another request. With `wait`, answers once the record is
  // projected or the configured bound passes (Kind::pending).
  virtual boost::asio::awaitable<CommandReply> execute(domain::Event event, bool wait) = 0;
};

// The longest read-your-writes wait another instance may ask for (GET /commands/{id}?wait_ms=).
inline constexpr std::chrono::milliseconds kMaxCommandWait{60000};

// Who asks (§8): a client (hops = 0) or another instance that forwarded the request
// (hops = its X-Xbanku-Hops header). A forwarded request is answered by the instance it
// reaches, never forwarded again, so forwarding cannot loop.
struct Origin {
  int hops = 0;
  // A forwarded account listing: the partitions the asker expects this instance to serve.
  std::vector<std::int32_t> partitions;
  // min_position (DESIGN §8): answer only from a view that has applied past these positions
  // (the one of the query's partition counts); empty = any.
  std::vector<domain::Position> min_position;
  [[nodiscard]] bool forwarded() const noexcept { return hops > 0; }
};

// A query's answer. `value` nullopt = not found, unless `unavailable` (no instance could
// answer: 503 Retry-After) or `error` (the view could not be read). `stale` marks an answer
// from a local copy of a partition that has no serving owner now (§8); `served_by` names the
// instance whose view answered.
template <typename T>
struct QueryResult {
  std::optional<T> value;
  bool stale = false;
  bool unavailable = false;
  boost::system::error_code error;
  std::string served_by;
  // Answered from this instance's view: its role for the partition ("owner" or "standby") and,
  // for a standby, how many records behind the log's end it was (X-Served-Role, X-Replica-Lag).
  std::string role;
  std::optional<std::int64_t> lag;
  // min_position was not reached by any view that could answer within the bound (504).
  bool position_not_reached = false;
};

class QueryService {
 public:
  virtual ~QueryService() = default;
  virtual boost::asio::awaitable<QueryResult<domain::Account>> account(std::string id,
                                                                       Origin origin) = 0;
  // Accounts in id order strictly after `after` (empty = from the start); limit in 1..1000;
  // only those `owner` created unless it is empty. A forwarded call answers for the partitions
  // this instance serves only.
  virtual boost::asio::awaitable<QueryResult<view::AccountPage>> accounts(std::string after,
                                                                          std::size_t limit,
                                                                          std::string owner,
                                                                          Origin origin) = 0;
  // Entries after sequence number `after_seq` (0 = from the start). nullopt value = the account
  // does not exist.
  virtual boost::asio::awaitable<QueryResult<view::HistoryPage>> history(std::string id,
                                                                         std::uint64_t after_seq,
                                                                         std::size_t limit,
                                                                         Origin origin) = 0;
  // The outcome of `principal`'s command (keys are scoped per principal). With `wait` > 0, an
  // unknown command is waited for that long (an instance forwarding a read-your-writes wait to
  // the partition's owner uses it). `partition`: the key's outcome in that partition only (the
  // key's scope, DESIGN §2), as an instance waiting for a record it wrote there asks; nullopt:
  // the first partition that knows the key (a client's GET /commands/{id} names no partition).
  virtual boost::asio::awaitable<QueryResult<domain::Outcome>> command(
      std::string command_id, std::string principal, std::chrono::milliseconds wait, Origin origin,
      std::optional<std::int32_t> partition) = 0;
  // A cross-partition transfer as its target's partition sees it (`to` names the target
  // account, which places it). nullopt value = the credit has not arrived there yet.
  virtual boost::asio::awaitable<QueryResult<domain::TransferState>> transfer(
      std::string transfer_id, std::string to, Origin origin) = 0;
};

// One account change applied by a view, pushed to WebSocket subscribers (§4).
struct AccountUpdate {
  domain::Account account;
  domain::RecordPos pos;
  bool relayed = false;  // projected by another instance (§8), not sent on to other instances
};

class UpdateFeed {
 public:
  using Listener = std::function<void(const AccountUpdate&)>;
  virtual ~UpdateFeed() = default;
  // Listeners run on the io_context thread right after each commit, in log order per
  // partition; they must not block (queue and return).
  [[nodiscard]] virtual std::uint64_t subscribe(Listener listener) = 0;
  virtual void unsubscribe(std::uint64_t token) = 0;
  // How many client (not peer) subscriptions the API holds changed by `delta`: while there is
  // any, the feed also brings in the updates other instances project.
  virtual void client_subscriptions(std::ptrdiff_t delta) = 0;
};

// What an operator looks at (GET /cluster, GET /dlq): the members table with this instance's
// own progress, and the dead letters.
struct MemberInfo {
  std::string instance;
  std::string url;
  std::vector<std::int32_t> partitions;  // those it owns now (the latest claim of each)
  bool self = false;
  // In the group as far as the members table tells: it is this instance, or it owns a
  // partition. A killed instance's partitions are claimed by the member the group hands them
  // to (after the session timeout), a stopped one retracts its claims: either owns none.
  bool alive = false;
};
struct PartitionInfo {
  std::int32_t partition = 0;
  std::optional<std::string> owner;  // the instance serving it as announced; nullopt = none
  // Progress: nullopt where the owner did not tell (another member that did not answer).
  std::optional<bool> serving;          // caught up and answering
  std::optional<std::int64_t> applied;  // next offset the view has committed
  std::optional<std::int64_t> end;      // the log's end as last fetched
  std::optional<std::int64_t> lag;      // end - applied
  std::vector<std::string> standbys;    // instances that shadow it (as each says)
};
struct ClusterInfo {
  std::string instance;  // this one
  std::int32_t partitions_total = 0;
  std::vector<MemberInfo> members;
  std::vector<PartitionInfo> partitions;
};
// One record of `<topic>.dlq` (the projector's headers say where it came from and why).
struct DeadLetterInfo {
  std::int64_t offset = 0;
  std::string origin_topic;
  std::optional<std::int32_t> origin_partition;
  std::optional<std::int64_t> origin_offset;
  std::string reason;
  std::optional<std::string> key;    // nullopt: the record had none
  std::optional<std::string> value;  // as written (possibly cut: truncated_from says)
  std::optional<std::int64_t> truncated_from;
};
struct DeadLetterPage {
  std::vector<DeadLetterInfo> letters;
  std::optional<std::int64_t> next;  // offset to pass as `after` for the next page
};

class Inspector {
 public:
  virtual ~Inspector() = default;
  // The members table and each partition's owner, with progress: this instance's own, and
  // unless `local_only` (another instance asking) each other live member's, asked for within
  // a bound (a member that does not answer leaves its partitions' progress null).
  virtual boost::asio::awaitable<ClusterInfo> cluster(bool local_only) = 0;
  // Dead letters at offsets after `after` (-1 = from the first), at most `limit` (1..1000).
  // Bounded: answers within a few seconds or fails with errc::timeout, or with
  // errc::log_unavailable (no broker, or too many reads running already).
  virtual boost::asio::awaitable<boost::system::result<DeadLetterPage>> dead_letters(
      std::int64_t after, std::size_t limit) = 0;
};

// Readiness for /readyz: every assigned partition caught up to its end.
class Health {
 public:
  virtual ~Health() = default;
  [[nodiscard]] virtual bool ready() const = 0;
  [[nodiscard]] virtual std::string describe() const = 0;  // JSON object text for /readyz
};

}  // namespace xbanku::app
