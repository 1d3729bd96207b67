#pragma once
// The operations behind DESIGN §3 and §4, shared by the HTTP handler and the WebSocket session:
// argument validation, the call into the app/ ports, and the mapping of replies and domain
// outcomes to a status code and a JSON body. Transport-free (no Beast), so both front ends
// answer with the same codes and messages.
// Thread-safety: call only from the io_context thread that owns the ports (see app/ports.hpp).

#include "xbanku/api/api_metrics.hpp"
#include "xbanku/api/caller.hpp"
#include "xbanku/app/ports.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::api {

// The ports an API front end talks to; references must outlive every session.
struct Services {
  app::CommandService& commands;
  app::QueryService& queries;
  app::Health& health;
  ApiMetrics& metrics;
  app::Inspector* inspector = nullptr;  // GET /cluster and /dlq; null: they answer 503
};

// A transport-neutral answer: HTTP sends `status` + `body`; WebSocket sends ok = status < 400.
struct Reply {
  unsigned status = 200;
  boost::json::value body;   // success body, {"error":{"code","message"}}, or the 504 pending body
  std::string command_id;    // → X-Command-Id
  std::string served_by;     // → X-Served-By
  bool stale = false;        // → X-Stale: true
  bool retry_after = false;  // → Retry-After: 1
  std::string www_authenticate;             // → WWW-Authenticate (a 401)
  std::string served_role;                  // → X-Served-Role: owner | standby (a local answer)
  std::optional<std::int64_t> replica_lag;  // → X-Replica-Lag (a standby's answer)
  std::string position;  // a command's record: → X-Position, WebSocket "position" (a token)
};

// `min_position` of a query (DESIGN §8): a token, or the error for a malformed one.
[[nodiscard]] std::optional<Reply> min_position_param(std::string_view token,
                                                      std::vector<domain::Position>& out);

[[nodiscard]] Reply error_reply(unsigned status, std::string_view code, std::string_view message);

enum class CommandKind { create, deposit, withdraw, transfer };

struct CommandOptions {
  std::string command_id;   // already validated (Idempotency-Key) or a fresh UUID
  bool client_key = false;  // command_id is the client's Idempotency-Key (not made here)
  std::string principal;    // who asks (empty without authentication)
  std::string request_id;   // the request's X-Request-Id, recorded on the event
  bool wait = true;         // read-your-writes (false → 202 as soon as Kafka acknowledged)
  // The field of `args` naming a created account's id: "id" over HTTP; "account" over
  // WebSocket, where "id" is the request's correlation id.
  std::string_view create_id_field = "id";
};

// Sets options.command_id: the client's idempotency key when it gave one (`key`; 400 naming
// `where` when it is not 1–128 printable ASCII characters), else a fresh UUID.
[[nodiscard]] std::optional<Reply> set_command_id(CommandOptions& options,
                                                  std::optional<std::string_view> key,
                                                  std::string_view where);

// Every operation takes the Caller and decides what it may do (DESIGN §9): reads need
// accounts:read (or write, or admin), commands accounts:write; an account belongs to its
// owner, and another principal's answers exactly as a missing one (404), with nothing written.

// Validates `args` (the HTTP body / WS frame) and runs the command. `account` is the raw
// (unvalidated) account id for deposit/withdraw.
[[nodiscard]] boost::asio::awaitable<Reply> run_command(Services& s, const Caller& caller,
                                                        CommandKind kind, std::string account,
                                                        const boost::json::object& args,
                                                        CommandOptions options);
// `origin` says whether another instance forwarded the request (DESIGN §8).
[[nodiscard]] boost::asio::awaitable<Reply> get_account(Services& s, const Caller& caller,
                                                        std::string raw_id, app::Origin origin);
// `after` is an account id ("" = from the start); limit already validated (1..1000). `owner`:
// whose accounts another instance asks for (ignored unless the caller is an administrator or
// an instance; anyone else lists their own). `prefix` (raw, "" = all): only ids starting so,
// e.g. "4f2a" (the console's search); 400 unless it can start a UUID.
[[nodiscard]] boost::asio::awaitable<Reply> list_accounts(Services& s, const Caller& caller,
                                                          std::string after, std::size_t limit,
                                                          std::string owner, app::Origin origin,
                                                          std::string prefix = {});
// GET /cluster: the members table, each partition's owner, and the progress of each (another
// instance asking, `origin` forwarded, gets this instance's own only). Administrators only.
[[nodiscard]] boost::asio::awaitable<Reply> cluster_view(Services& s, const Caller& caller,
                                                         app::Origin origin);
// GET /dlq: `<topic>.dlq` after offset `after` (raw; "" = from the first). Administrators only.
[[nodiscard]] boost::asio::awaitable<Reply> dead_letters(Services& s, const Caller& caller,
                                                         std::string after, std::size_t limit);
// The predecessor of the smallest account id starting with `prefix` (lower case), as an
// `after` cursor: "" when that is the first id; nullopt when no UUID can start with it.
[[nodiscard]] std::optional<std::string> prefix_cursor(std::string_view prefix);
// `after` is the raw cursor of a previous page ("" = from the start).
[[nodiscard]] boost::asio::awaitable<Reply> account_history(Services& s, const Caller& caller,
                                                            std::string raw_id, std::string after,
                                                            std::size_t limit, app::Origin origin);
// `wait`: how long an unknown command is waited for (0 = answer at once). `principal`: whose
// command another instance asks about (ignored from anyone else: a client sees its own).
// `partition`: the partition whose outcome of the key another instance waits for (the one it
// wrote its record to); nullopt: the first partition that knows the key.
[[nodiscard]] boost::asio::awaitable<Reply> get_command(
    Services& s, const Caller& caller, std::string command_id, std::chrono::milliseconds wait,
    std::string principal, app::Origin origin,
    std::optional<std::int32_t> partition = std::nullopt);
// `to` (raw) names the transfer's target account, whose partition records the transfer's end.
// For instances and administrators.
[[nodiscard]] boost::asio::awaitable<Reply> get_transfer(Services& s, const Caller& caller,
                                                         std::string transfer_id, std::string to,
                                                         app::Origin origin);

// 403 with WWW-Authenticate: Bearer error="insufficient_scope", scope=`scope`.
[[nodiscard]] Reply insufficient_scope(std::string_view scope);
// nullopt when `caller` may act on `account_id` (it exists and is theirs, or they are an
// administrator), else the reply: 404 account_not_found (another's account looks missing),
// or 503/500 when it cannot be told.
[[nodiscard]] boost::asio::awaitable<std::optional<Reply>> check_owner(Services& s,
                                                                       const Caller& caller,
                                                                       std::string account_id);

// An idempotency key / command id: 1–128 bytes of printable ASCII (no spaces or controls).
[[nodiscard]] bool valid_command_id(std::string_view) noexcept;
// A page size "1".."1000"; nullopt otherwise.
[[nodiscard]] std::optional<std::size_t> parse_limit(std::string_view) noexcept;
inline constexpr std::size_t kDefaultLimit = 100;
inline constexpr std::size_t kMaxLimit = 1000;
inline constexpr std::size_t kMaxCursorChars = 256;

}  // namespace xbanku::api
