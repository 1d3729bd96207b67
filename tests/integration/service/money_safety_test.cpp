// Money is never lost to a chosen key or a misplaced record (issue 11; DESIGN §2): real
// `xbanku` processes and the real broker, records written by other Kafka clients included.

#include "support/service_instance.hpp"
#include "support/workload.hpp"
#include "support/ws_client.hpp"
#include "xbanku/domain/partitioner.hpp"
#include "xbanku/domain/uuid.hpp"

#include <boost/beast/core/string.hpp>
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>

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

HttpResponse deposit(ServiceInstance& s, const std::string& id, std::int64_t amount,
                     const std::string& key) {
  return s.post("/accounts/" + id + "/deposit", json::serialize(body({{"amount", amount}})),
                {{"Idempotency-Key", key}});
}

// One record written by another Kafka client: `value` keyed by `key` (murmur2 places it in the
// key's partition, which need not be the AccId's).
void produce_raw(ServiceInstance& s, const std::string& value, const std::string& key) {
  ASSERT_EQ(produce_all(kBrokers, s.options().topic, kPartitions, {value}, {key}), 1u);
}

// GET /commands/{id} once it answers 200 (the record was projected), or the last answer.
HttpResponse command_when_projected(ServiceInstance& s, const std::string& key) {
  HttpResponse r;
  wait_until(
      [&] {
        r = s.get("/commands/" + key);
        return r.status == 200;
      },
      20s);
  return r;
}

double misplaced_count(ServiceInstance& s) {
  return metric(s.get("/metrics").body, "xbanku_records_total{result=\"misplaced\"}").value_or(-1);
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

// The issue's reproduction: a record from another Kafka client (no CommandId) gets the
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

// A retry of an acknowledged command meets its own first outcome, even once another Kafka
// client has used the same key in a lower-numbered partition (its own scope there). Before,
// the retry was looked up in the first partition knowing the key and refused 422.
TEST_F(MoneySafety, ARetryIsAnsweredFromItsOwnPartitionWhateverOthersHold) {
  auto& s = *instance;
  const auto y = create_in(s, 0, true, "Y");
  const auto x = create_in(s, 0, false, "X");
  const std::string key = "K2-" + unique_suffix();
  auto first = deposit(s, x, 100, key);
  ASSERT_EQ(first.status, 200) << first.body;
  produce_raw(
      s,
      R"({"AccId":")" + y + R"(","Type":"DepositEvent","Amount":5,"CommandId":")" + key + R"("})",
      y);
  ASSERT_TRUE(wait_until([&] { return balance(s, y) == 5; }, 20s)) << "applied in its own scope";
  auto retry = deposit(s, x, 100, key);
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.json().at("balance").as_int64(), 100) << retry.body;
  EXPECT_EQ(balance(s, x), 100);
}

// A record whose only problem is its amount, in a partition its account does not belong to,
// is misplaced: dead-lettered, counted, and its key is not taken in that partition. And an
// undecodable record's outcome says its type when the record names one, and claims none
// otherwise.
TEST_F(MoneySafety, AMisplacedBadAmountIsMisplacedAndUndecodableOutcomesClaimNoDefaultType) {
  auto& s = *instance;
  const auto a = create(s, "A");
  const auto b = create_in(s, domain::partition_for_key(a, kPartitions), false, "B");
  const std::string k = "bad-amount-" + unique_suffix();
  // Keyed by b: murmur2 puts it in b's partition, not a's.
  produce_raw(
      s, R"({"AccId":")" + a + R"(","Type":"DepositEvent","Amount":0,"CommandId":")" + k + R"("})",
      b);
  ASSERT_TRUE(wait_until([&] { return misplaced_count(s) == 1; }, 20s)) << misplaced_count(s);
  EXPECT_EQ(s.get("/commands/" + k).status, 404) << "a misplaced record takes no key";
  auto r = deposit(s, b, 7, k);  // the key is free in b's partition
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(balance(s, b), 7);

  const std::string malformed = "malformed-" + unique_suffix();
  produce_raw(s,
              R"({"AccId":")" + a + R"(","Type":"DepositEvent","Amount":5,"V":2,"CommandId":")" +
                  malformed + R"("})",
              a);
  auto m = command_when_projected(s, malformed);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.json().at("reason").as_string(), "malformed_event");
  EXPECT_EQ(m.json().at("type").as_string(), "deposit") << m.body;

  const std::string untyped = "untyped-" + unique_suffix();
  produce_raw(s, R"({"AccId":")" + a + R"(","Type":7,"CommandId":")" + untyped + R"("})", a);
  auto u = command_when_projected(s, untyped);
  ASSERT_EQ(u.status, 200) << u.body;
  EXPECT_EQ(u.json().at("reason").as_string(), "malformed_event");
  EXPECT_FALSE(u.json().as_object().contains("type")) << u.body;
}

// Transfer states are kept per partition: two hand-written credits naming one transfer id for
// accounts of two partitions are each decided in their own partition, so the live view and
// --act=verify agree (before, each credited whichever it folded first: MISMATCH). And a refund
// is decided by its first copy: rejected once (no such account yet), a later copy changes
// nothing even after the account exists.
TEST_F(MoneySafety, CreditsAndRefundsAreDecidedInTheirPartitionByTheirFirstCopy) {
  auto& s = *instance;
  const auto one = create_in(s, 1, true, "One");
  const auto two = create_in(s, 2, true, "Two");
  const auto source = create_in(s, 0, true, "Source");
  const auto credit = [&](const std::string& target) {
    return R"({"AccId":")" + target + R"(","Type":"TransferCreditEvent","SourceId":")" + source +
           R"(","Amount":7,"TransferId":"0-999"})";
  };
  produce_raw(s, credit(one), one);
  produce_raw(s, credit(two), two);
  ASSERT_TRUE(wait_until([&] { return balance(s, one) == 7 && balance(s, two) == 7; }, 20s))
      << "one " << balance(s, one) << ", two " << balance(s, two);

  // A refund to an account that does not exist yet (its id chosen here), in its partition.
  const std::string z = domain::new_uuid();
  const std::string refund = R"({"AccId":")" + z +
                             R"(","Type":"TransferRefundEvent","TargetId":")" + one +
                             R"(","Amount":9,"TransferId":"0-998","Reason":"x")";
  const std::string first_copy = "refund-1-" + unique_suffix();
  produce_raw(s, refund + R"(,"CommandId":")" + first_copy + R"("})", z);
  auto rejected = command_when_projected(s, first_copy);
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(rejected.json().at("reason").as_string(), "account_not_found");
  auto created = s.post("/accounts", json::serialize(body({{"name", "Z"}, {"id", z}})));
  ASSERT_EQ(created.status, 201) << created.body;
  // The same refund again (another key, so that the key does not decide), then a deposit in
  // the same partition that tells when both were folded.
  produce_raw(s, refund + R"(,"CommandId":")" + first_copy + R"(-again"})", z);
  const std::string marker = "marker-" + unique_suffix();
  produce_raw(s,
              R"({"AccId":")" + z + R"(","Type":"DepositEvent","Amount":1,"CommandId":")" + marker +
                  R"("})",
              z);
  ASSERT_EQ(command_when_projected(s, marker).status, 200);
  EXPECT_EQ(balance(s, z), 1) << "a refund rejected once was applied by a later copy";

  EXPECT_EQ(instance->stop(), 0) << instance->output();
  const auto o = instance->options();
  instance.reset();
  auto v = run({xbanku_binary(), "--act=verify", "--brokers", kBrokers, "--topic", o.topic,
                "--data-dir", o.data_dir},
               o.data_dir + "-verify.log", 120s);
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_NE(v.output.find("verify: OK"), std::string::npos) << v.output;
}

// The serious one, with two instances: A serves partitions p < q. A deposit to X (in p) with
// key K through A; then a deposit to Y (in q) with the same K through B, which knows nothing of
// K, writes it and asks A to wait for it. A answered the key's first outcome over all
// partitions (X's), which B took for another request: 422, although Y got the deposit. The wait
// must ask for the outcome in the partition B wrote to.
TEST(MoneySafetyCluster, AKeyUsedInAnotherPartitionDoesNotTurnAnAppliedCommandInto422) {
  auto base = fresh_instance("keyscope", kPartitions);
  ASSERT_EQ(produce_all(kBrokers, base.topic, kPartitions, {}, {}), 0u);  // the topic
  auto one = base, two = base;
  one.data_dir += "-1";
  two.data_dir += "-2";
  one.instance_id = "k-1";
  two.instance_id = "k-2";
  ServiceInstance first(one), second(two);
  first.launch();
  second.launch();
  // Settled: both ready, the partitions split between them.
  const auto serving = [](ServiceInstance& s) {
    std::set<std::int64_t> out;
    auto r = s.get("/readyz");
    if (r.status != 200) return out;
    const auto ready = r.json();  // kept: the loop reads into it
    for (const auto& p : ready.at("serving").as_array()) out.insert(p.as_int64());
    return out;
  };
  std::set<std::int64_t> s1, s2;
  ASSERT_TRUE(wait_until(
      [&] {
        s1 = serving(first);
        s2 = serving(second);
        return !s1.empty() && !s2.empty() && s1.size() + s2.size() == kPartitions;
      },
      90s))
      << first.output() << second.output();
  ServiceInstance& a = s1.size() == 2 ? first : second;
  ServiceInstance& b = s1.size() == 2 ? second : first;
  const auto& owned = s1.size() == 2 ? s1 : s2;
  const auto p = static_cast<std::int32_t>(*owned.begin());
  const auto q = static_cast<std::int32_t>(*owned.rbegin());
  std::printf("A serves %d and %d; B the other partition\n", p, q);

  const auto x = create_in(a, p, true, "X");
  const auto y = create_in(a, q, true, "Y");
  // B reaches A's partitions (it has read A's announcement).
  ASSERT_TRUE(wait_until([&] { return b.get("/accounts/" + y).status == 200; }, 30s));
  const std::string key = "K-" + unique_suffix();
  auto via_a = deposit(a, x, 100, key);
  ASSERT_EQ(via_a.status, 200) << via_a.body;
  auto via_b = deposit(b, y, 7, key);
  EXPECT_EQ(via_b.status, 200) << via_b.body;
  // B may have answered from its standby's view of Y's partition, before A, the owner, folded
  // the deposit: read through A at the position B's answer named (DESIGN §8).
  std::string position;
  for (const auto& [name, value] : via_b.headers) {
    if (boost::beast::iequals(name, "X-Position")) position = value;
  }
  ASSERT_FALSE(position.empty()) << "a command answer names its record's position";
  const auto y_via_a = a.get("/accounts/" + y + "?min_position=" + position);
  ASSERT_EQ(y_via_a.status, 200) << y_via_a.body;
  EXPECT_EQ(y_via_a.json().at("balance").as_int64(), 7)
      << "the deposit to Y is applied in its own scope";
  if (via_b.status == 200) {
    EXPECT_EQ(via_b.json().at("balance").as_int64(), 7);
  }
  EXPECT_EQ(balance(a, x), 100);

  EXPECT_EQ(first.stop(), 0) << first.output();
  EXPECT_EQ(second.stop(), 0) << second.output();
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
