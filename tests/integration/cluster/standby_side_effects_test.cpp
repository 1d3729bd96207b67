// Standby replicas have no side effects (DESIGN §8): two real instances that each shadow the
// other's partitions, on the real broker and Redis, under accounts, deposits and transfers
// (same- and cross-partition, some to accounts that do not exist, so refunds travel too) and
// poison records written straight to the topic. Counted afterwards from the topics themselves
// and from Redis's MONITOR stream:
//   - one TransferCreditEvent per cross-partition transfer, one refund per failed credit — the
//     follow-ups a group without standbys would write, none twice;
//   - one dead letter per poison record;
//   - the accounts of each partition written to Redis by one connection only: its owner's
//     mirror (a shadow that wrote there would be a second one);
// then --act=verify, with the mirror, passes on each instance.
#include "support/service_instance.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/domain/uuid.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace xbanku::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kPartitions = 6;
const domain::Placement kPlacement{kPartitions};
constexpr int kRedisDb = 11;

std::string header_value(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (boost::beast::iequals(k, name)) return v;
  }
  return {};
}

// The partitions an instance serves and shadows, and whether every shadow is at the log's end.
struct Roles {
  std::set<int> serving, standby;
  bool current = false;
};
Roles roles(const ServiceInstance& node) {
  Roles out;
  const auto r = node.get("/readyz");
  if (r.status != 200) return out;
  const auto v = r.json();
  const auto& o = v.as_object();
  for (const auto& p : o.at("serving").as_array())
    out.serving.insert(static_cast<int>(p.as_int64()));
  for (const auto& p : o.at("standby").as_array())
    out.standby.insert(static_cast<int>(p.as_int64()));
  out.current = o.at("standby_lag").as_object().size() == out.standby.size();
  for (const auto& [p, lag] : o.at("standby_lag").as_object())
    out.current = out.current && lag.is_int64() && lag.as_int64() == 0;
  return out;
}

// Every record value of `topic`, one per line (kcat reads to the end and exits).
std::vector<std::string> values_of(const std::string& topic, const std::string& log) {
  auto r =
      run({"/usr/bin/kcat", "-C", "-b", kBrokers, "-t", topic, "-e", "-q", "-f", "%s\n"}, log, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> out;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

TEST(StandbySideEffects, ShadowsSendNoFollowUpsNoDeadLettersAndWriteNoMirror) {
  auto base = fresh_instance("standby-effects", kPartitions);
  base.redis = fmt::format("redis://127.0.0.1:{}/{}", kRedisPort, kRedisDb);
  std::vector<std::unique_ptr<ServiceInstance>> nodes;
  for (int i = 0; i < 2; ++i) {
    auto o = base;
    o.data_dir = base.data_dir + "-node" + std::to_string(i);
    o.instance_id = "node-" + std::to_string(i);
    o.extra_args = {"--standby-replicas", "1"};
    nodes.push_back(std::make_unique<ServiceInstance>(o));
  }
  for (auto& n : nodes) n->launch();
  // Both serving, together every partition, and each shadowing the other's, caught up.
  ASSERT_TRUE(wait_until(
      [&] {
        std::set<int> all;
        for (auto& n : nodes) {
          const auto r = roles(*n);
          if (r.serving.empty() || !r.current ||
              r.serving.size() + r.standby.size() != static_cast<std::size_t>(kPartitions))
            return false;
          all.insert(r.serving.begin(), r.serving.end());
        }
        return all.size() == static_cast<std::size_t>(kPartitions);
      },
      90s, 100ms))
      << nodes[0]->output();

  // Every command Redis receives from now on, with the connection that sent it.
  const std::string monitor_log = base.data_dir + "-monitor.log";
  std::remove(monitor_log.c_str());
  auto monitor = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/redis-cli", "-p", std::to_string(kRedisPort), "monitor"},
      monitor_log);
  std::this_thread::sleep_for(300ms);  // MONITOR is on before the first write

  std::mt19937_64 rng(20261203);
  std::vector<std::string> accounts;
  for (int i = 0; i < 24; ++i) {
    const auto r = nodes[i % 2]->post("/accounts", R"({"name":"standby"})");
    ASSERT_EQ(r.status, 201) << r.body;
    accounts.emplace_back(r.json().at("id").as_string());
    ASSERT_EQ(nodes[(i + 1) % 2]
                  ->post("/accounts/" + accounts.back() + "/deposit", R"({"amount":1000})")
                  .status,
              200);
  }
  // Transfers through either instance; one in six to an account that does not exist.
  std::size_t cross = 0, refunds_expected = 0;
  std::vector<std::string> transfer_commands;
  std::uniform_int_distribution<std::size_t> pick(0, accounts.size() - 1);
  for (int i = 0; i < 60; ++i) {
    const auto& from = accounts[pick(rng)];
    const bool missing = i % 6 == 5;
    const auto to = missing ? domain::new_uuid() : accounts[pick(rng)];
    if (to == from) continue;
    const bool across = kPlacement.partition_of(from) != kPlacement.partition_of(to);
    const auto r = nodes[i % 2]->post(
        "/transfers", fmt::format(R"({{"from":"{}","to":"{}","amount":3}})", from, to));
    ASSERT_TRUE(r.status == 200 || r.status == 404) << r.status << " " << r.body;
    if (r.status != 200) continue;  // a missing target in the source's own partition: rejected
    cross += across ? 1 : 0;
    refunds_expected += across && missing ? 1 : 0;
    transfer_commands.push_back(header_value(r, "X-Command-Id"));
  }
  // Poison: three records no rule can read, in partitions of both owners.
  for (int p : {0, 2, 4}) {
    const std::string file = base.data_dir + fmt::format("-poison-{}.txt", p);
    {
      std::ofstream out(file);
      out << "not an event " << p << "\n";
    }
    auto r = run({"/usr/bin/kcat", "-P", "-b", kBrokers, "-t", base.topic, "-p", std::to_string(p),
                  "-l", file},
                 file + ".log", 30s);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  // Quiet: every transfer decided, every poison record dead-lettered, every shadow current.
  for (const auto& id : transfer_commands) {
    ASSERT_TRUE(wait_until(
        [&] {
          const auto r = nodes[0]->get("/commands/" + id);
          return r.status == 200 && r.json().at("status").as_string() != "pending";
        },
        60s, 100ms))
        << id;
  }
  ASSERT_TRUE(wait_until(
      [&] {
        return values_of(base.topic + ".dlq", base.data_dir + "-dlq.log").size() >= 3 &&
               roles(*nodes[0]).current && roles(*nodes[1]).current;
      },
      60s, 200ms));
  std::this_thread::sleep_for(1500ms);  // the mirrors' last batches
  monitor.reset();                      // SIGKILL: the log is complete up to here

  // 1. Follow-ups: one credit per cross-partition transfer, one refund per failed credit.
  std::map<std::string, int> credits, refunds;
  for (const auto& line : values_of(base.topic, base.data_dir + "-topic.log")) {
    boost::system::error_code ec;
    const auto v = json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("Type")) continue;  // the poison
    const auto type = v.at("Type").as_string();
    if (type == "TransferCreditEvent") ++credits[std::string(v.at("TransferId").as_string())];
    if (type == "TransferRefundEvent") ++refunds[std::string(v.at("TransferId").as_string())];
  }
  std::size_t credit_records = 0, refund_records = 0;
  for (const auto& [id, n] : credits) {
    credit_records += static_cast<std::size_t>(n);
    EXPECT_EQ(n, 1) << "credit of " << id << " written " << n << " times";
  }
  for (const auto& [id, n] : refunds) {
    refund_records += static_cast<std::size_t>(n);
    EXPECT_EQ(n, 1) << "refund of " << id << " written " << n << " times";
  }
  EXPECT_EQ(credit_records, cross);
  EXPECT_EQ(refund_records, refunds_expected);

  // 2. Dead letters: one per poison record.
  const auto letters = values_of(base.topic + ".dlq", base.data_dir + "-dlq.log");
  EXPECT_EQ(letters.size(), 3u);

  // 3. The mirror: each partition's accounts written by one Redis connection (its owner's).
  //    A MONITOR line: <time> [<db> <client address>] "HSET" "<account id>" "Id" ...
  std::map<int, std::set<std::string>> writers;
  std::size_t hsets = 0;
  std::istringstream monitored(read_file(monitor_log));
  for (std::string line; std::getline(monitored, line);) {
    const auto open = line.find('['), close = line.find(']');
    const auto cmd = line.find("\"HSET\" \"");
    if (open == std::string::npos || close == std::string::npos || cmd == std::string::npos)
      continue;
    const auto key_at = cmd + 8;
    const auto key = line.substr(key_at, line.find('"', key_at) - key_at);
    if (!domain::canonical_uuid(key)) continue;
    ++hsets;
    const auto client = line.substr(open + 1, close - open - 1);  // "<db> <address>"
    writers[kPlacement.partition_of(key)].insert(client);
  }
  EXPECT_GE(hsets, accounts.size()) << "the mirror wrote fewer accounts than were created";
  std::size_t shared = 0;
  for (const auto& [p, clients] : writers) {
    EXPECT_EQ(clients.size(), 1u) << "partition " << p << " written to Redis by " << clients.size()
                                  << " connections";
    shared += clients.size() > 1 ? 1 : 0;
  }
  std::printf(
      "[standby side effects] %zu cross-partition transfers: %zu credits; %zu failed credits: "
      "%zu refunds; 3 poison records: %zu dead letters; %zu HSETs, %zu of %zu partitions "
      "written by more than one connection\n",
      cross, credit_records, refunds_expected, refund_records, letters.size(), hsets, shared,
      writers.size());

  // 4. Each view, and the mirror for the partitions it holds current, agree with the topic.
  for (auto& n : nodes) ASSERT_EQ(n->stop(), 0) << n->output();
  for (auto& n : nodes) {
    const auto& o = n->options();
    const auto v = run({xbanku_binary(), "--act=verify", "--brokers", kBrokers, "--topic", o.topic,
                        "--data-dir", o.data_dir, "--redis", o.redis},
                       o.data_dir + ".verify.log", 300s);
    EXPECT_EQ(v.exit_code, 0) << o.instance_id << ":\n" << v.output;
  }
}

}  // namespace
}  // namespace xbanku::test
