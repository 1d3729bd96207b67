#include "xbanku/api/operations.hpp"

#include "xbanku/common/error.hpp"
#include "xbanku/domain/uuid.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

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
  err = error_reply(400, "invalid_amount",
                    field_message("amount", "must be an integer number of minor units from 1 to 10^15"));
  return std::nullopt;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
      if (name == nullptr) return error_reply(400, "bad_request", field_message("name", "is required"));
      const json::string* s = name->if_string();
      if (s == nullptr) return error_reply(400, "bad_request", field_message("name", "must be a string"));
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
        return error_reply(400, "invalid_name",
                           field_message("name", "must be 1 to 200 characters of UTF-8 after trimming"));
      }
      e.acc_name = *domain::normalize_acc_name(std::string_view(*s));
      if (const json::value* id = args.if_contains(o.create_id_field); id != nullptr && !id->is_null()) {
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
  return o;
}

Reply from_outcome(const domain::Event& e, const domain::Outcome& out) {
  if (out.status == Status::rejected) {
    return error_reply(status_for(out.reason), domain::to_string(out.reason), message_for(out.reason));
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
        r.body = account_json(*out.account);
      } else {
        json::object o;
        o["id"] = out.account_id.empty() ? e.acc_id : out.account_id;
        r.body = std::move(o);
      }
      return r;
  }
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
}

// A query answered by another instance (relayed as it came), or by none (503).
template <typename T>
std::optional<Reply> answered_elsewhere(const app::QueryResult<T>& q) {
  if (q.unavailable) {
    Reply r = unavailable();
    r.served_by = q.served_by;
    return r;
  }
  if (!q.forwarded) return std::nullopt;
  boost::system::error_code ec;
  json::value body = json::parse(q.forwarded->body, ec);
  if (ec || q.forwarded->status < 200 || q.forwarded->status > 599) {
    return error_reply(502, "bad_gateway", "the instance owning this partition answered garbage");
  }
  Reply r{q.forwarded->status, std::move(body), {}, {}, false, false};
  copy_meta(r, q);
  r.retry_after = q.forwarded->status == 503;
  return r;
}

// The enumerator whose to_string is `name`, searching 0..last.
template <typename E>
std::optional<E> enum_from_name(std::string_view name, E last) {
  for (int i = 0; i <= static_cast<int>(last); ++i) {
    if (domain::to_string(static_cast<E>(i)) == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

std::optional<EventType> event_type_from_op(std::string_view op) {
  for (int i = 0; i <= static_cast<int>(EventType::transfer_refund); ++i) {
    if (op_name(static_cast<EventType>(i)) == op) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

}  // namespace

json::object error_body(std::string_view code, std::string_view message) {
  json::object inner;
  inner["code"] = code;
  inner["message"] = message;
  json::object o;
  o["error"] = std::move(inner);
  return o;
}

Reply error_reply(unsigned status, std::string_view code, std::string_view message) {
  Reply r;
  r.status = status;
  r.body = error_body(code, message);
  return r;
}

json::object account_json(const domain::Account& a) {
  json::object o;
  o["id"] = a.id;
  o["name"] = a.name;
  o["balance"] = a.balance;
  o["version"] = a.version;
  if (!a.owner.empty()) o["owner"] = a.owner;
  return o;
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

boost::asio::awaitable<Reply> run_command(Services& s, CommandKind kind, std::string account,
                                          const json::object& args, CommandOptions options) {
  Validated v = validate(kind, account, args, options);
  if (auto* r = std::get_if<Reply>(&v)) co_return std::move(*r);
  domain::Event event = std::move(std::get<domain::Event>(v));
  const domain::Event copy = event;  // execute takes the event by value

  const auto start = std::chrono::steady_clock::now();
  app::CommandReply cr = co_await s.commands.execute(std::move(event), options.wait);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

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
    case app::CommandReply::Kind::key_reused:
      r = error_reply(422, "idempotency_key_reused", kKeyReusedMessage);
      s.metrics.command(copy.type, "key_reused");
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
        r = error_reply(503, "log_uncertain",
                        "the command may have been written; check GET /commands/" + copy.command_id);
      }
      r.retry_after = true;
      break;
  }
  r.command_id = cr.where.command_id.empty() ? copy.command_id : cr.where.command_id;
  r.served_by = std::move(cr.served_by);
  co_return r;
}

boost::asio::awaitable<Reply> get_account(Services& s, std::string raw_id, app::Origin origin) {
  auto id = domain::canonical_uuid(raw_id);
  if (!id) co_return error_reply(400, "invalid_id", "the account id must be a UUID");
  auto q = co_await s.queries.account(std::move(*id), origin);
  if (auto r = answered_elsewhere(q)) co_return std::move(*r);
  Reply r = q.value ? Reply{200, account_json(*q.value), {}, {}, false, false}
                    : error_reply(404, "account_not_found", "the account does not exist");
  copy_meta(r, q);
  co_return r;
}

boost::asio::awaitable<Reply> list_accounts(Services& s, std::string after, std::size_t limit,
                                            app::Origin origin) {
  if (!after.empty()) {
    auto id = domain::canonical_uuid(after);
    if (!id) co_return error_reply(400, "invalid_id", "parameter \"after\" must be an account id (UUID)");
    after = std::move(*id);
  }
  auto q = co_await s.queries.accounts(std::move(after), limit, origin);
  if (auto r = answered_elsewhere(q)) co_return std::move(*r);
  json::array items;
  json::value next = nullptr;
  if (q.value) {
    items.reserve(q.value->items.size());
    for (const auto& a : q.value->items) items.emplace_back(account_json(a));
    if (q.value->next) next = *q.value->next;
  }
  json::object o;
  o["accounts"] = std::move(items);
  o["next"] = std::move(next);
  Reply r{200, std::move(o), {}, {}, false, false};
  copy_meta(r, q);
  co_return r;
}

boost::asio::awaitable<Reply> account_history(Services& s, std::string raw_id, std::string after,
                                              std::size_t limit, app::Origin origin) {
  auto id = domain::canonical_uuid(raw_id);
  if (!id) co_return error_reply(400, "invalid_id", "the account id must be a UUID");
  if (after.size() > kMaxCursorChars) co_return error_reply(400, "bad_request", "parameter \"after\" is too long");
  // History cursors are sequence numbers: anything else did not come from a previous page.
  if (!after.empty() && (after.size() > 19 || after.find_first_not_of("0123456789") != std::string::npos)) {
    co_return error_reply(400, "bad_request", "parameter \"after\" must be the cursor of a previous page");
  }
  auto q = co_await s.queries.history(std::move(*id), std::move(after), limit, origin);
  if (auto r = answered_elsewhere(q)) co_return std::move(*r);
  if (!q.value) {
    Reply r = error_reply(404, "account_not_found", "the account does not exist");
    copy_meta(r, q);
    co_return r;
  }
  json::array events;
  events.reserve(q.value->items.size());
  for (const auto& item : q.value->items) {
    const auto& h = item.entry;
    json::object e;
    e["partition"] = h.pos.partition;
    e["offset"] = h.pos.offset;
    e["type"] = op_name(h.type);
    e["amount"] = h.amount;
    e["balance_after"] = h.balance_after;
    if (!h.counterparty.empty()) e["counterparty"] = h.counterparty;
    if (!h.command_id.empty()) e["command_id"] = h.command_id;
    if (!h.transfer_id.empty()) e["transfer_id"] = h.transfer_id;
    if (h.ts != 0) e["ts"] = h.ts;
    e["cursor"] = item.cursor;
    events.emplace_back(std::move(e));
  }
  json::object o;
  o["events"] = std::move(events);
  o["next"] = q.value->next ? json::value(*q.value->next) : json::value(nullptr);
  Reply r{200, std::move(o), {}, {}, false, false};
  copy_meta(r, q);
  co_return r;
}

boost::asio::awaitable<Reply> get_command(Services& s, std::string command_id, std::chrono::milliseconds wait,
                                          app::Origin origin) {
  if (!valid_command_id(command_id)) {
    co_return error_reply(400, "invalid_id", "the command id must be 1 to 128 printable characters");
  }
  auto q = co_await s.queries.command(command_id, wait, origin);
  if (auto r = answered_elsewhere(q)) {
    r->command_id = command_id;
    co_return std::move(*r);
  }
  if (!q.value) {
    Reply r = error_reply(404, "command_not_found", "no command with this id has been projected");
    copy_meta(r, q);
    co_return r;
  }
  const auto& out = *q.value;
  json::object o;
  o["command_id"] = out.command_id.empty() ? command_id : out.command_id;
  o["type"] = op_name(out.type);
  o["status"] = domain::to_string(out.status);
  if (out.reason != Reason::none) o["reason"] = domain::to_string(out.reason);
  o["partition"] = out.pos.partition;
  o["offset"] = out.pos.offset;
  if (!out.account_id.empty()) o["account_id"] = out.account_id;
  if (out.account) o["account"] = account_json(*out.account);
  if (!out.transfer_id.empty()) o["transfer_id"] = out.transfer_id;
  if (!out.from.empty()) o["from"] = out.from;
  if (!out.to.empty()) o["to"] = out.to;
  // What the command asked for (its key is bound to it, DESIGN §2).
  if (out.amount != 0) o["amount"] = out.amount;
  if (!out.name.empty()) o["name"] = out.name;
  if (!out.principal.empty()) o["principal"] = out.principal;
  Reply r{200, std::move(o), command_id, {}, false, false};
  copy_meta(r, q);
  co_return r;
}

boost::asio::awaitable<Reply> get_transfer(Services& s, std::string transfer_id, std::string to,
                                           app::Origin origin) {
  if (transfer_id.empty() || transfer_id.size() > domain::kMaxTransferIdChars) {
    co_return error_reply(400, "invalid_id", "the transfer id must be 1 to 128 characters");
  }
  auto target = domain::canonical_uuid(to);
  if (!target) co_return error_reply(400, "invalid_id", "parameter \"to\" must be the target account id (UUID)");
  auto q = co_await s.queries.transfer(transfer_id, std::move(*target), origin);
  if (auto r = answered_elsewhere(q)) co_return std::move(*r);
  if (!q.value) {
    Reply r = error_reply(404, "transfer_not_found", "the target's partition has not seen this transfer yet");
    copy_meta(r, q);
    co_return r;
  }
  json::object o;
  o["transfer_id"] = transfer_id;
  o["status"] = domain::to_string(*q.value);
  Reply r{200, std::move(o), {}, {}, false, false};
  copy_meta(r, q);
  co_return r;
}

std::optional<domain::Account> account_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  const json::value* id = o->if_contains("id");
  const json::value* name = o->if_contains("name");
  const json::value* balance = o->if_contains("balance");
  const json::value* version = o->if_contains("version");
  if (id == nullptr || !id->is_string() || name == nullptr || !name->is_string()) return std::nullopt;
  if (balance == nullptr || !balance->is_int64() || version == nullptr) return std::nullopt;
  domain::Account a;
  a.id = std::string(id->get_string());
  a.name = std::string(name->get_string());
  a.balance = balance->get_int64();
  if (version->is_uint64()) {
    a.version = version->get_uint64();
  } else if (version->is_int64() && version->get_int64() >= 0) {
    a.version = static_cast<std::uint64_t>(version->get_int64());
  } else {
    return std::nullopt;
  }
  if (const json::value* owner = o->if_contains("owner")) {
    if (!owner->is_string()) return std::nullopt;
    a.owner = std::string(owner->get_string());
  }
  return a;
}

std::optional<domain::Outcome> outcome_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  auto text = [o](std::string_view field) -> std::string_view {
    const json::value* f = o->if_contains(field);
    return f != nullptr && f->is_string() ? std::string_view(f->get_string()) : std::string_view{};
  };
  domain::Outcome out;
  out.command_id = std::string(text("command_id"));
  auto type = event_type_from_op(text("type"));
  auto status = enum_from_name<Status>(text("status"), Status::refunded);
  if (!type || !status) return std::nullopt;
  out.type = *type;
  out.status = *status;
  if (auto reason = text("reason"); !reason.empty()) {
    auto r = enum_from_name<Reason>(reason, Reason::unknown_type);
    if (!r) return std::nullopt;
    out.reason = *r;
  }
  const json::value* partition = o->if_contains("partition");
  const json::value* offset = o->if_contains("offset");
  if (partition == nullptr || !partition->is_int64() || offset == nullptr || !offset->is_int64()) return std::nullopt;
  out.pos = {static_cast<std::int32_t>(partition->get_int64()), offset->get_int64()};
  out.account_id = std::string(text("account_id"));
  if (const json::value* account = o->if_contains("account")) {
    out.account = account_from_json(*account);
    if (!out.account) return std::nullopt;
  }
  out.transfer_id = std::string(text("transfer_id"));
  out.from = std::string(text("from"));
  out.to = std::string(text("to"));
  if (const json::value* amount = o->if_contains("amount")) {
    if (!amount->is_int64()) return std::nullopt;
    out.amount = amount->get_int64();
  }
  out.name = std::string(text("name"));
  out.principal = std::string(text("principal"));
  return out;
}

}  // namespace xbanku::api
