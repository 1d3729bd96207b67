#include "xbanku/view/codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace xbanku::view::codec {
namespace {

using domain::EventType;
constexpr auto kMax64 = std::numeric_limits<std::int64_t>::max();
constexpr auto kMin64 = std::numeric_limits<std::int64_t>::min();

domain::Account sample_account() {
  return {"00000000-0000-4000-8000-000000000001", "Cole Bittel — ünïcødé", 123'456, 7};
}

domain::HistoryEntry sample_history() {
  domain::HistoryEntry e;
  e.pos = {5, 1'234'567'890'123};
  e.type = EventType::transfer_refund;
  e.amount = 1'000'000'000'000'000;
  e.balance_after = kMax64;
  e.counterparty = "00000000-0000-4000-8000-000000000002";
  e.command_id = "cmd-1";
  e.transfer_id = "tr-1";
  e.ts = 1'700'000'000'123;
  return e;
}

domain::Outcome sample_outcome(bool with_account) {
  domain::Outcome o;
  o.status = domain::Status::refunded;
  o.reason = domain::Reason::target_not_found;
  o.command_id = "cmd-9";
  o.type = EventType::transfer;
  o.pos = {3, 42};
  o.account_id = "00000000-0000-4000-8000-000000000001";
  if (with_account) o.account = sample_account();
  o.transfer_id = "tr-9";
  o.from = "a";
  o.to = "b";
  return o;
}

domain::Event sample_event() {
  domain::Event e;
  e.type = EventType::transfer_credit;
  e.acc_id = "00000000-0000-4000-8000-000000000002";
  e.acc_name = "";
  e.amount = 99;
  e.target_id = "t";
  e.source_id = "00000000-0000-4000-8000-000000000001";
  e.transfer_id = "tr-1";
  e.reason = "target_not_found";
  e.command_id = "c";
  e.ts = -5;
  return e;
}

// Every encoding under test, as (valid encoded value, decoder that reports success).
struct Case {
  const char* name;
  std::string value;
  std::function<bool(std::string_view)> decodes;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  std::string v;
  encode_account(sample_account(), v);
  cases.push_back({"account", v, [](std::string_view s) { return !!decode_account("x", s); }});
  encode_history(sample_history(), v);
  cases.push_back({"history", v, [](std::string_view s) { return !!decode_history(s); }});
  encode_outcome(sample_outcome(true), v);
  cases.push_back({"outcome", v, [](std::string_view s) { return !!decode_outcome(s); }});
  encode_transfer_state(domain::TransferState::credit_failed, v);
  cases.push_back({"transfer", v, [](std::string_view s) { return !!decode_transfer_state(s); }});
  encode_event(sample_event(), v);
  cases.push_back({"event", v, [](std::string_view s) { return !!decode_event(s); }});
  encode_offset(kMax64, v);
  cases.push_back({"offset", v, [](std::string_view s) { return !!decode_offset(s); }});
  encode_version(std::numeric_limits<std::uint64_t>::max(), v);
  cases.push_back({"version", v, [](std::string_view s) { return !!decode_version(s); }});
  return cases;
}

TEST(ViewCodec, AccountRoundTrip) {
  std::string v;
  for (const auto& a : {sample_account(), domain::Account{"id", "", 0, 0},
                        domain::Account{"id", "x", kMax64, ~std::uint64_t{0}},
                        domain::Account{"id", "y", kMin64, 1}}) {
    encode_account(a, v);
    auto r = decode_account(a.id, v);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, a);
  }
  // The id lives in the key, not in the value.
  encode_account(sample_account(), v);
  EXPECT_EQ(v.find(sample_account().id), std::string::npos);
}

TEST(ViewCodec, HistoryRoundTrip) {
  std::string v;
  auto e = sample_history();
  encode_history(e, v);
  auto r = decode_history(v);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, e);
  domain::HistoryEntry empty;
  encode_history(empty, v);
  ASSERT_TRUE(decode_history(v));
  EXPECT_EQ(*decode_history(v), empty);
}

TEST(ViewCodec, OutcomeRoundTrip) {
  std::string v;
  for (bool with_account : {true, false}) {
    auto o = sample_outcome(with_account);
    encode_outcome(o, v);
    auto r = decode_outcome(v);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, o);
  }
  domain::Outcome minimal;  // no type: an undecodable record's whose Type was unreadable
  ASSERT_FALSE(minimal.type);
  encode_outcome(minimal, v);
  EXPECT_EQ(*decode_outcome(v), minimal);
  minimal.type = EventType::create;  // the enumerator 0, told apart from "no type"
  encode_outcome(minimal, v);
  EXPECT_EQ(*decode_outcome(v), minimal);
}

TEST(ViewCodec, TransferStateRoundTrip) {
  std::string v;
  for (auto s : {domain::TransferState::pending, domain::TransferState::completed,
                 domain::TransferState::credit_failed, domain::TransferState::refunded,
                 domain::TransferState::refund_failed}) {
    encode_transfer_state(s, v);
    auto r = decode_transfer_state(v);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, s);
  }
}

TEST(ViewCodec, EventRoundTrip) {
  std::string v;
  auto e = sample_event();
  encode_event(e, v);
  auto r = decode_event(v);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, e);
}

TEST(ViewCodec, ScalarsRoundTrip) {
  std::string v;
  for (std::int64_t o : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, kMax64, kMin64}) {
    encode_offset(o, v);
    EXPECT_EQ(*decode_offset(v), o);
  }
  for (std::uint64_t n :
       {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128}, ~std::uint64_t{0}}) {
    encode_version(n, v);
    EXPECT_EQ(*decode_version(v), n);
  }
}

TEST(ViewCodec, EncodersReplaceTheBuffer) {
  std::string v = "leftover";
  encode_version(1, v);
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(static_cast<std::uint8_t>(v[0]), kFormatVersion);
}

TEST(ViewCodec, KeysRoundTripAndSortNumerically) {
  std::string a, b;
  // history: the id may even contain 0x00.
  for (std::string_view id :
       {std::string_view("abc"), std::string_view("a\0b", 3), std::string_view("")}) {
    history_key(id, 77, a);
    auto hk = parse_history_key(a);
    ASSERT_TRUE(hk);
    EXPECT_EQ(hk->id, id);
    EXPECT_EQ(hk->seq, 77u);
  }
  history_key("id", 255, a);
  history_key("id", 256, b);
  EXPECT_LT(a, b);

  for (domain::RecordPos p :
       {domain::RecordPos{0, 0}, domain::RecordPos{5, kMax64}, domain::RecordPos{-1, -1}}) {
    pos_key(p, a);
    EXPECT_EQ(*parse_pos_key(a), p);
  }
  pos_key({1, 300}, a);
  pos_key({1, 1000}, b);
  EXPECT_LT(a, b);
  pos_key({1, kMax64}, a);
  pos_key({2, 0}, b);
  EXPECT_LT(a, b);
  pos_key({-1, 0}, a);
  pos_key({0, 0}, b);
  EXPECT_LT(a, b);

  partition_key(3, a);
  EXPECT_EQ(*parse_partition_key(a), 3);
  partition_key(255, a);
  partition_key(256, b);
  EXPECT_LT(a, b);

  seq_key(0xFF, a);
  seq_key(0x100, b);
  EXPECT_LT(a, b);
  EXPECT_EQ(*parse_seq_key(b), 0x100u);
}

TEST(ViewCodec, MalformedKeysAreErrors) {
  EXPECT_FALSE(parse_history_key("short"));
  EXPECT_FALSE(parse_history_key("abcdefghijkl"));  // no 0x00 separator
  EXPECT_FALSE(parse_pos_key("0123"));
  EXPECT_FALSE(parse_partition_key("01234"));
  EXPECT_FALSE(parse_seq_key(""));
}

TEST(ViewCodec, EveryTruncationIsAnError) {
  for (const auto& c : all_cases()) {
    ASSERT_TRUE(c.decodes(c.value)) << c.name;
    for (std::size_t n = 0; n < c.value.size(); ++n)
      EXPECT_FALSE(c.decodes(std::string_view(c.value).substr(0, n))) << c.name << " cut at " << n;
  }
}

TEST(ViewCodec, TrailingBytesAreAnError) {
  for (const auto& c : all_cases()) {
    auto r = c.value + '\0';
    EXPECT_FALSE(c.decodes(r)) << c.name;
  }
  std::string v;
  encode_version(1, v);
  v.push_back('x');
  EXPECT_EQ(decode_version(v).error(), make_error_code(codec_errc::trailing_bytes));
}

TEST(ViewCodec, UnknownFormatVersionIsAnError) {
  for (const auto& c : all_cases()) {
    auto v = c.value;
    v[0] = static_cast<char>(kFormatVersion + 1);
    EXPECT_FALSE(c.decodes(v)) << c.name;
  }
  std::string v;
  encode_offset(1, v);
  v[0] = 9;
  EXPECT_EQ(decode_offset(v).error(), make_error_code(codec_errc::bad_version));
}

TEST(ViewCodec, OutOfRangeEnumIsAnError) {
  std::string v;
  encode_transfer_state(domain::TransferState::refunded, v);
  v[1] = 5;  // one past refund_failed
  EXPECT_EQ(decode_transfer_state(v).error(), make_error_code(codec_errc::bad_enum));
  encode_outcome(sample_outcome(false), v);
  v[1] = 5;  // status
  EXPECT_FALSE(decode_outcome(v));
  encode_event(sample_event(), v);
  v[1] = 6;  // type
  EXPECT_FALSE(decode_event(v));
}

TEST(ViewCodec, OverlongVarintIsAnError) {
  std::string v(1, static_cast<char>(kFormatVersion));
  v.append(10, static_cast<char>(0xFF));
  v.push_back(0x01);
  EXPECT_EQ(decode_version(v).error(), make_error_code(codec_errc::bad_varint));
  // A string length far beyond the value.
  std::string w(1, static_cast<char>(kFormatVersion));
  w.append("\xFF\xFF\xFF\xFF\x0F");
  EXPECT_FALSE(decode_account("x", w));
}

// Random corruption never crashes (ASan/UBSan builds make this sharper): either a value or an
// error comes back.
TEST(ViewCodec, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(12345);
  for (const auto& c : all_cases()) {
    for (int round = 0; round < 2000; ++round) {
      std::string v = c.value;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) v[rng() % v.size()] = static_cast<char>(rng() & 0xFF);
      (void)c.decodes(v);
    }
    for (int round = 0; round < 500; ++round) {
      std::string v(rng() % 64, '\0');
      for (char& ch : v) ch = static_cast<char>(rng() & 0xFF);
      (void)c.decodes(v);
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace xbanku::view::codec
