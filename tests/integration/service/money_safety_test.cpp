// Money is never lost to a chosen key or a misplaced record (issue 11; DESIGN §2): real
// `xbanku` processes and the real broker, records written by other Kafka clients included.

#include "support/service_instance.hpp"
#include "support/workload.hpp"
#include "support/ws_client.hpp"
#include "xbanku/domain/partitioner.hpp"

#include <gtest/gtest.h>

#include <future>
#include <map>

namespace xbanku::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kPartitions = 3;

json::object body(std::initializer_list<std::pair<json::string_view, json::value_ref>> init) {
  return json::object(init);
}

std::string create(ServiceInstance& s, const std::string& name) {
  auto r = s.post("/accounts", json::serialize(body({{"name", name}})));
  EXPECT_EQ(r.status, 201) << r.body << r.error;
  return std::string(r.json().at("id").as_string());
}

// A new account whose partition is / is not `partition`.
std::string create_in(ServiceInstance& s, std::int32_t partition, bool in,
                      const std::string& name) {
  while (true) {
    const auto id = create(s, name);
    if ((domain::partition_for_key(id, kPartitions) == partition) == in) return id;
  }
}

std::int64_t balance(ServiceInstance& s, const std::string& id) {
  auto r = s.get("/accounts/" + id);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? r.json().at("balance").as_int64() : -1;
}

HttpResponse deposit(ServiceInstance& s, const std::string& id, std::int64_t amount) {
  return s.post("/accounts/" + id + "/deposit", json::serialize(body({{"amount", amount}})));
}

// Every account as one instance answers it (paged through GET /accounts).
std::map<std::string, json::value> all_accounts(ServiceInstance& s) {
  std::map<std::string, json::value> out;
  std::string after;
  while (true) {
    auto page = s.get("/accounts?limit=1000" + (after.empty() ? "" : "&after=" + after));
    if (page.status != 200) throw std::runtime_error("GET /accounts: " + page.body);
    auto v = page.json();
    for (const auto& a : v.at("accounts").as_array()) out[std::string(a.at("id").as_string())] = a;
    if (v.at("next").is_null()) return out;
    after = std::string(v.at("next").as_string());
  }
}

class MoneySafety : public ::testing::Test {
 protected:
  void SetUp() override {
    instance = std::make_unique<ServiceInstance>(fresh_instance("money", kPartitions));
    ASSERT_TRUE(instance->start()) << instance->output();
  }
  void TearDown() override {
    if (instance) {
      EXPECT_EQ(instance->stop(), 0) << instance->output();
    }
  }
  std::unique_ptr<ServiceInstance> instance;
};

// The reproduction: a record from another Kafka client (no CommandId) gets the
// derived transfer id "<p>-<o>"; a client then uses exactly that as its Idempotency-Key.
TEST_F(MoneySafety, AChosenKeyCannotCompleteOrDestroyAnotherTransfer) {
  auto& s = *instance;
  const auto src = create(s, "S");
  const auto dst = create_in(s, domain::partition_for_key(src, kPartitions), false, "D");
  const auto src2 = create(s, "S2");
  const auto dst2 = create_in(s, domain::partition_for_key(src2, kPartitions), false, "D2");
  ASSERT_EQ(deposit(s, src, 1000).status, 200);
  ASSERT_EQ(deposit(s, src2, 1000).status, 200);

  // The original Go tool's format: no CommandId, keyed by the source with murmur2.
  domain::Event go;
  go.type = domain::EventType::transfer;
  go.acc_id = src;
  go.target_id = dst;
  go.amount = 100;
  ASSERT_EQ(produce_events(kBrokers, s.options().topic, kPartitions, {go}), 1u);
  ASSERT_TRUE(wait_until([&] { return balance(s, dst) == 100; }, 20s))
      << "the Go-format transfer never landed";
  auto history = s.get("/accounts/" + src + "/events").json();
  const auto& last = history.at("events").as_array().back();
  const std::string derived(last.at("transfer_id").as_string());
  std::printf("Go-format transfer at %lld:%lld has transfer id %s\n",
              static_cast<long long>(last.at("partition").as_int64()),
              static_cast<long long>(last.at("offset").as_int64()), derived.c_str());

  // The client's transfer under that key: a transfer of its own, completed for real.
  auto r =
      s.post("/transfers", json::serialize(body({{"from", src2}, {"to", dst2}, {"amount", 100}})),
             {{"Idempotency-Key", derived}});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string transfer_id(r.json().at("transfer_id").as_string());
  EXPECT_NE(transfer_id, derived);
  ASSERT_TRUE(wait_until(
      [&] {
        auto c = s.get("/commands/" + derived);
        return c.status == 200 && c.json().at("status").as_string() == "completed";
      },
      20s))
      << s.get("/commands/" + derived).body;
  EXPECT_EQ(s.get("/commands/" + derived).json().at("from").as_string(), src2);
  EXPECT_EQ(balance(s, src2), 900);
  EXPECT_EQ(balance(s, dst2), 100) << "the target was never credited: money destroyed";
  std::int64_t sum = 0;
  for (const auto& [id, a] : all_accounts(s)) sum += a.at("balance").as_int64();
  std::printf("sum of balances %lld, deposits - withdrawals 2000\n", static_cast<long long>(sum));
  EXPECT_EQ(sum, 2000);
}

// Two different requests race with one key, over HTTP and WebSocket: one effect, one 422.
TEST_F(MoneySafety, AKeyReusedConcurrentlyHasOneEffectAndOne422) {
  auto& s = *instance;
  const auto a = create(s, "A");
  ASSERT_EQ(deposit(s, a, 10000).status, 200);
  std::int64_t expected = 10000;
  int http_won = 0, ws_won = 0;
  for (int round = 0; round < 10; ++round) {
    const std::string key = "race-" + std::to_string(round) + "-" + unique_suffix();
    std::promise<void> go;
    auto start = go.get_future().share();
    auto over_http = std::async(std::launch::async, [&, start] {
      start.wait();
      return s.post("/accounts/" + a + "/withdraw", json::serialize(body({{"amount", 100}})),
                    {{"Idempotency-Key", key}});
    });
    auto over_ws = std::async(std::launch::async, [&, start] {
      WsClient ws("127.0.0.1", s.port());
      start.wait();
      return ws.call(body({{"id", round},
                           {"op", "withdraw"},
                           {"account", a},
                           {"amount", 200},
                           {"idempotency_key", key}}));
    });
    go.set_value();
    const auto h = over_http.get();
    const auto w = over_ws.get();
    const bool h_ok = h.status == 200, w_ok = w.at("ok").as_bool();
    ASSERT_NE(h_ok, w_ok) << "exactly one succeeds: HTTP " << h.status << " " << h.body << " / WS "
                          << json::serialize(w);
    if (h_ok) {
      ++http_won;
      expected -= 100;
      EXPECT_EQ(w.at("error").at("code").as_string(), "idempotency_key_reused");
    } else {
      ++ws_won;
      expected -= 200;
      EXPECT_EQ(h.status, 422) << h.body;
      EXPECT_EQ(h.json().at("error").at("code").as_string(), "idempotency_key_reused");
    }
    ASSERT_EQ(balance(s, a), expected) << "round " << round;
  }
  std::printf("10 races: HTTP first %d times, WebSocket first %d times; one effect each\n",
              http_won, ws_won);
}

// Records a keyless producer or another partitioner put in the wrong partition: two instances
// (and verify on each) agree on every account, whatever order they fold the partitions in.
TEST(MoneySafetyCluster, TwoInstancesAgreeOverMisplacedRecords) {
  auto base = fresh_instance("misplaced", kPartitions);
  // The commands, placed right, then the same kind of traffic through other partitioners:
  // creates of ids that already exist elsewhere, deposits and transfers on them.
  const auto placed = make_workload(3000, 120, 11);
  ASSERT_EQ(produce_events(kBrokers, base.topic, kPartitions, placed), placed.size());
  auto misplaced = make_workload(600, 120, 11);  // the same 120 accounts (same seed)
  for (auto& e : misplaced) e.command_id += "-other-client";
  std::vector<std::string> values, keys;
  for (const auto& e : misplaced) {
    values.push_back(domain::encode(e));
    keys.push_back(e.acc_id);
  }
  // librdkafka's default partitioner hashes keys with CRC32, not murmur2.
  ASSERT_EQ(produce_all(kBrokers, base.topic, kPartitions, values, keys, 500,
                        {{"partitioner", "consistent_random"}}),
            values.size());
  // A keyless producer (the original Go tool on a multi-partition topic): random partitions.
  ASSERT_EQ(produce_all(kBrokers, base.topic, kPartitions, values,
                        std::vector<std::string>(values.size()), 500),
            values.size());

  auto one = base, two = base;
  one.data_dir += "-1";
  two.data_dir += "-2";
  one.instance_id = "m-1";
  two.instance_id = "m-2";
  ServiceInstance first(one), second(two);
  first.launch();
  second.launch();
  ASSERT_TRUE(wait_until(
      [&] { return first.get("/readyz").status == 200 && second.get("/readyz").status == 200; },
      90s))
      << first.output() << second.output();

  // Both answer every account alike (each forwards what the other owns, or answers itself).
  std::map<std::string, json::value> a, b;
  ASSERT_TRUE(wait_until(
      [&] {
        a = all_accounts(first);
        b = all_accounts(second);
        return a == b && !a.empty();
      },
      30s));
  EXPECT_EQ(a.size(), 120u);
  const auto counted = [](ServiceInstance& s) {
    return metric(s.get("/metrics").body, "xbanku_records_total{result=\"misplaced\"}")
        .value_or(-1);
  };
  const double misplaced_total = counted(first) + counted(second);
  std::printf(
      "two instances: %zu accounts alike; %.0f misplaced records rejected and dead-lettered\n",
      a.size(), misplaced_total);
  EXPECT_GT(misplaced_total, 0);
  // Each one went to the dead-letter topic with its origin and reason.
  auto dlq = run(
      {"/usr/bin/kcat", "-C", "-b", kBrokers, "-t", base.topic + ".dlq", "-e", "-q", "-f", "%h\n"},
      base.data_dir + "-dlq.log", 60s);
  ASSERT_EQ(dlq.exit_code, 0) << dlq.output;
  std::size_t letters = 0;
  for (std::size_t pos = 0;
       (pos = dlq.output.find("xbanku-reason=misplaced_record", pos)) != std::string::npos; ++pos) {
    ++letters;
  }
  EXPECT_EQ(static_cast<double>(letters), misplaced_total);
  EXPECT_NE(dlq.output.find("xbanku-origin-partition="), std::string::npos);

  EXPECT_EQ(first.stop(), 0) << first.output();
  EXPECT_EQ(second.stop(), 0) << second.output();
  for (const auto& o : {one, two}) {
    auto v = run({xbanku_binary(), "--act=verify", "--brokers", kBrokers, "--topic", o.topic,
                  "--data-dir", o.data_dir},
                 o.data_dir + "-verify.log", 120s);
    EXPECT_EQ(v.exit_code, 0) << v.output;
    EXPECT_NE(v.output.find("verify: OK"), std::string::npos) << v.output;
  }
}

}  // namespace
}  // namespace xbanku::test
