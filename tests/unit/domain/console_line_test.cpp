#include "xbanku/domain/console_line.hpp"

#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/uuid.hpp"

#include <gtest/gtest.h>

namespace xbanku::domain {
namespace {

constexpr std::string_view kA = "0ef305f1-cb00-47db-a0cc-547f1127d00c";
constexpr std::string_view kB = "5a8d2f2e-8c41-4b7e-9d0a-3f1e2c4b5a69";

TEST(ConsoleLine, Create) {
  auto e = parse_console_line("create###Cole Bittel");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->type, EventType::create);
  EXPECT_EQ(e->acc_name, "Cole Bittel");
  EXPECT_TRUE(is_uuid(e->acc_id));
  EXPECT_EQ(canonical_uuid(e->acc_id), e->acc_id);
  EXPECT_EQ(e->command_id, "");
  auto other = parse_console_line("create###Cole Bittel\r\n");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->acc_name, "Cole Bittel");
  EXPECT_NE(other->acc_id, e->acc_id) << "every create gets a fresh id";
  // What the producer prints must decode back.
  auto back = decode(encode(*e));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *e);
}

TEST(ConsoleLine, MoneyCommands) {
  auto d = parse_console_line(std::string("deposit###") + std::string(kA) + "###100");
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->type, EventType::deposit);
  EXPECT_EQ(d->acc_id, kA);
  EXPECT_EQ(d->amount, 100);

  auto w = parse_console_line(" withdraw ### 0EF305F1-CB00-47DB-A0CC-547F1127D00C ### 25 \n");
  ASSERT_TRUE(w) << w.error();
  EXPECT_EQ(w->type, EventType::withdraw);
  EXPECT_EQ(w->acc_id, kA) << "canonical lower case: the partition is a hash of these bytes";
  EXPECT_EQ(w->amount, 25);

  auto t = parse_console_line(std::string("transfer###") + std::string(kA) + "###" +
                              std::string(kB) + "###1000000000000000");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->type, EventType::transfer);
  EXPECT_EQ(t->acc_id, kA);
  EXPECT_EQ(t->target_id, kB);
  EXPECT_EQ(t->amount, kMaxAmount);
}

TEST(ConsoleLine, MalformedLinesGiveTheUsage) {
  const std::string a(kA), b(kB);
  const std::string bad[] = {
      "",
      "   ",
      "create",
      "create###",
      "create###   ",
      "create###" + std::string(201, 'x'),
      "create###a###b",
      "Create###Cole",
      "delete###" + a,
      "deposit###" + a,
      "deposit###" + a + "###",
      "deposit###nope###10",
      "deposit###" + a + "###0",
      "deposit###" + a + "###-5",
      "deposit###" + a + "###+5",
      "deposit###" + a + "###1.5",
      "deposit###" + a + "###10abc",
      "deposit###" + a + "###1000000000000001",
      "deposit###" + a + "###99999999999999999999999",
      "deposit###" + a + "###10###extra",
      "withdraw###" + a + "###x",
      "transfer###" + a + "###" + b,
      "transfer###" + a + "###nope###10",
      "transfer###" + a + "###" + b + "###0",
      "transfer###" + a + "###" + b + "###10###11",
      "deposit##" + a + "##10",
  };
  for (const std::string& line : bad) {
    auto r = parse_console_line(line);
    ASSERT_FALSE(r) << "parsed: " << line;
    EXPECT_EQ(r.error(), console_usage()) << line;
  }
  EXPECT_NE(console_usage().find("create###<name>"), std::string_view::npos);
}

}  // namespace
}  // namespace xbanku::domain
