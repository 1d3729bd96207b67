#include "xbanku/domain/codec.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace xbanku::domain {
namespace {

constexpr std::string_view kA = "0ef305f1-cb00-47db-a0cc-547f1127d00c";
constexpr std::string_view kB = "5a8d2f2e-8c41-4b7e-9d0a-3f1e2c4b5a69";

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s += p;
  return s;
}

Event make(EventType type) {
  Event e;
  e.type = type;
  e.acc_id = std::string(kA);
  switch (type) {
    case EventType::create: e.acc_name = "Cole Bittel"; break;
    case EventType::deposit:
    case EventType::withdraw: e.amount = 100; break;
    case EventType::transfer:
      e.target_id = std::string(kB);
      e.amount = 5;
      break;
    case EventType::transfer_credit:
      e.source_id = std::string(kB);
      e.amount = 7;
      e.transfer_id = "cmd-1";
      break;
    case EventType::transfer_refund:
      e.target_id = std::string(kB);
      e.amount = 7;
      e.transfer_id = "3-17";
      e.reason = "target_not_found";
      break;
  }
  return e;
}

const EventType kAllTypes[] = {EventType::create,          EventType::deposit,
                               EventType::withdraw,        EventType::transfer,
                               EventType::transfer_credit, EventType::transfer_refund};

TEST(Codec, RoundTripsEveryType) {
  for (EventType type : kAllTypes) {
    Event plain = make(type);
    Event full = plain;
    full.command_id = "7b0f3c1e-idempotency";
    full.ts = 1'700'000'000'123;
    for (const Event& e : {plain, full}) {
      const std::string json = encode(e);
      auto back = decode(json);
      ASSERT_TRUE(back) << json << " -> " << back.error().message;
      EXPECT_EQ(*back, e) << json;
      EXPECT_EQ(encode(*back), json);
    }
  }
}

TEST(Codec, EncodesGoFieldOrder) {
  EXPECT_EQ(encode(make(EventType::create)),
            cat({R"({"AccId":")", kA, R"(","Type":"CreateEvent","AccName":"Cole Bittel"})"}));
  EXPECT_EQ(encode(make(EventType::deposit)),
            cat({R"({"AccId":")", kA, R"(","Type":"DepositEvent","Amount":100})"}));
  EXPECT_EQ(encode(make(EventType::transfer)),
            cat({R"({"AccId":")", kA, R"(","Type":"TransferEvent","TargetId":")", kB,
                 R"(","Amount":5})"}));
  EXPECT_EQ(encode(make(EventType::transfer_credit)),
            cat({R"({"AccId":")", kA, R"(","Type":"TransferCreditEvent","SourceId":")", kB,
                 R"(","Amount":7,"TransferId":"cmd-1"})"}));
  EXPECT_EQ(encode(make(EventType::transfer_refund)),
            cat({R"({"AccId":")", kA, R"(","Type":"TransferRefundEvent","TargetId":")", kB,
                 R"(","Amount":7,"TransferId":"3-17","Reason":"target_not_found"})"}));
  Event w = make(EventType::withdraw);
  w.command_id = "c1";
  w.ts = 42;
  EXPECT_EQ(encode(w),
            cat({R"({"AccId":")", kA,
                 R"(","Type":"WithdrawEvent","Amount":100,"CommandId":"c1","Ts":42,"V":1})"}));
}

TEST(Codec, EscapesAwkwardNames) {
  Event e = make(EventType::create);
  e.acc_name = "O\"Brien \\ Zoë 日本 \xF0\x9F\x92\xB0";
  const std::string json = encode(e);
  EXPECT_NE(json.find(R"(O\"Brien \\ Zoë)"), std::string::npos) << json;
  auto back = decode(json);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, e);
}

TEST(Codec, RefusesControlAndBidiCharactersInNames) {
  Event e = make(EventType::create);
  // Encoded as \u0001 and the raw bytes of U+202E (RIGHT-TO-LEFT OVERRIDE) and U+0085 (NEL).
  using namespace std::string_view_literals;
  for (std::string_view name : {"Zo\x01\xC3\xAB"sv, "evil\xE2\x80\xAEgnp.exe"sv,
                                "a\xC2\x85"
                                "b"sv,
                                "nul\0x"sv}) {
    e.acc_name = std::string(name);
    auto back = decode(encode(e));
    ASSERT_FALSE(back) << name;
    EXPECT_EQ(back.error().code, DecodeErrc::malformed_event);
    EXPECT_NE(back.error().message.find("AccName"), std::string::npos) << back.error().message;
  }
}

TEST(Codec, DecodesGoFormatEvents) {
  auto create = decode(
      R"({"AccId":"0ef305f1-cb00-47db-a0cc-547f1127d00c","Type":"CreateEvent","AccName":"Cole Bittel"})");
  ASSERT_TRUE(create) << create.error().message;
  EXPECT_EQ(*create, make(EventType::create));

  auto deposit = decode(
      R"({"AccId":"0ef305f1-cb00-47db-a0cc-547f1127d00c","Type":"DepositEvent","Amount":100})");
  ASSERT_TRUE(deposit) << deposit.error().message;
  EXPECT_EQ(*deposit, make(EventType::deposit));

  auto transfer = decode(cat(
      {R"({"AccId":")", kA, R"(","Type":"TransferEvent","TargetId":")", kB, R"(","Amount":5})"}));
  ASSERT_TRUE(transfer) << transfer.error().message;
  EXPECT_EQ(*transfer, make(EventType::transfer));

  // Go's encoding/json writes with spaces when indented and escapes <>&; any field order.
  auto spaced = decode(
      "{ \"Amount\" : 100 ,\n \"Type\" : \"WithdrawEvent\", \"AccId\" : "
      "\"0EF305F1-CB00-47DB-A0CC-547F1127D00C\" }");
  ASSERT_TRUE(spaced) << spaced.error().message;
  EXPECT_EQ(spaced->acc_id, kA) << "ids are canonicalized to lower case";
  EXPECT_EQ(spaced->type, EventType::withdraw);
}

TEST(Codec, IgnoresUnknownFieldsAndAcceptsOptionalOnes) {
  auto e = decode(cat(
      {R"({"AccId":")", kA,
       R"(","Type":"DepositEvent","Amount":100,"Foo":[1,{"x":null}],"V":1,"Ts":0,"CommandId":"k"})"}));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->amount, 100);
  EXPECT_EQ(e->command_id, "k");
  EXPECT_EQ(e->ts, 0);
  // A CreateEvent carrying an Amount ignores it.
  auto c = decode(
      cat({R"({"AccId":")", kA, R"(","Type":"CreateEvent","AccName":" Ann ","Amount":-1})"}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->acc_name, "Ann");
  EXPECT_EQ(c->amount, 0);
}

TEST(Codec, LargeValuesSpillPastTheStackBuffers) {
  std::string name;
  for (int i = 0; i < 200; ++i) name += "\xF0\x9F\x92\xB0";
  const std::string json = cat({R"({"AccId":")", kA, R"(","Type":"CreateEvent","AccName":")", name,
                                R"(","Padding":")", std::string(20000, 'p'), R"("})"});
  auto e = decode(json);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->acc_name, name);
}

// README, "Records are flat": a record's objects and arrays nest at most 8 deep, the record's
// own object being the first level, even in a field xbanku does not read.
TEST(Codec, NestingIsLimitedToEightLevels) {
  const auto nested = [](int levels) {  // `levels` containers, the record's object included
    const std::string inner(static_cast<std::size_t>(levels - 1), '[');
    const std::string close(static_cast<std::size_t>(levels - 1), ']');
    return cat({R"({"AccId":")", kA, R"(","Type":"DepositEvent","Amount":1,"X":)", inner, "1",
                close, "}"});
  };
  EXPECT_TRUE(decode(nested(8))) << nested(8);
  const auto deep = decode(nested(9));
  ASSERT_FALSE(deep) << nested(9);
  EXPECT_EQ(deep.error().code, DecodeErrc::malformed_event);
}

TEST(Codec, AmountBounds) {
  for (std::int64_t ok : {std::int64_t{1}, kMaxAmount}) {
    auto e = decode(cat(
        {R"({"AccId":")", kA, R"(","Type":"DepositEvent","Amount":)", std::to_string(ok), "}"}));
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->amount, ok);
  }
}

struct BadCase {
  std::string json;
  DecodeErrc code;
  std::string needle;  // the message must name this (field, or "JSON"/"object")
};

std::vector<BadCase> bad_cases() {
  const std::string a(kA), b(kB);
  const auto dep = [&](std::string_view amount) {
    return cat({R"({"AccId":")", a, R"(","Type":"DepositEvent","Amount":)", amount, "}"});
  };
  const auto credit = [&](std::string_view extra) {
    return cat({R"({"AccId":")", a, R"(","Type":"TransferCreditEvent","Amount":3)", extra, "}"});
  };
  const auto refund = [&](std::string_view extra) {
    return cat({R"({"AccId":")", a, R"(","Type":"TransferRefundEvent","Amount":3,"TargetId":")", b,
                R"(")", extra, "}"});
  };
  const auto with = [&](std::string_view extra) {
    return cat({R"({"AccId":")", a, R"(","Type":"DepositEvent","Amount":1)", extra, "}"});
  };
  using enum DecodeErrc;
  return {
      {"", malformed_event, "JSON"},
      {"not json", malformed_event, "JSON"},
      {"{\"AccId\":", malformed_event, "JSON"},
      {"[]", malformed_event, "object"},
      {"42", malformed_event, "object"},
      {"null", malformed_event, "object"},
      {"\"CreateEvent\"", malformed_event, "object"},
      {"{}", malformed_event, "'Type'"},
      {cat({R"({"AccId":")", a, R"("})"}), malformed_event, "'Type'"},
      {cat({R"({"AccId":")", a, R"(","Type":5})"}), malformed_event, "'Type'"},
      {cat({R"({"AccId":")", a, R"(","Type":"FooEvent"})"}), unknown_type, "'Type'"},
      {cat({R"({"AccId":")", a, R"(","Type":"createevent","AccName":"x"})"}), unknown_type,
       "'Type'"},
      {R"({"Type":"CreateEvent","AccName":"x"})", malformed_event, "'AccId'"},
      {R"({"AccId":42,"Type":"DepositEvent","Amount":1})", malformed_event, "'AccId'"},
      {R"({"AccId":"nope","Type":"DepositEvent","Amount":1})", malformed_event, "'AccId'"},
      {cat({R"({"AccId":"{)", a, R"(}","Type":"DepositEvent","Amount":1})"}), malformed_event,
       "'AccId'"},
      {cat({R"({"AccId":")", a, R"(","Type":"CreateEvent"})"}), malformed_event, "'AccName'"},
      {cat({R"({"AccId":")", a, R"(","Type":"CreateEvent","AccName":"   "})"}), malformed_event,
       "'AccName'"},
      {cat({R"({"AccId":")", a, R"(","Type":"CreateEvent","AccName":")", std::string(201, 'x'),
            R"("})"}),
       malformed_event, "'AccName'"},
      {cat({R"({"AccId":")", a, R"(","Type":"CreateEvent","AccName":7})"}), malformed_event,
       "'AccName'"},
      {cat({R"({"AccId":")", a, R"(","Type":"DepositEvent"})"}), malformed_event, "'Amount'"},
      {dep("null"), malformed_event, "'Amount'"},
      {dep("true"), malformed_event, "'Amount'"},
      {dep("[1]"), malformed_event, "'Amount'"},
      {dep("1.5"), invalid_amount, "'Amount'"},
      {dep("1.0"), invalid_amount, "'Amount'"},
      {dep("1e3"), invalid_amount, "'Amount'"},
      {dep("\"10\""), invalid_amount, "'Amount'"},
      {dep("0"), invalid_amount, "'Amount'"},
      {dep("-5"), invalid_amount, "'Amount'"},
      {dep("1000000000000001"), invalid_amount, "'Amount'"},
      {dep("9223372036854775808"), invalid_amount, "'Amount'"},
      {dep("18446744073709551616"), invalid_amount, "'Amount'"},
      {dep("99999999999999999999999999"), invalid_amount, "'Amount'"},
      {cat({R"({"AccId":")", a, R"(","Type":"TransferEvent","Amount":1})"}), malformed_event,
       "'TargetId'"},
      {cat({R"({"AccId":")", a, R"(","Type":"TransferEvent","TargetId":"x","Amount":1})"}),
       malformed_event, "'TargetId'"},
      {credit(R"(,"TransferId":"t")"), malformed_event, "'SourceId'"},
      {credit(cat({R"(,"SourceId":")", b, R"(")"})), malformed_event, "'TransferId'"},
      {credit(cat({R"(,"SourceId":")", b, R"(","TransferId":"")"})), malformed_event,
       "'TransferId'"},
      {credit(cat({R"(,"SourceId":")", b, R"(","TransferId":")", std::string(129, 't'), R"(")"})),
       malformed_event, "'TransferId'"},
      {refund(R"(,"TransferId":"t")"), malformed_event, "'Reason'"},
      {refund(cat({R"(,"TransferId":"t","Reason":")", std::string(65, 'r'), R"(")"})),
       malformed_event, "'Reason'"},
      {with(R"(,"CommandId":"")"), malformed_event, "'CommandId'"},
      {with(cat({R"(,"CommandId":")", std::string(129, 'c'), R"(")"})), malformed_event,
       "'CommandId'"},
      {with(R"(,"CommandId":5)"), malformed_event, "'CommandId'"},
      {with(R"(,"Ts":-1)"), malformed_event, "'Ts'"},
      {with(R"(,"Ts":1.5)"), malformed_event, "'Ts'"},
      {with(R"(,"Ts":"now")"), malformed_event, "'Ts'"},
      {with(R"(,"V":2)"), malformed_event, "'V'"},
      {with(R"(,"V":"1")"), malformed_event, "'V'"},
      {with(R"(,"Deep":[[[[[[[[[[[[]]]]]]]]]]]])"), malformed_event, "JSON"},
      {with("") + " x", malformed_event, "JSON"},
      {with("") + "{}", malformed_event, "JSON"},
      {with(R"(/*comment*/)"), malformed_event, "JSON"},
      {with(","), malformed_event, "JSON"},
      {cat({R"({"AccId":")", a, R"(","Type":"CreateEvent","AccName":"bad)", "\xFF", R"("})"}),
       malformed_event, "JSON"},
      {cat({R"({"AccId":")", a, R"(","Type":"CreateEvent","AccName":"lone \ud800 surrogate"})"}),
       malformed_event, "JSON"},
      // A malformed field wins over a bad amount: the record is dead-lettered, not "rejected".
      {R"({"AccId":"nope","Type":"DepositEvent","Amount":-1})", malformed_event, "'AccId'"},
  };
}

TEST(Codec, RejectsMalformedInputsPrecisely) {
  const auto cases = bad_cases();
  ASSERT_GE(cases.size(), 30U);
  for (const BadCase& c : cases) {
    auto r = decode(c.json);
    ASSERT_FALSE(r) << "decoded: " << c.json;
    EXPECT_EQ(r.error().code, c.code) << c.json << " -> " << r.error().message;
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos)
        << c.json << " -> '" << r.error().message << "' should mention " << c.needle;
  }
}

TEST(Codec, ErrorsCarryBestEffortIds) {
  auto r = decode(cat({R"({"AccId":")", "0EF305F1-CB00-47DB-A0CC-547F1127D00C",
                       R"(","Type":"DepositEvent","Amount":0,"CommandId":"cmd-9"})"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, DecodeErrc::invalid_amount);
  EXPECT_EQ(r.error().command_id, "cmd-9");
  EXPECT_EQ(r.error().acc_id, kA);
  EXPECT_EQ(r.error().type, EventType::deposit);

  auto u = decode(R"({"AccId":"nope","Type":"Nope","CommandId":"cmd-10"})");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, DecodeErrc::unknown_type);
  EXPECT_EQ(u.error().command_id, "cmd-10");
  EXPECT_EQ(u.error().acc_id, "");
  EXPECT_EQ(u.error().type, std::nullopt);

  auto malformed = decode(R"({"AccId":"nope","Type":"WithdrawEvent","Amount":1})");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().type, EventType::withdraw);
  EXPECT_EQ(decode(R"({"AccId":"nope","Type":7})").error().type, std::nullopt);

  auto bad_cmd =
      decode(cat({R"({"AccId":")", kA, R"(","Type":"DepositEvent","Amount":1,"CommandId":""})"}));
  ASSERT_FALSE(bad_cmd);
  EXPECT_EQ(bad_cmd.error().command_id, "");
  EXPECT_EQ(bad_cmd.error().acc_id, kA);
}

TEST(Codec, ValueThrowsWithTheMessage) {
  auto r = decode("[]");
  try {
    (void)r.value();
    FAIL() << "value() of an error must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "malformed_event: value must be a JSON object");
  }
}

TEST(Codec, ReasonCodes) {
  EXPECT_EQ(reason_code(DecodeErrc::malformed_event), "malformed_event");
  EXPECT_EQ(reason_code(DecodeErrc::unknown_type), "unknown_type");
  EXPECT_EQ(reason_code(DecodeErrc::invalid_amount), "invalid_amount");
}

}  // namespace
}  // namespace xbanku::domain
