#include "xbanku/api/operations.hpp"

#include "xbanku/common/clock.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/domain/uuid.hpp"
#include "xbanku/wire/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <variant>

namespace xbanku::api {

namespace json = boost::json;
using domain::EventType;
using domain::Reason;
using domain::Status;

namespace {

constexpr std::string_view kKeyReusedMessage =
    "this Idempotency-Key was already used for a different request; use a new key for a new "
    "request (the first request's outcome is at GET /commands/{key})";

std::string field_message(std::string_view field, std::string_view what) {
  std::string m = "field \"";
  m += field;
  m += "\" ";
  m += what;
  return m;
}

unsigned status_for(Reason r) noexcept {
  switch (r) {
    case Reason::account_not_found:
    case Reason::target_not_found: return 404;
    case Reason::account_exists:
    case Reason::balance_overflow:
    case Reason::insufficient_funds:
    case Reason::same_account: return 409;
    case Reason::invalid_amount:
    case Reason::malformed_event:
    case Reason::unknown_type: return 400;
    case Reason::idempotency_key_reused: return 422;
    case Reason::misplaced_record:  // only records from other writers; the API places its own
    case Reason::none: break;
  }
  return 500;
}

std::string_view message_for(Reason r) noexcept {
  switch (r) {
    case Reason::account_not_found: return "the account does not exist";
    case Reason::target_not_found: return "the target account does not exist";
    case Reason::account_exists: return "an account with this id already exists";
    case Reason::balance_overflow: return "the balance would exceed its maximum";
    case Reason::insufficient_funds: return "the balance is lower than the amount";
    case Reason::same_account: return "a transfer needs two different accounts";
    case Reason::invalid_amount: return "field \"amount\" must be an integer from 1 to 10^15";
    case Reason::malformed_event: return "the command was malformed";
    case Reason::unknown_type: return "the command type is unknown";
    case Reason::idempotency_key_reused: return kKeyReusedMessage;
    case Reason::misplaced_record: return "the record is not in its account's partition";
    case Reason::none: break;
  }
  return "the command was rejected";
}

// Either the event to submit or the 400 explaining why not.
using Validated = std::variant<domain::Event, Reply>;

// A required UUID field (or path id) in canonical form; sets `err` when absent/invalid.
std::optional<std::string> uuid_field(const json::object& args, std::string_view field,
                                      std::optional<Reply>& err) {
  const json::value* v = args.if_contains(field);
  if (v == nullptr) {
    err = error_reply(400, "bad_request", field_message(field, "is required"));
    return std::nullopt;
  }
  const json::string* s = v->if_string();
  if (s == nullptr) {
    err = error_reply(400, "bad_request", field_message(field, "must be a string (a UUID)"));
    return std::nullopt;
  }
  auto id = domain::canonical_uuid(std::string_view(*s));
  if (!id) err = error_reply(400, "invalid_id", field_message(field, "must be a UUID"));
  return id;
}

std::optional<std::int64_t> amount_field(const json::object& args, std::optional<Reply>& err) {
  const json::value* v = args.if_contains("amount");
  if (v == nullptr) {
    err = error_reply(400, "bad_request", field_message("amount", "is required"));
    return std::nullopt;
  }
  // A number too big for int64 is parsed as uint64 or double; 1.5 and 1e3 are doubles too.
  if (v->is_int64() && domain::valid_amount(v->get_int64())) return v->get_int64();
  err = error_reply(
      400, "invalid_amount",
      field_message("amount", "must be an integer number of minor units from 1 to 10^15"));
  return std::nullopt;
}

Validated validate(CommandKind kind, std::string_view account, const json::object& args,
                   const CommandOptions& o) {
  domain::Event e;
  e.command_id = o.command_id;
  e.principal = o.principal;
  e.request_id = o.request_id;
  e.ts = now_ms();
  std::optional<Reply> err;
  switch (kind) {
    case CommandKind::create: {
      e.type = EventType::create;
      const json::value* name = args.if_contains("name");
      if (name == nullptr)
        return error_reply(400, "bad_request", field_message("name", "is required"));
      const json::string* s = name->if_string();
      if (s == nullptr)
        return error_reply(400, "bad_request", field_message("name", "must be a string"));
      if (const auto why = domain::acc_name_error(std::string_view(*s))) {
        switch (*why) {
          case domain::TextError::control:
            return error_reply(400, "invalid_name",
                               field_message("name", "must not contain control characters"));
          case domain::TextError::bidi_control:
            return error_reply(
                400, "invalid_name",
                field_message("name", "must not contain bidirectional overrides or isolates"));
          case domain::TextError::length: break;
        }
        return error_reply(
            400, "invalid_name",
            field_message("name", "must be 1 to 200 characters of UTF-8 after trimming"));
      }
      e.acc_name = *domain::normalize_acc_name(std::string_view(*s));
      if (const json::value* id = args.if_contains(o.create_id_field);
          id != nullptr && !id->is_null()) {
        auto canonical = uuid_field(args, o.create_id_field, err);
        if (!canonical) return std::move(*err);
        e.acc_id = std::move(*canonical);
      } else if (o.client_key) {
        // A retry of this create must be the same request: derive the id from the key.
        e.acc_id = domain::keyed_uuid(e.principal, e.command_id);
      } else {
        e.acc_id = domain::new_uuid();
      }
      return e;
    }
    case CommandKind::deposit:
    case CommandKind::withdraw: {
      e.type = kind == CommandKind::deposit ? EventType::deposit : EventType::withdraw;
      auto id = domain::canonical_uuid(account);
      if (!id) return error_reply(400, "invalid_id", "the account id must be a UUID");
      e.acc_id = std::move(*id);
      auto amount = amount_field(args, err);
      if (!amount) return std::move(*err);
      e.amount = *amount;
      return e;
    }
    case CommandKind::transfer: {
      e.type = EventType::transfer;
      auto from = uuid_field(args, "from", err);
      if (!from) return std::move(*err);
      auto to = uuid_field(args, "to", err);
      if (!to) return std::move(*err);
      auto amount = amount_field(args, err);
      if (!amount) return std::move(*err);
      e.acc_id = std::move(*from);
      e.target_id = std::move(*to);
      e.amount = *amount;
      return e;
    }
  }
  return error_reply(400, "bad_request", "unknown command");
}

json::object position(const app::Accepted& where) {
  json::object o;
  o["command_id"] = where.command_id;
  o["partition"] = where.partition;
  o["offset"] = where.offset;
  o["position"] = domain::to_token(domain::Position{where.partition, where.offset});
  return o;
}

Reply from_outcome(const domain::Event& e, const domain::Outcome& out) {
  if (out.status == Status::rejected) {
    return error_reply(status_for(out.reason), domain::to_string(out.reason),
                       message_for(out.reason));
  }
  Reply r;
  switch (e.type) {
    case EventType::transfer: {
      json::object o;
      o["transfer_id"] = out.transfer_id.empty() ? out.command_id : out.transfer_id;
      // A same-partition transfer is applied in one step: to the client it is completed.
      o["status"] = out.status == Status::applied ? std::string_view("completed")
                                                  : domain::to_string(out.status);
      o["from"] = out.from.empty() ? e.acc_id : out.from;
      o["to"] = out.to.empty() ? e.target_id : out.to;
      r.body = std::move(o);
      return r;
    }
    default:
      r.status = e.type == EventType::create ? 201 : 200;
      if (out.account) {
        r.body = wire::to_json(*out.account);
      } else {
        json::object o;
        o["id"] = out.account_id.empty() ? e.acc_id : out.account_id;
        r.body = std::move(o);
      }
      return r;
  }
}

Reply account_not_found() {
  return error_reply(404, "account_not_found", "the account does not exist");
}

Reply unavailable() {
  Reply r = error_reply(503, "unavailable", "no instance can answer for this partition now; retry");
  r.retry_after = true;
  return r;
}

template <typename T>
void copy_meta(Reply& r, const app::QueryResult<T>& q) {
  r.stale = q.stale;
  r.served_by = q.served_by;
  r.served_role = q.role;
  r.replica_lag = q.lag;
}

// A query that no instance could answer (503), or whose view could not be read (500).
template <typename T>
std::optional<Reply> unanswered(const app::QueryResult<T>& q) {
  if (q.error) {
    Reply r = error_reply(500, "store_error", "the view could not be read");
    r.served_by = q.served_by;
    return r;
  }
  if (q.unavailable) {
    Reply r = unavailable();
    r.served_by = q.served_by;
    return r;
  }
  if (q.position_not_reached) {
    Reply r = error_reply(504, "position_not_reached",
                          "no view that could answer has applied min_position yet; retry");
    r.served_by = q.served_by;
    r.retry_after = true;
    return r;
  }
  return std::nullopt;
}

}  // namespace

Reply error_reply(unsigned status, std::string_view code, std::string_view message) {
  Reply r;
  r.status = status;
  r.body = wire::error_body(code, message);
  return r;
}

bool valid_command_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > domain::kMaxCommandIdChars) return false;
  for (const char c : id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

std::optional<std::size_t> parse_limit(std::string_view s) noexcept {
  std::size_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > kMaxLimit) return std::nullopt;
  return v;
}

std::optional<Reply> set_command_id(CommandOptions& options, std::optional<std::string_view> key,
                                    std::string_view where) {
  if (!key) {
    options.command_id = domain::new_uuid();
    options.client_key = false;
    return std::nullopt;
  }
  if (!valid_command_id(*key)) {
    return error_reply(400, "bad_request",
                       std::string(where) + " must be 1 to 128 printable characters");
  }
  options.command_id = std::string(*key);
  options.client_key = true;
  return std::nullopt;
}

boost::asio::awaitable<Reply> run_command(Services& s, const Caller& caller, CommandKind kind,
                                          std::string account, const json::object& args,
                                          CommandOptions options) {
  if (!caller.can_write()) co_return insufficient_scope(kScopeWrite);
  options.principal = caller.principal;
  Validated v = validate(kind, account, args, options);
  if (auto* r = std::get_if<Reply>(&v)) co_return std::move(*r);
  domain::Event event = std::move(std::get<domain::Event>(v));
  if (kind != CommandKind::create && !caller.admin()) {
    // Money moves out of (or into, for a deposit) an account only at its owner's request; any
    // other account answers exactly as a missing one, and nothing is written.
    if (auto refused = co_await check_owner(s, caller, event.acc_id)) co_return std::move(*refused);
  }
  const domain::Event copy = event;  // execute takes the event by value

  const auto start = std::chrono::steady_clock::now();
  app::CommandReply cr = co_await s.commands.execute(std::move(event), options.wait);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  Reply r;
  switch (cr.kind) {
    case app::CommandReply::Kind::projected:
      s.metrics.latency(true, seconds);
      if (cr.outcome && domain::request_of(*cr.outcome) != domain::request_of(copy)) {
        // The key's first record asked for something else: its outcome is not this request's.
        r = error_reply(422, "idempotency_key_reused", kKeyReusedMessage);
        s.metrics.command(copy.type, "key_reused");
      } else if (cr.outcome) {
        r = from_outcome(copy, *cr.outcome);
        s.metrics.command(copy.type, domain::to_string(cr.outcome->status));
      } else {
        r = error_reply(500, "internal", "internal error");
        s.metrics.command(copy.type, "failed");
      }
      break;
    case app::CommandReply::Kind::accepted:
      s.metrics.latency(false, seconds);
      s.metrics.command(copy.type, "accepted");
      r.status = 202;
      r.body = position(cr.where);
      break;
    case app::CommandReply::Kind::pending: {
      s.metrics.command(copy.type, "wait_timeout");
      json::object o = position(cr.where);
      o["status"] = "pending";
      r.status = 504;
      r.body = std::move(o);
      break;
    }
    case app::CommandReply::Kind::failed:
      s.metrics.command(copy.type, "failed");
      if (cr.error == errc::log_unavailable) {
        r = error_reply(503, "log_unavailable",
                        "the event log is unreachable: the command was not written; retry later");
      } else if (cr.error == errc::shutting_down) {
        r = error_reply(503, "shutting_down",
                        "the service is shutting down: the command was not written; retry");
      } else {
        // log_possibly_persisted, or anything we cannot vouch for: never claim "not written".
        r = error_reply(
            503, "log_uncertain",
            "the command may have been written; check GET /commands/" + copy.command_id);
      }
      r.retry_after = true;
      break;
  }
  r.command_id = cr.where.command_id.empty() ? copy.command_id : cr.where.command_id;
  r.served_by = std::move(cr.served_by);
  if (cr.where.partition >= 0 && cr.where.offset >= 0)
    r.position = domain::to_token(domain::Position{cr.where.partition, cr.where.offset});
  co_return r;
}

boost::asio::awaitable<Reply> get_account(Services& s, const Caller& caller, std::string raw_id,
                                          app::Origin origin) {
  if (!caller.can_read()) co_return insufficient_scope(kScopeRead);
  auto id = domain::canonical_uuid(raw_id);
  if (!id) co_return error_reply(400, "invalid_id", "the account id must be a UUID");
  auto q = co_await s.queries.account(std::move(*id), origin);
  if (auto r = unanswered(q)) co_return std::move(*r);
  Reply r = q.value && caller.owns(*q.value)
                ? Reply{200, wire::to_json(*q.value), {}, {}, false, false}
                : account_not_found();
  copy_meta(r, q);
  co_return r;
}

std::optional<std::string> prefix_cursor(std::string_view prefix) {
  constexpr std::string_view kZero = "00000000-0000-0000-0000-000000000000";
  if (prefix.size() > kZero.size()) return std::nullopt;
  std::string id(kZero);
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char c = prefix[i];
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (kZero[i] == '-' ? c != '-' : !hex) return std::nullopt;
    id[i] = c;
  }
  // Ids are listed strictly after the cursor: step back one from the smallest match, which
  // sorts like a 128-bit number since every id has the same layout.
  for (std::size_t i = id.size(); i-- > 0;) {
    char& c = id[i];
    if (c == '-') continue;
    if (c == '0') {
      c = 'f';
      continue;
    }
    c = c == 'a' ? '9' : static_cast<char>(c - 1);
    return id;
  }
  return std::string();  // the prefix's smallest id is the very first: from the start
}

boost::asio::awaitable<Reply> list_accounts(Services& s, const Caller& caller, std::string after,
                                            std::size_t limit, std::string owner,
                                            app::Origin origin, std::string prefix) {
  if (!caller.can_read()) co_return insufficient_scope(kScopeRead);
  if (!after.empty()) {
    auto id = domain::canonical_uuid(after);
    if (!id)
      co_return error_reply(400, "invalid_id", "parameter \"after\" must be an account id (UUID)");
    after = std::move(*id);
  }
  for (char& c : prefix) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!prefix.empty()) {
    // Ids sort by their bytes, so the matches are one run: start just before it.
    auto from = prefix_cursor(prefix);
    if (!from) {
      co_return error_reply(400, "bad_request",
                            "parameter \"prefix\" must be the start of an account id "
                            "(8-4-4-4-12 hexadecimal digits)");
    }
    if (*from > after) after = std::move(*from);
  }
  // Everyone's accounts for an administrator (or an instance asking for `owner`'s); a
  // principal's own otherwise.
  if (!caller.admin()) owner = caller.principal;
  auto q = co_await s.queries.accounts(std::move(after), limit, std::move(owner), origin);
  if (auto r = unanswered(q)) co_return std::move(*r);
  view::AccountPage page = q.value.value_or(view::AccountPage{});
  if (!prefix.empty()) {
    // The run ends at the first id that does not start with the prefix: so does the listing.
    const auto past = std::find_if(page.items.begin(), page.items.end(), [&](const auto& a) {
      return !std::string_view(a.id).starts_with(prefix);
    });
    if (past != page.items.end()) {
      page.items.erase(past, page.items.end());
      page.next.reset();
    }
  }
  Reply r{200, wire::to_json(page), {}, {}, false, false};
  copy_meta(r, q);
  co_return r;
}

boost::asio::awaitable<Reply> account_history(Services& s, const Caller& caller, std::string raw_id,
                                              std::string after, std::size_t limit,
                                              app::Origin origin) {
  if (!caller.can_read()) co_return insufficient_scope(kScopeRead);
  auto id = domain::canonical_uuid(raw_id);
  if (!id) co_return error_reply(400, "invalid_id", "the account id must be a UUID");
  if (after.size() > kMaxCursorChars)
    co_return error_reply(400, "bad_request", "parameter \"after\" is too long");
  // History cursors are sequence numbers: anything else did not come from a previous page.
  if (!after.empty() &&
      (after.size() > 19 || after.find_first_not_of("0123456789") != std::string::npos)) {
    co_return error_reply(400, "bad_request",
                          "parameter \"after\" must be the cursor of a previous page");
  }
  if (!caller.admin()) {
    if (auto refused = co_await check_owner(s, caller, *id)) co_return std::move(*refused);
  }
  std::uint64_t after_seq = 0;
  if (!after.empty()) std::from_chars(after.data(), after.data() + after.size(), after_seq);
  auto q = co_await s.queries.history(std::move(*id), after_seq, limit, origin);
  if (auto r = unanswered(q)) co_return std::move(*r);
  if (!q.value) {
    Reply r = account_not_found();
    copy_meta(r, q);
    co_return r;
  }
  Reply r{200, wire::to_json(*q.value), {}, {}, false, false};
  copy_meta(r, q);
  co_return r;
}

boost::asio::awaitable<Reply> get_command(Services& s, const Caller& caller, std::string command_id,
                                          std::chrono::milliseconds wait, std::string principal,
                                          app::Origin origin,
                                          std::optional<std::int32_t> partition) {
  if (!caller.can_read()) co_return insufficient_scope(kScopeRead);
  if (!valid_command_id(command_id)) {
    co_return error_reply(400, "invalid_id",
                          "the command id must be 1 to 128 printable characters");
  }
  // Keys are scoped per principal: a client sees its own commands only; an instance asks on
  // behalf of the principal it names.
  if (!caller.peer) principal = caller.principal;
  auto q = co_await s.queries.command(command_id, std::move(principal), wait, origin, partition);
  if (auto r = unanswered(q)) {
    r->command_id = command_id;
    co_return std::move(*r);
  }
  if (!q.value) {
    Reply r = error_reply(404, "command_not_found", "no command with this id has been projected");
    copy_meta(r, q);
    co_return r;
  }
  Reply r{200, wire::outcome_to_json(*q.value, command_id), command_id, {}, false, false};
  copy_meta(r, q);
  co_return r;
}

boost::asio::awaitable<Reply> get_transfer(Services& s, const Caller& caller,
                                           std::string transfer_id, std::string to,
                                           app::Origin origin) {
  // How a transfer ended at its target is the instances' business (and an administrator's):
  // a client follows its transfer at GET /commands/{id}.
  if (!caller.admin()) co_return insufficient_scope(kScopeAdmin);
  if (transfer_id.empty() || transfer_id.size() > domain::kMaxTransferIdChars) {
    co_return error_reply(400, "invalid_id", "the transfer id must be 1 to 128 characters");
  }
  auto target = domain::canonical_uuid(to);
  if (!target)
    co_return error_reply(400, "invalid_id",
                          "parameter \"to\" must be the target account id (UUID)");
  auto q = co_await s.queries.transfer(transfer_id, std::move(*target), origin);
  if (auto r = unanswered(q)) co_return std::move(*r);
  if (!q.value) {
    Reply r = error_reply(404, "transfer_not_found",
                          "the target's partition has not seen this transfer yet");
    copy_meta(r, q);
    co_return r;
  }
  Reply r{200, wire::transfer_to_json(transfer_id, *q.value), {}, {}, false, false};
  copy_meta(r, q);
  co_return r;
}

namespace {

json::value optional_json(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object to_json(const app::ClusterInfo& c) {
  json::array members;
  for (const auto& m : c.members) {
    json::object o;
    o["instance"] = m.instance;
    o["url"] = m.url;
    json::array parts(m.partitions.begin(), m.partitions.end());
    o["partitions"] = std::move(parts);
    o["self"] = m.self;
    o["alive"] = m.alive;
    members.emplace_back(std::move(o));
  }
  json::array partitions;
  for (const auto& p : c.partitions) {
    json::object o;
    o["partition"] = p.partition;
    o["owner"] = p.owner ? json::value(*p.owner) : json::value(nullptr);
    o["serving"] = p.serving ? json::value(*p.serving) : json::value(nullptr);
    o["applied"] = optional_json(p.applied);
    o["end"] = optional_json(p.end);
    o["lag"] = optional_json(p.lag);
    json::array standbys;
    for (const auto& s : p.standbys) standbys.emplace_back(s);
    o["standbys"] = std::move(standbys);
    partitions.emplace_back(std::move(o));
  }
  json::object o;
  o["instance"] = c.instance;
  o["partitions_total"] = c.partitions_total;
  o["members"] = std::move(members);
  o["partitions"] = std::move(partitions);
  return o;
}

// Dead letters are whatever could not be read: their bytes need not be UTF-8, which JSON
// strings must be. Invalid sequences become U+FFFD.
std::string utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool ok = n > 0 && i + n <= in.size() && !(n == 2 && c < 0xC2);
    for (std::size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) >> 6) == 0x2;
    if (ok) {
      out.append(in.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

json::object to_json(const app::DeadLetterPage& page) {
  json::array letters;
  for (const auto& d : page.letters) {
    json::object o;
    o["offset"] = d.offset;
    json::object origin;
    origin["topic"] = d.origin_topic;
    origin["partition"] =
        d.origin_partition ? json::value(*d.origin_partition) : json::value(nullptr);
    origin["offset"] = optional_json(d.origin_offset);
    o["origin"] = std::move(origin);
    o["reason"] = utf8(d.reason);
    o["key"] = d.key ? json::value(utf8(*d.key)) : json::value(nullptr);
    o["value"] = d.value ? json::value(utf8(*d.value)) : json::value(nullptr);
    if (d.truncated_from) o["truncated_from"] = *d.truncated_from;
    letters.emplace_back(std::move(o));
  }
  json::object o;
  o["letters"] = std::move(letters);
  o["next"] = optional_json(page.next);
  return o;
}

Reply no_inspector() {
  Reply r = error_reply(503, "unavailable", "this instance cannot describe its cluster now; retry");
  r.retry_after = true;
  return r;
}

}  // namespace

boost::asio::awaitable<Reply> cluster_view(Services& s, const Caller& caller, app::Origin origin) {
  if (!caller.admin()) co_return insufficient_scope(kScopeAdmin);
  if (s.inspector == nullptr) co_return no_inspector();
  auto info = co_await s.inspector->cluster(origin.forwarded());
  co_return Reply{200, to_json(info), {}, {}, false, false};
}

boost::asio::awaitable<Reply> dead_letters(Services& s, const Caller& caller, std::string after,
                                           std::size_t limit) {
  if (!caller.admin()) co_return insufficient_scope(kScopeAdmin);
  std::int64_t from = -1;
  if (!after.empty()) {
    const auto [p, ec] = std::from_chars(after.data(), after.data() + after.size(), from);
    if (ec != std::errc() || p != after.data() + after.size() || from < 0) {
      co_return error_reply(400, "bad_request",
                            "parameter \"after\" must be the offset of a previous page");
    }
  }
  if (s.inspector == nullptr) co_return no_inspector();
  auto page = co_await s.inspector->dead_letters(from, limit);
  if (!page) {
    Reply r =
        page.error() == errc::timeout
            ? error_reply(503, "log_unavailable",
                          "the dead letters could not be read in time; retry")
            : error_reply(503, "log_unavailable", "the dead letters cannot be read now; retry");
    r.retry_after = true;
    co_return r;
  }
  co_return Reply{200, to_json(*page), {}, {}, false, false};
}

Reply insufficient_scope(std::string_view scope) {
  Reply r = error_reply(403, "forbidden",
                        "the token's scopes do not allow this; it needs " + std::string(scope));
  r.www_authenticate =
      fmt::format(R"(Bearer realm="xbanku", error="insufficient_scope", scope="{}")", scope);
  return r;
}

boost::asio::awaitable<std::optional<Reply>> check_owner(Services& s, const Caller& caller,
                                                         std::string account_id) {
  const app::Origin local;  // named, not a temporary in co_await (GCC 12, see http_handler.cpp)
  auto q = co_await s.queries.account(std::move(account_id), local);
  if (auto r = unanswered(q)) co_return std::move(*r);
  if (!q.value || !caller.owns(*q.value)) co_return account_not_found();
  co_return std::nullopt;
}

std::optional<Reply> min_position_param(std::string_view token,
                                        std::vector<domain::Position>& out) {
  out.clear();
  if (token.empty()) return std::nullopt;
  auto parsed = domain::parse_positions(token);
  if (!parsed) {
    return error_reply(400, "bad_request",
                       fmt::format("min_position must be 1 to {} comma-separated "
                                   "\"<partition>:<offset>\" positions, as a command's "
                                   "answer gives them (X-Position)",
                                   domain::kMaxPositions));
  }
  out = std::move(*parsed);
  return std::nullopt;
}

}  // namespace xbanku::api
