#include "xbanku/wire/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <limits>

namespace xbanku::wire {

namespace json = boost::json;
using domain::EventType;

namespace {

std::string_view text(const json::object& o, std::string_view field) {
  const json::value* f = o.if_contains(field);
  return f != nullptr && f->is_string() ? std::string_view(f->get_string()) : std::string_view{};
}

std::optional<std::int64_t> int64_field(const json::object& o, std::string_view field) {
  const json::value* f = o.if_contains(field);
  if (f == nullptr || !f->is_int64()) return std::nullopt;
  return f->get_int64();
}

std::optional<std::uint64_t> uint64_of(const json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  return std::nullopt;
}

std::optional<std::uint64_t> parse_cursor(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The enumerator whose to_string is `name`, searching 0..last.
template <typename E>
std::optional<E> enum_from_name(std::string_view name, E last) {
  for (int i = 0; i <= static_cast<int>(last); ++i) {
    if (domain::to_string(static_cast<E>(i)) == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

json::object history_event(const view::HistoryItem& item) {
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
  if (!h.principal.empty()) e["principal"] = h.principal;
  if (!h.request_id.empty()) e["request_id"] = h.request_id;
  e["cursor"] = std::to_string(item.seq);
  return e;
}

std::optional<view::HistoryItem> history_event_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  view::HistoryItem item;
  auto& h = item.entry;
  const auto partition = int64_field(*o, "partition");
  const auto offset = int64_field(*o, "offset");
  const auto amount = int64_field(*o, "amount");
  const auto balance = int64_field(*o, "balance_after");
  const auto type = event_type_from_op(text(*o, "type"));
  const auto seq = parse_cursor(text(*o, "cursor"));
  if (!partition || !offset || !amount || !balance || !type || !seq) return std::nullopt;
  if (*partition < 0 || *partition > std::numeric_limits<std::int32_t>::max()) return std::nullopt;
  h.pos = {static_cast<std::int32_t>(*partition), *offset};
  h.type = *type;
  h.amount = *amount;
  h.balance_after = *balance;
  h.counterparty = std::string(text(*o, "counterparty"));
  h.command_id = std::string(text(*o, "command_id"));
  h.transfer_id = std::string(text(*o, "transfer_id"));
  h.ts = int64_field(*o, "ts").value_or(0);
  h.principal = std::string(text(*o, "principal"));
  h.request_id = std::string(text(*o, "request_id"));
  item.seq = *seq;
  return item;
}

}  // namespace

std::string_view op_name(EventType t) noexcept {
  switch (t) {
    case EventType::create: return "create";
    case EventType::deposit: return "deposit";
    case EventType::withdraw: return "withdraw";
    case EventType::transfer: return "transfer";
    case EventType::transfer_credit: return "transfer_credit";
    case EventType::transfer_refund: return "transfer_refund";
  }
  return "unknown";
}

std::optional<EventType> event_type_from_op(std::string_view op) noexcept {
  for (int i = 0; i <= static_cast<int>(EventType::transfer_refund); ++i) {
    if (op_name(static_cast<EventType>(i)) == op) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

json::object error_body(std::string_view code, std::string_view message) {
  json::object inner;
  inner["code"] = code;
  inner["message"] = message;
  json::object o;
  o["error"] = std::move(inner);
  return o;
}

json::object to_json(const domain::Account& a) {
  json::object o;
  o["id"] = a.id;
  o["name"] = a.name;
  o["balance"] = a.balance;
  o["version"] = a.version;
  if (!a.owner.empty()) o["owner"] = a.owner;
  return o;
}

std::optional<domain::Account> account_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  const json::value* id = o->if_contains("id");
  const json::value* name = o->if_contains("name");
  const json::value* version = o->if_contains("version");
  const auto balance = int64_field(*o, "balance");
  if (id == nullptr || !id->is_string() || name == nullptr || !name->is_string())
    return std::nullopt;
  if (!balance || version == nullptr) return std::nullopt;
  domain::Account a;
  a.id = std::string(id->get_string());
  a.name = std::string(name->get_string());
  a.balance = *balance;
  const auto ver = uint64_of(*version);
  if (!ver) return std::nullopt;
  a.version = *ver;
  if (const json::value* owner = o->if_contains("owner")) {
    if (!owner->is_string()) return std::nullopt;
    a.owner = std::string(owner->get_string());
  }
  return a;
}

json::object to_json(const view::AccountPage& page) {
  json::array items;
  items.reserve(page.items.size());
  for (const auto& a : page.items) items.emplace_back(to_json(a));
  json::object o;
  o["accounts"] = std::move(items);
  o["next"] = page.next ? json::value(*page.next) : json::value(nullptr);
  return o;
}

std::optional<view::AccountPage> account_page_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  const json::value* items = o != nullptr ? o->if_contains("accounts") : nullptr;
  if (items == nullptr || !items->is_array()) return std::nullopt;
  view::AccountPage page;
  for (const auto& item : items->get_array()) {
    auto a = account_from_json(item);
    if (!a) return std::nullopt;
    page.items.push_back(std::move(*a));
  }
  if (const json::value* next = o->if_contains("next"); next != nullptr && next->is_string()) {
    page.next = std::string(next->get_string());
  }
  return page;
}

json::object to_json(const view::HistoryPage& page) {
  json::array events;
  events.reserve(page.items.size());
  for (const auto& item : page.items) events.emplace_back(history_event(item));
  json::object o;
  o["events"] = std::move(events);
  o["next"] = page.next ? json::value(std::to_string(*page.next)) : json::value(nullptr);
  return o;
}

std::optional<view::HistoryPage> history_page_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  const json::value* events = o != nullptr ? o->if_contains("events") : nullptr;
  if (events == nullptr || !events->is_array()) return std::nullopt;
  view::HistoryPage page;
  for (const auto& e : events->get_array()) {
    auto item = history_event_from_json(e);
    if (!item) return std::nullopt;
    page.items.push_back(std::move(*item));
  }
  if (const json::value* next = o->if_contains("next"); next != nullptr && next->is_string()) {
    page.next = parse_cursor(next->get_string());
    if (!page.next) return std::nullopt;
  }
  return page;
}

json::object outcome_to_json(const domain::Outcome& out, std::string_view command_id) {
  json::object o;
  o["command_id"] = out.command_id.empty() ? command_id : std::string_view(out.command_id);
  // A record that could not be decoded may have no readable Type: then no type is claimed
  // (the field is optional in the OpenAPI document's CommandStatus).
  if (out.type) o["type"] = op_name(*out.type);
  o["status"] = domain::to_string(out.status);
  if (out.reason != domain::Reason::none) o["reason"] = domain::to_string(out.reason);
  o["partition"] = out.pos.partition;
  o["offset"] = out.pos.offset;
  if (!out.account_id.empty()) o["account_id"] = out.account_id;
  if (out.account) o["account"] = to_json(*out.account);
  if (!out.transfer_id.empty()) o["transfer_id"] = out.transfer_id;
  if (!out.from.empty()) o["from"] = out.from;
  if (!out.to.empty()) o["to"] = out.to;
  // What the command asked for (its key is bound to it, DESIGN §2).
  if (out.amount != 0) o["amount"] = out.amount;
  if (!out.name.empty()) o["name"] = out.name;
  if (!out.principal.empty()) o["principal"] = out.principal;
  return o;
}

std::optional<domain::Outcome> outcome_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  domain::Outcome out;
  out.command_id = std::string(text(*o, "command_id"));
  if (o->contains("type")) {
    out.type = event_type_from_op(text(*o, "type"));
    if (!out.type) return std::nullopt;
  }
  auto status = enum_from_name<domain::Status>(text(*o, "status"), domain::Status::refunded);
  if (!status) return std::nullopt;
  out.status = *status;
  if (auto reason = text(*o, "reason"); !reason.empty()) {
    auto r = enum_from_name<domain::Reason>(reason, domain::Reason::idempotency_key_reused);
    if (!r) return std::nullopt;
    out.reason = *r;
  }
  const auto partition = int64_field(*o, "partition");
  const auto offset = int64_field(*o, "offset");
  if (!partition || !offset) return std::nullopt;
  out.pos = {static_cast<std::int32_t>(*partition), *offset};
  out.account_id = std::string(text(*o, "account_id"));
  if (const json::value* account = o->if_contains("account")) {
    out.account = account_from_json(*account);
    if (!out.account) return std::nullopt;
  }
  out.transfer_id = std::string(text(*o, "transfer_id"));
  out.from = std::string(text(*o, "from"));
  out.to = std::string(text(*o, "to"));
  if (o->contains("amount")) {
    const auto amount = int64_field(*o, "amount");
    if (!amount) return std::nullopt;
    out.amount = *amount;
  }
  out.name = std::string(text(*o, "name"));
  out.principal = std::string(text(*o, "principal"));
  return out;
}

json::object transfer_to_json(std::string_view transfer_id, domain::TransferState state) {
  json::object o;
  o["transfer_id"] = transfer_id;
  o["status"] = domain::to_string(state);
  return o;
}

std::optional<domain::TransferState> transfer_state_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  return enum_from_name<domain::TransferState>(text(*o, "status"),
                                               domain::TransferState::refund_failed);
}

json::object to_json(const Update& u) {
  json::object o;
  o["op"] = "update";
  o["account"] = to_json(u.account);
  o["partition"] = u.pos.partition;
  o["offset"] = u.pos.offset;
  return o;
}

std::optional<Update> update_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr || text(*o, "op") != "update") return std::nullopt;
  const json::value* account = o->if_contains("account");
  auto a = account != nullptr ? account_from_json(*account) : std::nullopt;
  const auto partition = int64_field(*o, "partition");
  const auto offset = int64_field(*o, "offset");
  if (!a || !partition || !offset) return std::nullopt;
  if (*partition < 0 || *partition > std::numeric_limits<std::int32_t>::max()) return std::nullopt;
  return Update{std::move(*a), {static_cast<std::int32_t>(*partition), *offset}};
}

}  // namespace xbanku::wire
