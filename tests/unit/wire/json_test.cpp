// The JSON wire format reads back what it writes, so that what one instance answers is what
// another parses (DESIGN §3, §4, §8).
#include "xbanku/wire/json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace xbanku::wire {
namespace {

namespace json = boost::json;

const std::string kA = "0b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a10";
const std::string kB = "1b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a11";

// Through text, as on the wire.
json::value through_text(const json::object& o) {
  return json::parse(json::serialize(o));
}

TEST(WireJson, AccountsRoundTrip) {
  domain::Account a{kA, "Zoë \"Q\"", 1234, 7, "alice"};
  EXPECT_EQ(account_from_json(through_text(to_json(a))), a);
  a.owner.clear();
  EXPECT_FALSE(to_json(a).contains("owner")) << "owner only with authentication";
  EXPECT_EQ(account_from_json(through_text(to_json(a))), a);
  EXPECT_FALSE(
      account_from_json(json::parse(R"({"id":"x","name":"y","balance":"1","version":1})")));
  EXPECT_FALSE(account_from_json(json::parse(R"({"id":"x","name":"y","balance":1,"version":-1})")));
}

TEST(WireJson, PagesRoundTrip) {
  view::AccountPage page{{{kA, "A", 1, 1, ""}, {kB, "B", 2, 3, ""}}, kB};
  EXPECT_EQ(account_page_from_json(through_text(to_json(page))), page);
  page.next.reset();
  EXPECT_TRUE(to_json(page).at("next").is_null());
  EXPECT_EQ(account_page_from_json(through_text(to_json(page))), page);

  view::HistoryPage history;
  domain::HistoryEntry e;
  e.pos = {3, 99};
  e.type = domain::EventType::transfer;
  e.amount = 50;
  e.balance_after = 10;
  e.counterparty = kB;
  e.command_id = "k";
  e.transfer_id = "3-99";
  e.ts = 1700000000000;
  e.principal = "alice";
  e.request_id = "r-1";
  history.items.push_back({2, e});
  history.next = 2;
  const auto text = through_text(to_json(history));
  EXPECT_EQ(text.at("events").at(0).at("cursor").as_string(), "2");
  EXPECT_EQ(history_page_from_json(text), history);
  EXPECT_FALSE(history_page_from_json(json::parse(R"({"events":[{"cursor":"x"}],"next":null})")));
}

TEST(WireJson, OutcomesRoundTrip) {
  domain::Outcome o;
  o.status = domain::Status::pending;
  o.command_id = "c-1";
  o.type = domain::EventType::transfer;
  o.pos = {4, 99};
  o.account_id = kA;
  o.account = domain::Account{kA, "Ann", 70, 3, ""};
  o.transfer_id = "4-99";
  o.from = kA;
  o.to = kB;
  o.amount = 30;
  EXPECT_EQ(outcome_from_json(through_text(outcome_to_json(o, "c-1"))), o);
  o.status = domain::Status::rejected;
  o.reason = domain::Reason::idempotency_key_reused;
  o.account.reset();
  EXPECT_EQ(outcome_from_json(through_text(outcome_to_json(o, "c-1"))), o);
  o.command_id.clear();  // a Go-format record: named by the id asked for
  EXPECT_EQ(outcome_to_json(o, "asked").at("command_id").as_string(), "asked");
  EXPECT_FALSE(outcome_from_json(json::parse(R"({"status":"weird"})")));
}

// An instance waiting for a command at another reads that instance's answer with
// outcome_from_json: every reason must read back, the last ones (misplaced_record,
// idempotency_key_reused) included, or the waiting instance takes the answer for no answer.
TEST(WireJson, EveryReasonAndStatusOfAForwardedOutcomeReadsBack) {
  domain::Outcome o;
  o.command_id = "c-2";
  o.type = domain::EventType::deposit;
  o.pos = {1, 8};
  o.account_id = kA;
  o.amount = 5;
  o.status = domain::Status::rejected;
  int reasons = 0;
  for (int i = 0; domain::to_string(static_cast<domain::Reason>(i)) != "unknown"; ++i, ++reasons) {
    o.reason = static_cast<domain::Reason>(i);
    EXPECT_EQ(outcome_from_json(through_text(outcome_to_json(o, "c-2"))), o)
        << domain::to_string(o.reason);
  }
  EXPECT_GT(reasons, static_cast<int>(domain::Reason::idempotency_key_reused));
  o.reason = domain::Reason::misplaced_record;
  const auto misplaced = outcome_from_json(through_text(outcome_to_json(o, "c-2")));
  ASSERT_TRUE(misplaced);
  EXPECT_EQ(misplaced->reason, domain::Reason::misplaced_record);
  o.reason = domain::Reason::none;
  for (int i = 0; domain::to_string(static_cast<domain::Status>(i)) != "unknown"; ++i) {
    o.status = static_cast<domain::Status>(i);
    EXPECT_EQ(outcome_from_json(through_text(outcome_to_json(o, "c-2"))), o)
        << domain::to_string(o.status);
  }
  EXPECT_FALSE(outcome_from_json(json::parse(
      R"({"type":"deposit","status":"rejected","reason":"weird","partition":0,"offset":1})")));
}

// An undecodable record whose Type could not be read: its outcome claims no type (not the
// enumerator 0, "create"), and another instance reads that back.
TEST(WireJson, AnOutcomeWithoutTypeClaimsNone) {
  domain::Outcome o;
  o.command_id = "c-3";
  o.status = domain::Status::rejected;
  o.reason = domain::Reason::malformed_event;
  o.pos = {2, 4};
  const auto body = outcome_to_json(o, "c-3");
  EXPECT_FALSE(body.contains("type")) << json::serialize(body);
  EXPECT_EQ(outcome_from_json(through_text(body)), o);
  o.type = domain::EventType::deposit;
  EXPECT_EQ(outcome_to_json(o, "c-3").at("type").as_string(), "deposit");
  EXPECT_FALSE(outcome_from_json(json::parse(
      R"({"type":"fly","status":"rejected","reason":"malformed_event","partition":0,"offset":1})")));
}

TEST(WireJson, UpdatesAndTransfersRoundTrip) {
  const Update u{{kA, "A", 5, 2, ""}, {1, 17}};
  EXPECT_EQ(update_from_json(through_text(to_json(u))), u);
  EXPECT_FALSE(update_from_json(json::parse(R"({"id":"peer","ok":true,"result":{}})")))
      << "a reply is not an update";
  EXPECT_EQ(transfer_state_from_json(
                through_text(transfer_to_json("1-2", domain::TransferState::credit_failed))),
            domain::TransferState::credit_failed);
  EXPECT_EQ(transfer_state_from_json(
                through_text(transfer_to_json("1-2", domain::TransferState::refund_failed))),
            domain::TransferState::refund_failed);
  EXPECT_EQ(error_body("bad_request", "m").at("error").at("code").as_string(), "bad_request");
}

TEST(WireJson, OpNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(domain::EventType::transfer_refund); ++i) {
    const auto t = static_cast<domain::EventType>(i);
    EXPECT_EQ(event_type_from_op(op_name(t)), t);
  }
  EXPECT_FALSE(event_type_from_op("fly"));
}

}  // namespace
}  // namespace xbanku::wire
