// The view under faults (DESIGN §2, §5, §7), with a real broker, a real Redis and real
// `xbanku` processes: SIGKILL at random moments, clean restarts, poison records, Redis outages.

#include "support/service_instance.hpp"
#include "support/workload.hpp"

#include <gtest/gtest.h>

#include <random>

namespace xbanku::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Quiescent: every partition caught up and no follow-up left to send, twice in a row.
bool wait_quiescent(ServiceInstance& s, std::chrono::seconds timeout) {
  int calm = 0;
  return wait_until(
      [&] {
        const bool ready = s.get("/readyz").status == 200;
        const auto pending = metric(s.get("/metrics").body, "xbanku_outbox_pending");
        calm = ready && pending && *pending == 0 ? calm + 1 : 0;
        return calm >= 3;
      },
      timeout, 700ms);
}

struct Totals {
  std::int64_t balances = 0;
  std::int64_t deposits = 0;
  std::int64_t withdrawals = 0;
  std::size_t accounts = 0;
};

// Sums balances over every account, and applied deposits/withdrawals over their histories.
Totals totals(ServiceInstance& s) {
  KeepAliveClient http("127.0.0.1", s.port());
  Totals t;
  std::string after;
  std::vector<std::string> ids;
  while (true) {
    auto page = http.get("/accounts?limit=1000" + (after.empty() ? "" : "&after=" + after));
    if (page.status != 200) throw std::runtime_error("GET /accounts: " + page.body);
    auto v = page.json();
    for (const auto& a : v.at("accounts").as_array()) {
      t.balances += a.at("balance").as_int64();
      ids.emplace_back(a.at("id").as_string());
    }
    if (v.at("next").is_null()) break;
    after = std::string(v.at("next").as_string());
  }
  t.accounts = ids.size();
  for (const auto& id : ids) {
    std::string cursor;
    while (true) {
      auto h = http.get("/accounts/" + id + "/events?limit=1000" +
                        (cursor.empty() ? "" : "&after=" + cursor));
      if (h.status != 200) throw std::runtime_error("GET events: " + h.body);
      auto v = h.json();
      for (const auto& e : v.at("events").as_array()) {
        const auto type = e.at("type").as_string();
        if (type == "deposit") t.deposits += e.at("amount").as_int64();
        if (type == "withdraw") t.withdrawals += e.at("amount").as_int64();
      }
      if (v.at("next").is_null()) break;
      cursor = json::value_to<std::string>(v.at("next"));
    }
  }
  return t;
}

RunResult verify(const InstanceOptions& o, const std::string& redis = {}) {
  std::vector<std::string> args{xbanku_binary(), "--act=verify", "--brokers",  kBrokers,
                                "--topic",       o.topic,        "--data-dir", o.data_dir};
  if (!redis.empty()) args.insert(args.end(), {"--redis", redis});
  return run(args, o.data_dir + ".verify.log", 300s);
}

TEST(ProjectionFaults, CrashConsistencyUnderRandomSigkill) {
  auto options = fresh_instance("crash", 3);
  // Static membership: a restarted instance takes its partitions back at once, so the kills
  // land while it projects rather than while it waits for the dead member's session to end.
  options.instance_id = "crash-" + unique_suffix();
  const auto events = make_workload(50'000, 400, 20261126);
  ASSERT_EQ(produce_events(kBrokers, options.topic, 3, events), events.size())
      << "could not pre-produce to the broker on " << kBrokers << " (scripts/services.sh up)";

  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pause_ms(300, 3000);
  ServiceInstance service(options);
  const int kills =
      std::getenv("XBANKU_TEST_KILLS") ? std::atoi(std::getenv("XBANKU_TEST_KILLS")) : 10;
  for (int kill = 0; kill < kills; ++kill) {
    service.launch();
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    ASSERT_TRUE(service.running()) << "xbanku exited by itself:\n" << service.output();
    service.kill9();
  }
  ASSERT_TRUE(service.start(180s)) << service.output();
  ASSERT_TRUE(wait_quiescent(service, 120s)) << service.output();

  // Every command has exactly one outcome, found by its CommandId.
  KeepAliveClient http("127.0.0.1", service.port());
  std::size_t missing = 0;
  for (const auto& e : events) {
    auto r = http.get("/commands/" + e.command_id);
    if (r.status != 200 && ++missing <= 3) {
      ADD_FAILURE() << "no outcome for " << e.command_id << ": " << r.status << " " << r.body
                    << r.error;
    }
  }
  EXPECT_EQ(missing, 0u);

  // Money is conserved: balances = applied deposits − applied withdrawals.
  const auto t = totals(service);
  EXPECT_EQ(t.accounts, 400u);
  EXPECT_EQ(t.balances, t.deposits - t.withdrawals);
  std::printf("crash consistency: %zu accounts, balances %lld = deposits %lld - withdrawals %lld\n",
              t.accounts, static_cast<long long>(t.balances), static_cast<long long>(t.deposits),
              static_cast<long long>(t.withdrawals));

  ASSERT_EQ(service.stop(), 0) << service.output();
  auto v = verify(options);
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST(ProjectionFaults, CleanRestartConsumesNothingTwice) {
  auto options = fresh_instance("restart", 3);
  const auto events = make_workload(5'000, 100, 42);
  ASSERT_EQ(produce_events(kBrokers, options.topic, 3, events), events.size());
  ServiceInstance service(options);
  ASSERT_TRUE(service.start(120s)) << service.output();
  ASSERT_TRUE(wait_quiescent(service, 60s)) << service.output();
  ASSERT_EQ(service.stop(), 0) << service.output();

  ASSERT_TRUE(service.start(60s)) << service.output();
  std::this_thread::sleep_for(2s);  // a few polls after catching up
  const auto metrics = service.get("/metrics").body;
  const auto consumed = metric(metrics, "xbanku_records_consumed_total");
  ASSERT_TRUE(consumed.has_value()) << metrics;
  std::printf("restart without replay: %.0f records consumed after a clean restart\n", *consumed);
  EXPECT_EQ(*consumed, 0) << "the projector re-read records it had already committed";
  EXPECT_EQ(service.stop(), 0);
}

TEST(ProjectionFaults, PoisonRecordsAreDeadLetteredOrRejectedAndTheRestApplies) {
  auto options = fresh_instance("poison", 3);
  domain::Event create{.type = domain::EventType::create,
                       .acc_id = "2f9c1a52-55b0-4c1e-9d43-1b9d0c2a7e11",
                       .acc_name = "Survivor"};
  domain::Event deposit{.type = domain::EventType::deposit, .acc_id = create.acc_id, .amount = 77};
  deposit.command_id = "poison-after";
  const std::string key = create.acc_id;
  const std::string huge = R"({"AccId":")" + key + R"(","Type":"CreateEvent","AccName":")" +
                           std::string(1 << 20, 'x') + R"("})";
  const std::vector<std::string> values{
      domain::encode(create),
      "this is not json",
      R"({"AccId":")" + key + R"(","Type":"TeleportEvent","Amount":5})",
      huge,
      R"({"AccId":")" + key +
          R"(","Type":"DepositEvent","Amount":-5,"CommandId":"poison-negative"})",
      domain::encode(deposit)};
  ASSERT_EQ(
      produce_all(kBrokers, options.topic, 3, values, std::vector<std::string>(values.size(), key),
                  10, {{"message.max.bytes", "4194304"}}),
      values.size());
  ServiceInstance service(options);
  ASSERT_TRUE(service.start(60s)) << service.output();
  auto account = service.get("/accounts/" + key);
  ASSERT_EQ(account.status, 200) << account.body;
  EXPECT_EQ(account.json().at("balance").as_int64(), 77)
      << "records after the poison were not applied";
  auto negative = service.get("/commands/poison-negative");
  ASSERT_EQ(negative.status, 200) << negative.body;
  EXPECT_EQ(negative.json().at("status").as_string(), "rejected");
  EXPECT_EQ(negative.json().at("reason").as_string(), "invalid_amount");
  const auto metrics = service.get("/metrics").body;
  EXPECT_EQ(metric(metrics, "xbanku_records_total{result=\"dead_lettered\"}"), 3.0) << metrics;
  EXPECT_EQ(service.stop(), 0);

  // The dead-letter topic holds the three undecodable records, with their origin in headers.
  auto dlq = run({"/usr/bin/kcat", "-C", "-b", kBrokers, "-t", options.topic + ".dlq", "-e", "-q",
                  "-f", "%h\\n"},
                 options.data_dir + ".dlq.log", 60s);
  EXPECT_EQ(dlq.exit_code, 0) << dlq.output;
  std::size_t letters = 0;
  for (std::size_t pos = 0;
       (pos = dlq.output.find("xbanku-origin-offset", pos)) != std::string::npos; ++pos)
    ++letters;
  EXPECT_EQ(letters, 3u) << dlq.output;
}

TEST(ProjectionFaults, RedisOutageNeitherBlocksTheProjectorNorLosesMirrorWrites) {
  // A Redis of this test's own, so that stopping it disturbs nobody else.
  const unsigned short redis_port = free_port();
  const std::string redis_addr = "127.0.0.1:" + std::to_string(redis_port);
  const auto redis_dir = std::filesystem::current_path() / ("redis-" + unique_suffix());
  std::filesystem::create_directories(redis_dir);
  auto start_redis = [&] {
    return run(
        {"/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", std::to_string(redis_port),
         "--save", "", "--appendonly", "no", "--daemonize", "yes", "--dir", redis_dir.string(),
         "--pidfile", (redis_dir / "redis.pid").string()},
        (redis_dir / "start.log").string(), 10s);
  };
  auto stop_redis = [&] {
    run({"/usr/bin/redis-cli", "-p", std::to_string(redis_port), "shutdown", "nosave"},
        (redis_dir / "stop.log").string(), 10s);
  };
  ASSERT_EQ(start_redis().exit_code, 0) << "redis-server is needed (scripts/install-deps.sh)";

  auto options = fresh_instance("redis", 3);
  options.redis = redis_addr;
  const auto first = make_workload(10'000, 300, 5);
  ASSERT_EQ(produce_events(kBrokers, options.topic, 3, first), first.size());
  ServiceInstance service(options);
  ASSERT_TRUE(service.start(120s)) << service.output();
  ASSERT_TRUE(wait_quiescent(service, 60s));

  // Redis goes away; the projector keeps its pace on the next 10,000 records.
  stop_redis();
  auto second = make_workload(10'300, 300, 5);
  second.erase(second.begin(), second.begin() + 300);  // same accounts, new movements
  for (auto& e : second) e.command_id += "-b";
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(produce_events(kBrokers, options.topic, 3, second), second.size());
  ASSERT_TRUE(wait_quiescent(service, 120s)) << service.output();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto lag = metric(service.get("/metrics").body, "xbanku_mirror_lag");
  std::printf(
      "redis outage: produced and projected 10,000 records in %.2f s with Redis down; mirror lag "
      "%.0f\n",
      seconds, lag.value_or(-1));
  EXPECT_LT(seconds, 60.0) << "the projector was held back while Redis was down";

  // Redis returns: the mirror catches up from the debt it kept in RocksDB.
  ASSERT_EQ(start_redis().exit_code, 0);
  EXPECT_TRUE(
      wait_until([&] { return metric(service.get("/metrics").body, "xbanku_mirror_lag") == 0.0; },
                 60s, 500ms));
  ASSERT_EQ(service.stop(), 0) << service.output();
  auto v = verify(options, redis_addr);
  EXPECT_EQ(v.exit_code, 0) << v.output;
  stop_redis();
}

}  // namespace
}  // namespace xbanku::test
