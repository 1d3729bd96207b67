#include "xbanku/domain/codec.hpp"

#include "xbanku/domain/uuid.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>
#include <boost/throw_exception.hpp>
#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <stdexcept>

namespace xbanku::domain {

namespace json = boost::json;

std::string_view reason_code(DecodeErrc c) noexcept {
  switch (c) {
    case DecodeErrc::malformed_event: return "malformed_event";
    case DecodeErrc::unknown_type: return "unknown_type";
    case DecodeErrc::invalid_amount: return "invalid_amount";
  }
  return "malformed_event";
}

void throw_exception_from_error(const DecodeError& error, const boost::source_location& loc) {
  boost::throw_exception(
      std::runtime_error(fmt::format("{}: {}", reason_code(error.code), error.message)), loc);
}

namespace {

using Result = boost::system::result<Event, DecodeError>;

std::string_view sv(const json::string& s) noexcept {
  return {s.data(), s.size()};
}

// 1..max bytes of printable ASCII without spaces.
bool is_printable_token(std::string_view s, std::size_t max) noexcept {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// A short, printable excerpt of an untrusted value for an error message (which ends up in logs).
std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (s.size() > kMax) out += "...";
  return out;
}

// Reads the fields of one JSON object; the first problem found is kept in `error`.
class Reader {
 public:
  explicit Reader(const json::object& obj) : obj_(obj) {}

  [[nodiscard]] bool failed() const noexcept { return error_.has_value(); }

  void fail(DecodeErrc code, std::string message) {
    if (!error_) error_ = DecodeError{code, std::move(message), {}, {}};
  }

  [[nodiscard]] DecodeError take_error() { return std::move(*error_); }

  // A string field; nullptr (and an error) when missing or not a string.
  const json::string* string_field(std::string_view key) {
    if (failed()) return nullptr;
    const json::value* v = obj_.if_contains(key);
    if (v == nullptr) {
      fail(DecodeErrc::malformed_event, fmt::format("field '{}' is missing", key));
      return nullptr;
    }
    const json::string* s = v->if_string();
    if (s == nullptr) {
      fail(DecodeErrc::malformed_event, fmt::format("field '{}' must be a string", key));
    }
    return s;
  }

  void uuid(std::string_view key, std::string& out) {
    const json::string* s = string_field(key);
    if (s == nullptr) return;
    auto canonical = canonical_uuid(sv(*s));
    if (!canonical) {
      fail(DecodeErrc::malformed_event, fmt::format("field '{}' is not a UUID", key));
      return;
    }
    out = std::move(*canonical);
  }

  // Text of min..max code points (valid UTF-8 is already guaranteed by the JSON parser, but
  // counting checks it again for free).
  void text(std::string_view key, std::size_t min, std::size_t max, std::string& out) {
    const json::string* s = string_field(key);
    if (s == nullptr) return;
    const auto chars = utf8_length(sv(*s));
    if (!chars || *chars < min || *chars > max) {
      fail(DecodeErrc::malformed_event,
           fmt::format("field '{}' must be {}-{} characters of UTF-8", key, min, max));
      return;
    }
    out.assign(s->data(), s->size());
  }

  void name(std::string& out) {
    const json::string* s = string_field("AccName");
    if (s == nullptr) return;
    if (const auto why = acc_name_error(sv(*s))) {
      fail(DecodeErrc::malformed_event, text_message("AccName", *why, kMaxNameChars));
      return;
    }
    out = *normalize_acc_name(sv(*s));
  }

  static std::string text_message(std::string_view key, TextError why, std::size_t max) {
    switch (why) {
      case TextError::control:
        return fmt::format("field '{}' must not contain control characters", key);
      case TextError::bidi_control:
        return fmt::format("field '{}' must not contain bidirectional controls", key);
      case TextError::length: break;
    }
    return fmt::format("field '{}' must be 1-{} characters of UTF-8 (after trimming)", key, max);
  }

  // Amount problems are remembered apart: they only count once the rest is well-formed, so
  // the projector can record `invalid_amount` against the record's ids (DESIGN §2).
  void amount(std::int64_t& out) {
    if (failed()) return;
    const json::value* v = obj_.if_contains("Amount");
    if (v == nullptr) {
      fail(DecodeErrc::malformed_event, "field 'Amount' is missing");
      return;
    }
    switch (v->kind()) {
      case json::kind::int64:
        if (valid_amount(v->get_int64())) {
          out = v->get_int64();
        } else {
          amount_error_ = "field 'Amount' must be between 1 and 10^15";
        }
        return;
      case json::kind::uint64:  // only used for values beyond int64
        amount_error_ = "field 'Amount' must be between 1 and 10^15";
        return;
      case json::kind::double_: amount_error_ = "field 'Amount' must be an integer"; return;
      case json::kind::string:
        amount_error_ = "field 'Amount' must be an integer, not a string";
        return;
      default: fail(DecodeErrc::malformed_event, "field 'Amount' must be an integer"); return;
    }
  }

  void optional_fields(Event& e) {
    if (failed()) return;
    if (obj_.contains("CommandId")) text("CommandId", 1, kMaxCommandIdChars, e.command_id);
    if (failed()) return;
    if (obj_.contains("Principal")) principal(e.principal);
    if (failed()) return;
    if (obj_.contains("RequestId")) request_id(e.request_id);
    if (failed()) return;
    if (const json::value* ts = obj_.if_contains("Ts")) {
      if (ts->is_int64() && ts->get_int64() >= 0) {
        e.ts = ts->get_int64();
      } else {
        fail(DecodeErrc::malformed_event, "field 'Ts' must be an integer >= 0 (ms since epoch)");
        return;
      }
    }
    if (const json::value* v = obj_.if_contains("V")) {
      if (!(v->is_int64() && v->get_int64() == 1)) {
        fail(DecodeErrc::malformed_event, "field 'V' must be 1");
      }
    }
  }

  // Who asked: shown in histories and compared as a key's scope, so no control characters.
  void principal(std::string& out) {
    const json::string* s = string_field("Principal");
    if (s == nullptr) return;
    if (const auto why = check_text(sv(*s), 1, kMaxPrincipalChars)) {
      fail(DecodeErrc::malformed_event, text_message("Principal", *why, kMaxPrincipalChars));
      return;
    }
    out.assign(s->data(), s->size());
  }

  void request_id(std::string& out) {
    const json::string* s = string_field("RequestId");
    if (s == nullptr) return;
    if (!is_printable_token(sv(*s), kMaxRequestIdChars)) {
      fail(DecodeErrc::malformed_event,
           fmt::format("field 'RequestId' must be 1-{} printable ASCII characters",
                       kMaxRequestIdChars));
      return;
    }
    out.assign(s->data(), s->size());
  }

  void finish() {
    if (!failed() && amount_error_) fail(DecodeErrc::invalid_amount, std::move(*amount_error_));
  }

 private:
  const json::object& obj_;
  std::optional<DecodeError> error_;
  std::optional<std::string> amount_error_;
};

// Ids and type for the error, when they can be read at all (the outcome of the record names
// them: its key takes its scope, GET /commands/{id} shows its type).
void best_effort_ids(const json::object& obj, DecodeError& err) {
  if (const json::value* t = obj.if_contains("Type")) {
    if (const json::string* s = t->if_string()) err.type = type_from_name(sv(*s));
  }
  if (const json::value* p = obj.if_contains("Principal")) {
    if (const json::string* s = p->if_string();
        s != nullptr && !check_text(sv(*s), 1, kMaxPrincipalChars)) {
      err.principal.assign(s->data(), s->size());
    }
  }
  if (const json::value* c = obj.if_contains("CommandId")) {
    if (const json::string* s = c->if_string()) {
      const auto chars = utf8_length(sv(*s));
      if (chars && *chars >= 1 && *chars <= kMaxCommandIdChars) {
        err.command_id.assign(s->data(), s->size());
      }
    }
  }
  if (const json::value* a = obj.if_contains("AccId")) {
    if (const json::string* s = a->if_string()) {
      if (auto canonical = canonical_uuid(sv(*s))) err.acc_id = std::move(*canonical);
    }
  }
}

Result decode_object(const json::object& obj) {
  Reader r(obj);
  Event e;
  const json::string* type = r.string_field("Type");
  if (type != nullptr) {
    if (auto t = type_from_name(sv(*type))) {
      e.type = *t;
    } else {
      r.fail(DecodeErrc::unknown_type,
             fmt::format("field 'Type' has unknown value '{}'", excerpt(sv(*type))));
    }
  }
  r.uuid("AccId", e.acc_id);
  switch (e.type) {
    case EventType::create: r.name(e.acc_name); break;
    case EventType::deposit:
    case EventType::withdraw: r.amount(e.amount); break;
    case EventType::transfer:
      r.uuid("TargetId", e.target_id);
      r.amount(e.amount);
      break;
    case EventType::transfer_credit:
      r.uuid("SourceId", e.source_id);
      r.amount(e.amount);
      r.text("TransferId", 1, kMaxTransferIdChars, e.transfer_id);
      break;
    case EventType::transfer_refund:
      r.uuid("TargetId", e.target_id);
      r.amount(e.amount);
      r.text("TransferId", 1, kMaxTransferIdChars, e.transfer_id);
      r.text("Reason", 0, kMaxReasonChars, e.reason);
      break;
  }
  r.optional_fields(e);
  r.finish();
  if (r.failed()) {
    DecodeError err = r.take_error();
    best_effort_ids(obj, err);
    return err;
  }
  return e;
}

// JSON string body escaping (RFC 8259): quote, backslash and control characters. Runs of plain
// characters are appended in one go: this is on the producer's and the outbox's path.
void put_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t plain = 0;  // start of the pending run of characters that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        constexpr std::string_view hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
      }
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

void put_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  put_string(out, value);
}

void field(std::string& out, std::string_view key, std::int64_t value) {
  out += ",\"";
  out += key;
  out += "\":";
  put_int(out, value);
}

}  // namespace

Result decode(std::string_view text) {
  // The value tree of an event fits in a few hundred bytes: keep it (and the parser's
  // temporary stack) on this stack frame instead of the heap. Larger inputs spill to the heap.
  unsigned char temp[1024];
  unsigned char storage[2048];
  json::monotonic_resource resource(storage, sizeof storage);
  json::parse_options options;
  options.max_depth = 8;  // events are flat; deep nesting is an attack, not an event
  json::parser parser(json::storage_ptr(), options, temp, sizeof temp);
  parser.reset(&resource);
  boost::system::error_code ec;
  parser.write(text.data(), text.size(), ec);
  if (ec) {
    return DecodeError{DecodeErrc::malformed_event,
                       fmt::format("value is not valid JSON: {}", ec.message()),
                       {},
                       {}};
  }
  const json::value value = parser.release();
  const json::object* obj = value.if_object();
  if (obj == nullptr) {
    return DecodeError{DecodeErrc::malformed_event, "value must be a JSON object", {}, {}};
  }
  return decode_object(*obj);
}

std::string encode(const Event& e) {
  std::string out;
  out.reserve(96 + e.acc_id.size() + e.acc_name.size() + e.target_id.size() + e.source_id.size() +
              e.transfer_id.size() + e.reason.size() + e.command_id.size() + e.principal.size() +
              e.request_id.size());
  out += "{\"AccId\":";
  put_string(out, e.acc_id);
  field(out, "Type", type_name(e.type));
  switch (e.type) {
    case EventType::create: field(out, "AccName", e.acc_name); break;
    case EventType::deposit:
    case EventType::withdraw: field(out, "Amount", e.amount); break;
    case EventType::transfer:
      field(out, "TargetId", e.target_id);
      field(out, "Amount", e.amount);
      break;
    case EventType::transfer_credit:
      field(out, "SourceId", e.source_id);
      field(out, "Amount", e.amount);
      field(out, "TransferId", e.transfer_id);
      break;
    case EventType::transfer_refund:
      field(out, "TargetId", e.target_id);
      field(out, "Amount", e.amount);
      field(out, "TransferId", e.transfer_id);
      field(out, "Reason", e.reason);
      break;
  }
  if (!e.command_id.empty()) field(out, "CommandId", e.command_id);
  if (!e.principal.empty()) field(out, "Principal", e.principal);
  if (!e.request_id.empty()) field(out, "RequestId", e.request_id);
  if (e.ts != 0) field(out, "Ts", e.ts);
  if (!e.command_id.empty() || !e.principal.empty() || !e.request_id.empty() || e.ts != 0) {
    field(out, "V", std::int64_t{1});
  }
  out += '}';
  return out;
}

}  // namespace xbanku::domain
