// The service end to end (DESIGN §2, §3): a real `xbanku --act=serve` process against the real
// broker, driven through HTTP. Each suite gets its own topic, group and data folder.

#include "support/service_instance.hpp"
#include "xbanku/domain/partitioner.hpp"
#include "xbanku/domain/uuid.hpp"

#include <gtest/gtest.h>

#include <future>
#include <set>

namespace xbanku::test {
namespace {

namespace json = boost::json;

class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    instance_ = new ServiceInstance(fresh_instance("service", 3));
    ASSERT_TRUE(instance_->start()) << "xbanku did not become ready (is the broker up on "
                                    << kBrokers << "? scripts/services.sh up):\n"
                                    << instance_->output();
  }
  static void TearDownTestSuite() {
    if (instance_ != nullptr) {
      EXPECT_EQ(instance_->stop(), 0) << instance_->output();
      delete instance_;
      instance_ = nullptr;
    }
  }

  static std::string create(const std::string& name) {
    auto r = instance_->post("/accounts", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(r.status, 201) << r.body << r.error;
    return std::string(r.json().at("id").as_string());
  }
  static std::int64_t balance(const std::string& id) {
    auto r = instance_->get("/accounts/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json().at("balance").as_int64();
  }
  static HttpResponse deposit(const std::string& id, std::int64_t amount,
                              const std::map<std::string, std::string>& headers = {}) {
    return instance_->post("/accounts/" + id + "/deposit",
                           json::serialize(json::object{{"amount", amount}}), headers);
  }
  // Two new accounts whose ids live in different partitions (or the same one).
  static std::pair<std::string, std::string> pair_of_accounts(bool same_partition) {
    const auto a = create("Source");
    const auto pa = domain::partition_for_key(a, 3);
    while (true) {
      const auto b = create("Target");
      if ((domain::partition_for_key(b, 3) == pa) == same_partition) return {a, b};
    }
  }

  static ServiceInstance* instance_;
};
ServiceInstance* ServiceTest::instance_ = nullptr;

TEST_F(ServiceTest, HealthAndReadiness) {
  EXPECT_EQ(instance_->get("/healthz").status, 200);
  EXPECT_EQ(instance_->get("/readyz").status, 200);
  auto metrics = instance_->get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("xbanku_records_total"), std::string::npos);
}

TEST_F(ServiceTest, CreateDepositWithdrawReadYourWrites) {
  auto r = instance_->post("/accounts", R"({"name":"Cole Bittel"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto account = r.json().as_object();
  EXPECT_EQ(account.at("name").as_string(), "Cole Bittel");
  EXPECT_EQ(account.at("balance").as_int64(), 0);
  EXPECT_EQ(account.at("version").as_int64(), 1);
  const std::string id(account.at("id").as_string());

  r = deposit(id, 1000);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("balance").as_int64(), 1000);

  r = instance_->post("/accounts/" + id + "/withdraw", R"({"amount":5000})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "insufficient_funds");

  r = instance_->post("/accounts/" + id + "/withdraw", R"({"amount":300})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("balance").as_int64(), 700);
  EXPECT_EQ(balance(id), 700);

  auto events = instance_->get("/accounts/" + id + "/events");
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_EQ(events.json().at("events").as_array().size(), 3u)
      << events.body;  // create, deposit, withdraw
}

TEST_F(ServiceTest, CreateWithExistingIdIsRejectedAndNeverResets) {
  const auto id = create("First");
  ASSERT_EQ(deposit(id, 50).status, 200);
  auto r =
      instance_->post("/accounts", json::serialize(json::object{{"name", "Again"}, {"id", id}}));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "account_exists");
  EXPECT_EQ(balance(id), 50);
}

TEST_F(ServiceTest, NotFoundAndBadRequests) {
  const auto missing = domain::new_uuid();
  EXPECT_EQ(instance_->get("/accounts/" + missing).status, 404);
  auto r = deposit(missing, 10);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "account_not_found");
  EXPECT_EQ(instance_->get("/accounts/not-a-uuid").status, 400);
  EXPECT_EQ(instance_->post("/accounts", "{not json").status, 400);
  EXPECT_EQ(
      instance_->post("/accounts", R"({"name":"x"})", {{"content-type", "text/plain"}}).status,
      415);
  EXPECT_EQ(instance_->post("/accounts", std::string(70 * 1024, 'x')).status, 413);
  const auto id = create("Amounts");
  for (const char* body :
       {R"({"amount":1.5})", R"({"amount":"10"})", R"({"amount":0})", R"({"amount":-5})",
        R"({"amount":1000000000000001})", R"({"amount":99999999999999999999999})", R"({})"}) {
    EXPECT_EQ(instance_->post("/accounts/" + id + "/deposit", body).status, 400) << body;
  }
  EXPECT_EQ(instance_->get("/no/such/route").status, 404);
  EXPECT_EQ(
      http_request("127.0.0.1", instance_->port(), boost::beast::http::verb::delete_, "/accounts")
          .status,
      405);
  EXPECT_EQ(balance(id), 0);
}

TEST_F(ServiceTest, SamePartitionTransferIsAtomic) {
  auto [a, b] = pair_of_accounts(true);
  ASSERT_EQ(deposit(a, 500).status, 200);
  auto r = instance_->post("/transfers",
                           json::serialize(json::object{{"from", a}, {"to", b}, {"amount", 200}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("status").as_string(), "completed");
  EXPECT_EQ(balance(a), 300);
  EXPECT_EQ(balance(b), 200);
}

TEST_F(ServiceTest, CrossPartitionTransferCompletesExactlyOnce) {
  auto [a, b] = pair_of_accounts(false);
  ASSERT_EQ(deposit(a, 500).status, 200);
  auto r = instance_->post("/transfers",
                           json::serialize(json::object{{"from", a}, {"to", b}, {"amount", 120}}),
                           {{"Idempotency-Key", "xfer-" + unique_suffix()}});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string command_id = r.headers["X-Command-Id"];
  EXPECT_EQ(balance(a), 380);
  ASSERT_TRUE(wait_until([&] { return balance(b) == 120; }, std::chrono::seconds(10)));
  ASSERT_TRUE(wait_until(
      [&] {
        auto c = instance_->get("/commands/" + command_id);
        return c.status == 200 && c.json().at("status").as_string() == "completed";
      },
      std::chrono::seconds(10)))
      << instance_->get("/commands/" + command_id).body;
  EXPECT_EQ(balance(a) + balance(b), 500);
}

TEST_F(ServiceTest, CrossPartitionTransferToMissingTargetIsRefunded) {
  const auto a = create("Refund me");
  ASSERT_EQ(deposit(a, 100).status, 200);
  std::string missing;
  do missing = domain::new_uuid();
  while (domain::partition_for_key(missing, 3) == domain::partition_for_key(a, 3));
  auto r = instance_->post(
      "/transfers", json::serialize(json::object{{"from", a}, {"to", missing}, {"amount", 60}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string command_id = r.headers["X-Command-Id"];
  ASSERT_TRUE(wait_until(
      [&] {
        auto c = instance_->get("/commands/" + command_id);
        return c.status == 200 && c.json().at("status").as_string() == "refunded";
      },
      std::chrono::seconds(10)))
      << instance_->get("/commands/" + command_id).body;
  EXPECT_EQ(balance(a), 100);
}

TEST_F(ServiceTest, WaitFalseAnswers202) {
  const auto id = create("Async");
  auto r = instance_->post("/accounts/" + id + "/deposit?wait=false", R"({"amount":7})");
  ASSERT_EQ(r.status, 202) << r.body;
  const auto body = r.json().as_object();
  EXPECT_TRUE(body.contains("partition") && body.contains("offset") && body.contains("command_id"));
  ASSERT_TRUE(wait_until([&] { return balance(id) == 7; }, std::chrono::seconds(10)));
}

TEST_F(ServiceTest, IdempotencyKeySentFiveTimesConcurrentlyHasOneEffect) {
  const auto id = create("Idempotent");
  const std::string key = "deposit-" + unique_suffix();
  std::vector<std::future<HttpResponse>> answers;
  for (int i = 0; i < 5; ++i) {
    answers.push_back(std::async(std::launch::async, [&] {
      return deposit(id, 25, {{"Idempotency-Key", key}});
    }));
  }
  std::set<std::string> bodies;
  for (auto& f : answers) {
    auto r = f.get();
    EXPECT_EQ(r.status, 200) << r.body;
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies.size(), 1u) << "five answers differ";
  EXPECT_EQ(balance(id), 25);
  // And once more, later: same answer, no second effect.
  auto again = deposit(id, 25, {{"Idempotency-Key", key}});
  EXPECT_EQ(again.body, *bodies.begin());
  EXPECT_EQ(balance(id), 25);
}

TEST_F(ServiceTest, ReadYourWritesThousandDepositGetPairs) {
  const auto id = create("Sequential");
  std::int64_t expected = 0;
  int stale = 0;
  for (int i = 1; i <= 1000; ++i) {
    auto r = deposit(id, i);
    ASSERT_EQ(r.status, 200) << r.body;
    expected += i;
    if (balance(id) != expected) ++stale;
  }
  EXPECT_EQ(stale, 0);
  EXPECT_EQ(balance(id), 500500);
}

TEST_F(ServiceTest, CommandLookup) {
  const auto id = create("Lookup");
  auto r = deposit(id, 9, {{"Idempotency-Key", "lookup-" + id}});
  ASSERT_EQ(r.status, 200);
  auto c = instance_->get("/commands/lookup-" + id);
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.json().at("status").as_string(), "applied");
  EXPECT_TRUE(c.json().as_object().contains("partition"));
  EXPECT_EQ(instance_->get("/commands/never-sent-" + id).status, 404);
}

}  // namespace
}  // namespace xbanku::test
