#pragma once
// The seams between the API layer (api/) and the rest of the service (app/, view/, log/).
// The API never touches Kafka or RocksDB directly: it submits commands to a CommandService,
// reads through a QueryService and listens to an UpdateFeed. All three live on the service's
// single io_context thread (see app/service.hpp) and must only be called from it.

#include "xbanku/domain/events.hpp"
#include "xbanku/domain/rules.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
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
                // errc::log_possibly_persisted (may be written) or errc::shutting_down
    key_reused, // the idempotency key is in use here for another request: NOT written
  };
  Kind kind = Kind::failed;
  Accepted where;                         // set unless failed
  std::optional<domain::Outcome> outcome; // set when projected
  boost::system::error_code error;        // set when failed
  std::string served_by;                  // instance that answered (forwarding, §8)
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

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next;  // cursor for the following page, if any
};

// Who asks (§8): a client (hops = 0) or another instance that forwarded the request
// (hops = its X-Xbanku-Hops header). A forwarded request is answered by the instance it
// reaches, never forwarded again, so forwarding cannot loop.
struct Origin {
  int hops = 0;
  // A forwarded account listing: the partitions the asker expects this instance to serve.
  std::vector<std::int32_t> partitions;
  [[nodiscard]] bool forwarded() const noexcept { return hops > 0; }
};

// The owner's answer to a forwarded query, relayed as it came (status and JSON body).
struct Forwarded {
  unsigned status = 0;
  std::string body;
};

// Query results: `stale` marks an answer from a local copy of a partition that currently has
// no serving owner (§8); `unavailable` means no instance could answer (→ 503 Retry-After);
// `forwarded` holds the owner's answer when another instance served it.
template <typename T>
struct QueryResult {
  std::optional<T> value;  // nullopt = not found (only when !unavailable and !forwarded)
  bool stale = false;
  bool unavailable = false;
  std::string served_by;
  std::optional<Forwarded> forwarded;
};

struct HistoryItem {
  domain::HistoryEntry entry;
  std::string cursor;  // pass as `after` to continue after this entry
};

class QueryService {
 public:
  virtual ~QueryService() = default;
  virtual boost::asio::awaitable<QueryResult<domain::Account>> account(std::string id, Origin origin) = 0;
  // Accounts in id order strictly after `after` (empty = from the start); limit in 1..1000.
  // A forwarded call answers for the partitions this instance serves only.
  virtual boost::asio::awaitable<QueryResult<Page<domain::Account>>> accounts(std::string after,
                                                                              std::size_t limit,
                                                                              Origin origin) = 0;
  // nullopt value = the account does not exist.
  virtual boost::asio::awaitable<QueryResult<Page<HistoryItem>>> history(std::string id,
                                                                         std::string after,
                                                                         std::size_t limit,
                                                                         Origin origin) = 0;
  // With `wait` > 0, an unknown command is waited for that long (an instance forwarding a
  // read-your-writes wait to the partition's owner uses it).
  virtual boost::asio::awaitable<QueryResult<domain::Outcome>> command(std::string command_id,
                                                                       std::chrono::milliseconds wait,
                                                                       Origin origin) = 0;
  // A cross-partition transfer as its target's partition sees it (`to` names the target
  // account, which places it). nullopt value = the credit has not arrived there yet.
  virtual boost::asio::awaitable<QueryResult<domain::TransferState>> transfer(std::string transfer_id,
                                                                              std::string to,
                                                                              Origin origin) = 0;
};

// One account change applied by the view, pushed to WebSocket subscribers (§4).
struct AccountUpdate {
  domain::Account account;
  domain::RecordPos pos;
  bool relayed = false;  // projected by another instance (§8), not sent on to other instances
};

class UpdateFeed {
 public:
  using Listener = std::function<void(const AccountUpdate&)>;
  virtual ~UpdateFeed() = default;
  // Listeners run on the io_context thread right after each RocksDB commit, in log order per
  // partition; they must not block (queue and return).
  [[nodiscard]] virtual std::uint64_t subscribe(Listener listener) = 0;
  virtual void unsubscribe(std::uint64_t token) = 0;
};

// Readiness for /readyz: every assigned partition caught up to its end.
class Health {
 public:
  virtual ~Health() = default;
  [[nodiscard]] virtual bool ready() const = 0;
  [[nodiscard]] virtual std::string describe() const = 0;  // JSON object text for /readyz
};

}  // namespace xbanku::app
