#include "xbanku/view/codec.hpp"

#include <cstring>
#include <string>

namespace xbanku::view::codec {
namespace {

using boost::system::result;
using domain::EventType;

// boost::system::error_category has a protected non-virtual destructor by design (categories
// are never deleted through a base pointer); -Wnon-virtual-dtor does not know that.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class CodecCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "xbanku.view.codec"; }
  std::string message(int ev) const override {
    switch (static_cast<codec_errc>(ev)) {
      case codec_errc::ok: return "ok";
      case codec_errc::truncated: return "value truncated";
      case codec_errc::bad_version: return "unknown value format version";
      case codec_errc::bad_enum: return "enum value out of range";
      case codec_errc::trailing_bytes: return "trailing bytes after the value";
      case codec_errc::bad_key: return "malformed key";
      case codec_errc::bad_varint: return "malformed varint";
    }
    return "unknown codec error";
  }
};
#pragma GCC diagnostic pop

// ---- writing ---------------------------------------------------------------------------

void put_u8(std::string& out, std::uint8_t v) {
  out.push_back(static_cast<char>(v));
}

void put_varint(std::string& out, std::uint64_t v) {
  char buf[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

void put_i64(std::string& out, std::int64_t v) {
  put_varint(out, zigzag(v));
}

void put_str(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void put_pos(std::string& out, domain::RecordPos pos) {
  put_i64(out, pos.partition);
  put_i64(out, pos.offset);
}

void put_account_body(std::string& out, const domain::Account& a) {
  put_str(out, a.name);
  put_i64(out, a.balance);
  put_varint(out, a.version);
  put_str(out, a.owner);
}

void start(std::string& out) {
  out.clear();
  put_u8(out, kFormatVersion);
}

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint64_t get_be(std::string_view s) {
  std::uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// ---- reading ---------------------------------------------------------------------------

// A bounds-checked cursor: the first failure sticks, later reads return zero values, and the
// caller checks `err` once at the end (keeps the decoders short and branch-light).
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool header() {
    const std::uint8_t v = u8();
    if (!err_ && v != kFormatVersion) fail(codec_errc::bad_version);
    return !err_;
  }

  std::uint8_t u8() {
    if (err_) return 0;
    if (s_.empty()) return fail(codec_errc::truncated), 0;
    const auto v = static_cast<std::uint8_t>(s_.front());
    s_.remove_prefix(1);
    return v;
  }

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; !err_; shift += 7) {
      if (shift > 63) return fail(codec_errc::bad_varint), 0;
      if (s_.empty()) return fail(codec_errc::truncated), 0;
      const auto b = static_cast<std::uint8_t>(s_.front());
      s_.remove_prefix(1);
      // The 10th byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && b > 1) return fail(codec_errc::bad_varint), 0;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return 0;
  }

  std::int64_t i64() { return unzigzag(varint()); }

  std::int32_t i32() {
    const std::int64_t v = i64();
    if (!err_ && (v < INT32_MIN || v > INT32_MAX)) fail(codec_errc::bad_enum);
    return static_cast<std::int32_t>(v);
  }

  std::string str() {
    const std::uint64_t n = varint();
    if (err_) return {};
    if (n > s_.size()) return fail(codec_errc::truncated), std::string{};
    std::string out(s_.substr(0, n));
    s_.remove_prefix(n);
    return out;
  }

  template <typename E>
  E enumeration(E max) {
    const std::uint8_t v = u8();
    if (!err_ && v > static_cast<std::uint8_t>(max)) fail(codec_errc::bad_enum);
    return static_cast<E>(v);
  }

  bool flag() {
    const std::uint8_t v = u8();
    if (!err_ && v > 1) fail(codec_errc::bad_enum);
    return v == 1;
  }

  domain::RecordPos pos() {
    domain::RecordPos p;
    p.partition = i32();
    p.offset = i64();
    return p;
  }

  void account_body(domain::Account& a) {
    a.name = str();
    a.balance = i64();
    a.version = varint();
    a.owner = str();
  }

  // What is left to read, and the first failure (for key parsers that stop half-way).
  [[nodiscard]] std::string_view rest() const noexcept { return s_; }
  [[nodiscard]] boost::system::error_code error() const noexcept { return err_; }

  // The final check: no error and nothing left over.
  [[nodiscard]] boost::system::error_code finish() {
    if (!err_ && !s_.empty()) fail(codec_errc::trailing_bytes);
    return err_;
  }

 private:
  void fail(codec_errc e) {
    if (!err_) err_ = make_error_code(e);
  }
  std::string_view s_;
  boost::system::error_code err_;
};

}  // namespace

const boost::system::error_category& codec_category() noexcept {
  static const CodecCategory category;
  return category;
}

// ---- values ----------------------------------------------------------------------------

void encode_account(const domain::Account& a, std::string& out) {
  start(out);
  put_account_body(out, a);
}

result<domain::Account> decode_account(std::string_view id, std::string_view value) {
  Reader r(value);
  domain::Account a;
  if (r.header()) r.account_body(a);
  if (auto ec = r.finish()) return ec;
  a.id = std::string(id);
  return a;
}

void encode_history(const domain::HistoryEntry& e, std::string& out) {
  start(out);
  put_pos(out, e.pos);
  put_u8(out, static_cast<std::uint8_t>(e.type));
  put_i64(out, e.amount);
  put_i64(out, e.balance_after);
  put_str(out, e.counterparty);
  put_str(out, e.command_id);
  put_str(out, e.transfer_id);
  put_i64(out, e.ts);
  put_str(out, e.principal);
  put_str(out, e.request_id);
}

result<domain::HistoryEntry> decode_history(std::string_view value) {
  Reader r(value);
  domain::HistoryEntry e;
  if (r.header()) {
    e.pos = r.pos();
    e.type = r.enumeration(EventType::transfer_refund);
    e.amount = r.i64();
    e.balance_after = r.i64();
    e.counterparty = r.str();
    e.command_id = r.str();
    e.transfer_id = r.str();
    e.ts = r.i64();
    e.principal = r.str();
    e.request_id = r.str();
  }
  if (auto ec = r.finish()) return ec;
  return e;
}

void encode_outcome(const domain::Outcome& o, std::string& out) {
  start(out);
  put_u8(out, static_cast<std::uint8_t>(o.status));
  put_u8(out, static_cast<std::uint8_t>(o.reason));
  put_str(out, o.command_id);
  put_u8(out, o.type ? 1 : 0);
  if (o.type) put_u8(out, static_cast<std::uint8_t>(*o.type));
  put_pos(out, o.pos);
  put_str(out, o.account_id);
  put_u8(out, o.account ? 1 : 0);
  if (o.account) {
    put_str(out, o.account->id);
    put_account_body(out, *o.account);
  }
  put_str(out, o.transfer_id);
  put_str(out, o.from);
  put_str(out, o.to);
  put_i64(out, o.amount);
  put_str(out, o.name);
  put_str(out, o.principal);
}

result<domain::Outcome> decode_outcome(std::string_view value) {
  Reader r(value);
  domain::Outcome o;
  if (r.header()) {
    o.status = r.enumeration(domain::Status::refunded);
    o.reason = r.enumeration(domain::Reason::idempotency_key_reused);
    o.command_id = r.str();
    if (r.flag()) o.type = r.enumeration(EventType::transfer_refund);
    o.pos = r.pos();
    o.account_id = r.str();
    if (r.flag()) {
      domain::Account a;
      a.id = r.str();
      r.account_body(a);
      o.account = std::move(a);
    }
    o.transfer_id = r.str();
    o.from = r.str();
    o.to = r.str();
    o.amount = r.i64();
    o.name = r.str();
    o.principal = r.str();
  }
  if (auto ec = r.finish()) return ec;
  return o;
}

void encode_transfer_state(domain::TransferState s, std::string& out) {
  start(out);
  put_u8(out, static_cast<std::uint8_t>(s));
}

result<domain::TransferState> decode_transfer_state(std::string_view value) {
  Reader r(value);
  auto s = domain::TransferState::pending;
  if (r.header()) s = r.enumeration(domain::TransferState::refund_failed);
  if (auto ec = r.finish()) return ec;
  return s;
}

void encode_event(const domain::Event& e, std::string& out) {
  start(out);
  put_u8(out, static_cast<std::uint8_t>(e.type));
  put_str(out, e.acc_id);
  put_str(out, e.acc_name);
  put_i64(out, e.amount);
  put_str(out, e.target_id);
  put_str(out, e.source_id);
  put_str(out, e.transfer_id);
  put_str(out, e.reason);
  put_str(out, e.command_id);
  put_i64(out, e.ts);
  put_str(out, e.principal);
  put_str(out, e.request_id);
}

result<domain::Event> decode_event(std::string_view value) {
  Reader r(value);
  domain::Event e;
  if (r.header()) {
    e.type = r.enumeration(EventType::transfer_refund);
    e.acc_id = r.str();
    e.acc_name = r.str();
    e.amount = r.i64();
    e.target_id = r.str();
    e.source_id = r.str();
    e.transfer_id = r.str();
    e.reason = r.str();
    e.command_id = r.str();
    e.ts = r.i64();
    e.principal = r.str();
    e.request_id = r.str();
  }
  if (auto ec = r.finish()) return ec;
  return e;
}

void encode_offset(std::int64_t offset, std::string& out) {
  start(out);
  put_i64(out, offset);
}

result<std::int64_t> decode_offset(std::string_view value) {
  Reader r(value);
  std::int64_t v = 0;
  if (r.header()) v = r.i64();
  if (auto ec = r.finish()) return ec;
  return v;
}

void encode_version(std::uint64_t version, std::string& out) {
  start(out);
  put_varint(out, version);
}

result<std::uint64_t> decode_version(std::string_view value) {
  Reader r(value);
  std::uint64_t v = 0;
  if (r.header()) v = r.varint();
  if (auto ec = r.finish()) return ec;
  return v;
}

// ---- keys ------------------------------------------------------------------------------

namespace {
constexpr std::uint64_t kSign64 = std::uint64_t{1} << 63;
constexpr std::uint32_t kSign32 = std::uint32_t{1} << 31;
}  // namespace

void history_key(std::string_view id, std::uint64_t seq, std::string& out) {
  out.clear();
  out.reserve(id.size() + kHistorySuffix);
  out.append(id);
  out.push_back('\0');
  put_be(out, seq, 8);
}

result<HistoryKey> parse_history_key(std::string_view key) {
  if (key.size() < kHistorySuffix || key[key.size() - kHistorySuffix] != '\0')
    return make_error_code(codec_errc::bad_key);
  return HistoryKey{key.substr(0, key.size() - kHistorySuffix), get_be(key.substr(key.size() - 8))};
}

void pos_key(domain::RecordPos pos, std::string& out) {
  out.clear();
  put_be(out, static_cast<std::uint32_t>(pos.partition) ^ kSign32, 4);
  put_be(out, static_cast<std::uint64_t>(pos.offset) ^ kSign64, 8);
}

result<domain::RecordPos> parse_pos_key(std::string_view key) {
  if (key.size() != 12) return make_error_code(codec_errc::bad_key);
  domain::RecordPos pos;
  pos.partition =
      static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(key.substr(0, 4))) ^ kSign32);
  pos.offset = static_cast<std::int64_t>(get_be(key.substr(4)) ^ kSign64);
  return pos;
}

void partition_key(std::int32_t partition, std::string& out) {
  out.clear();
  put_be(out, static_cast<std::uint32_t>(partition) ^ kSign32, 4);
}

result<std::int32_t> parse_partition_key(std::string_view key) {
  if (key.size() != 4) return make_error_code(codec_errc::bad_key);
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(key)) ^ kSign32);
}

void command_key(const domain::CommandKey& k, std::string& out) {
  out.clear();
  out.reserve(5 + k.principal.size() + k.command_id.size());
  put_be(out, static_cast<std::uint32_t>(k.partition) ^ kSign32, 4);
  put_str(out, k.principal);
  out.append(k.command_id);
}

result<domain::CommandKey> parse_command_key(std::string_view key) {
  if (key.size() < 5) return make_error_code(codec_errc::bad_key);
  domain::CommandKey k;
  k.partition =
      static_cast<std::int32_t>(static_cast<std::uint32_t>(get_be(key.substr(0, 4))) ^ kSign32);
  Reader r(key.substr(4));
  const std::uint64_t n = r.varint();
  const std::string_view rest = r.rest();
  if (r.error() || n > rest.size() || n == rest.size()) return make_error_code(codec_errc::bad_key);
  k.principal = rest.substr(0, n);
  k.command_id = rest.substr(n);
  return k;
}

void owner_key(std::string_view owner, std::string_view account_id, std::string& out) {
  out.clear();
  out.reserve(owner.size() + 1 + account_id.size());
  out.append(owner);
  out.push_back('\0');
  out.append(account_id);
}

void seq_key(std::uint64_t seq, std::string& out) {
  out.clear();
  put_be(out, seq, 8);
}

result<std::uint64_t> parse_seq_key(std::string_view key) {
  if (key.size() != 8) return make_error_code(codec_errc::bad_key);
  return get_be(key);
}

}  // namespace xbanku::view::codec
