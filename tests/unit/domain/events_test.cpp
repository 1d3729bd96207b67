#include "xbanku/domain/events.hpp"

#include "xbanku/domain/uuid.hpp"

#include <gtest/gtest.h>

#include <set>

namespace xbanku::domain {
namespace {

TEST(EventType, NamesRoundTrip) {
  const std::pair<EventType, std::string_view> all[] = {
      {EventType::create, "CreateEvent"},
      {EventType::deposit, "DepositEvent"},
      {EventType::withdraw, "WithdrawEvent"},
      {EventType::transfer, "TransferEvent"},
      {EventType::transfer_credit, "TransferCreditEvent"},
      {EventType::transfer_refund, "TransferRefundEvent"}};
  for (const auto& [type, name] : all) {
    EXPECT_EQ(type_name(type), name);
    EXPECT_EQ(type_from_name(name), type);
  }
  EXPECT_EQ(type_from_name("createEvent"), std::nullopt);
  EXPECT_EQ(type_from_name(""), std::nullopt);
}

TEST(Amount, Bounds) {
  EXPECT_FALSE(valid_amount(0));
  EXPECT_FALSE(valid_amount(-1));
  EXPECT_TRUE(valid_amount(1));
  EXPECT_TRUE(valid_amount(kMaxAmount));
  EXPECT_FALSE(valid_amount(kMaxAmount + 1));
}

TEST(Utf8, CountsCodePointsAndRejectsInvalid) {
  EXPECT_EQ(utf8_length(""), 0U);
  EXPECT_EQ(utf8_length("abc"), 3U);
  EXPECT_EQ(utf8_length("Zoë"), 3U);
  EXPECT_EQ(utf8_length("日本"), 2U);
  EXPECT_EQ(utf8_length("\xF0\x9F\x92\xB0"), 1U);            // U+1F4B0
  EXPECT_EQ(utf8_length("\xC3"), std::nullopt);              // truncated
  EXPECT_EQ(utf8_length("\xC0\xAF"), std::nullopt);          // overlong '/'
  EXPECT_EQ(utf8_length("\xED\xA0\x80"), std::nullopt);      // surrogate
  EXPECT_EQ(utf8_length("\xF4\x90\x80\x80"), std::nullopt);  // > U+10FFFF
  EXPECT_EQ(utf8_length("\xFF"), std::nullopt);
  EXPECT_EQ(utf8_length("a\x80"), std::nullopt);
}

TEST(AccName, TrimmedAndBounded) {
  EXPECT_EQ(normalize_acc_name("  Cole Bittel\t"), "Cole Bittel");
  EXPECT_EQ(normalize_acc_name("   "), std::nullopt);
  EXPECT_EQ(normalize_acc_name(""), std::nullopt);
  EXPECT_EQ(normalize_acc_name(std::string(200, 'x')), std::string(200, 'x'));
  EXPECT_EQ(normalize_acc_name(std::string(201, 'x')), std::nullopt);
  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "ü";  // 400 bytes, 200 characters
  EXPECT_EQ(normalize_acc_name(umlauts), umlauts);
  EXPECT_EQ(normalize_acc_name(umlauts + "ü"), std::nullopt);
  EXPECT_EQ(normalize_acc_name("bad\xFF"), std::nullopt);
}

TEST(Uuid, NewIsCanonicalAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_uuid();
    ASSERT_TRUE(is_uuid(id)) << id;
    ASSERT_EQ(canonical_uuid(id), id) << "must be lower case";
    ASSERT_EQ(id[14], '4') << "version 4";
    ASSERT_TRUE(seen.insert(id).second);
  }
}

TEST(Uuid, Validation) {
  EXPECT_TRUE(is_uuid("0ef305f1-cb00-47db-a0cc-547f1127d00c"));
  EXPECT_TRUE(is_uuid("0EF305F1-CB00-47DB-A0CC-547F1127D00C"));
  EXPECT_FALSE(is_uuid(""));
  EXPECT_FALSE(is_uuid("0ef305f1cb0047dba0cc547f1127d00c"));
  EXPECT_FALSE(is_uuid("{0ef305f1-cb00-47db-a0cc-547f1127d00c}"));
  EXPECT_FALSE(is_uuid("0ef305f1-cb00-47db-a0cc-547f1127d00"));
  EXPECT_FALSE(is_uuid("0ef305f1-cb00-47db-a0cc-547f1127d00cc"));
  EXPECT_FALSE(is_uuid("0ef305g1-cb00-47db-a0cc-547f1127d00c"));
  EXPECT_FALSE(is_uuid("0ef305f1-cb00-47db-a0cc_547f1127d00c"));
  EXPECT_FALSE(is_uuid("0ef305f1+cb00-47db-a0cc-547f1127d00c"));
  EXPECT_EQ(canonical_uuid("0EF305F1-CB00-47DB-A0CC-547F1127D00C"),
            "0ef305f1-cb00-47db-a0cc-547f1127d00c");
  EXPECT_EQ(canonical_uuid("nope"), std::nullopt);
}

}  // namespace
}  // namespace xbanku::domain
