// Several instances in one consumer group (DESIGN §8), each a real `xbanku` process with its
// own port, data folder and --instance-id, sharing a 6-partition topic on the real broker.
// Run twice by ctest: with --standby-replicas 1 (the default) and 0 (XBANKU_TEST_STANDBYS=0),
// so the failover figures of both are printed side by side.
//   - a query sent to an instance that does not own the account is answered by the owner,
//     and says so (X-Served-By); with standbys, by the instance itself as a standby
//     (X-Served-Role: standby), fresh after a read-your-writes command through it;
//   - a forwarded request (an instance's credential) is never forwarded again (the hop limit);
//     a client's X-Xbanku-Hops is ignored;
//   - failover under load: 20,000 seeded commands over all three instances, one SIGKILLed
//     mid-load and restarted with the same --instance-id; then every acknowledged command has
//     one outcome, money is conserved, every instance gives the same answers, and
//     --act=verify passes on each. Printed: the longest interval in which no client command
//     got a definite answer (2xx or 4xx), the 503s and 504s, the gap without a serving owner
//     and the restarted instance's catch-up.
// Authentication is on (--auth=jwt, a cluster secret): the clients send an admin token, and
// forwarding and peer feeds carry the instances' credentials.
#include "support/secured.hpp"
#include "support/service_instance.hpp"
#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/domain/rules.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace xbanku::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using boost::beast::http::verb;

constexpr int kPartitions = 6;
constexpr int kNodes = 3;
const domain::Placement kPlacement{kPartitions};

// --standby-replicas of every instance: XBANKU_TEST_STANDBYS, else 1 (the service's default).
int standbys() {
  const char* v = std::getenv("XBANKU_TEST_STANDBYS");
  return v != nullptr && *v != '\0' ? std::atoi(v) : 1;
}

RunResult verify(const InstanceOptions& o) {
  return run({xbanku_binary(), "--act=verify", "--brokers", kBrokers, "--topic", o.topic,
              "--data-dir", o.data_dir},
             o.data_dir + ".verify.log", 300s);
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (boost::beast::iequals(k, name)) return v;
  }
  return {};
}

double metric(const ServiceInstance& node, const std::string& series) {
  const auto body = node.get("/metrics").body;
  // A sample line is "<series> <value>"; "# HELP <series> ..." and "# TYPE" lines are not.
  const auto at = body.find("\n" + series + " ");
  return at == std::string::npos ? 0.0 : std::stod(body.substr(at + series.size() + 2));
}

// The partitions an instance serves, from its /readyz ("serving": [...]); empty if it is down.
std::set<int> serving(const ServiceInstance& node) {
  std::set<int> out;
  const auto r = http_request("127.0.0.1", node.port(), verb::get, "/readyz", {}, {}, 1s);
  if (r.status == 0) return out;
  const auto v = r.json();
  if (const auto* o = v.if_object(); o != nullptr && o->contains("serving")) {
    for (const auto& p : o->at("serving").as_array()) out.insert(static_cast<int>(p.as_int64()));
  }
  return out;
}

// Whether the instance shadows every partition it does not serve, each at the log's end as
// last fetched (/readyz "standby" and "standby_lag").
bool standbys_current(const ServiceInstance& node) {
  const auto r = http_request("127.0.0.1", node.port(), verb::get, "/readyz", {}, {}, 1s);
  if (r.status != 200) return false;
  const auto v = r.json();
  const auto& o = v.as_object();
  if (!o.contains("standby") || !o.contains("standby_lag")) return false;
  std::set<int> covered;
  for (const auto& p : o.at("serving").as_array()) covered.insert(static_cast<int>(p.as_int64()));
  for (const auto& p : o.at("standby").as_array()) covered.insert(static_cast<int>(p.as_int64()));
  if (covered.size() != static_cast<std::size_t>(kPartitions)) return false;
  for (const auto& [p, lag] : o.at("standby_lag").as_object()) {
    if (!lag.is_int64() || lag.as_int64() != 0) return false;
  }
  return o.at("standby_lag").as_object().size() == o.at("standby").as_array().size();
}

class Cluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto base = fresh_instance("cluster", kPartitions);
    secrets_ = std::make_unique<Secrets>(Secrets::create(base.data_dir + "-secrets"));
    admin_ = secrets_->token("operator", {"admin"}, std::chrono::hours(4));
    for (int i = 0; i < kNodes; ++i) {
      auto o = base;
      o.data_dir = base.data_dir + "-node" + std::to_string(i);
      o.instance_id = "node-" + std::to_string(i);
      o.extra_args = secrets_->flags();
      // The load is one principal on a few connections, as fast as they go: rates are the
      // security test's subject, not this one's.
      o.extra_args.insert(o.extra_args.end(),
                          {"--rate-per-connection", "0", "--rate-per-principal", "0",
                           "--standby-replicas", std::to_string(standbys())});
      o.headers = bearer(admin_);
      nodes_.push_back(std::make_unique<ServiceInstance>(o));
    }
    for (auto& n : nodes_) n->launch();
    // All three are ready once the group has split the six partitions between them.
    ASSERT_TRUE(wait_until(
        [] {
          std::set<int> all;
          for (auto& n : nodes_) {
            auto s = serving(*n);
            if (s.empty()) return false;
            all.insert(s.begin(), s.end());
          }
          return all.size() == kPartitions;
        },
        90s, 100ms))
        << nodes_[0]->output();
    if (standbys() > 0) {
      // And each shadows the others' partitions, caught up.
      ASSERT_TRUE(wait_until(
          [] {
            for (auto& n : nodes_) {
              if (!standbys_current(*n)) return false;
            }
            return true;
          },
          60s, 100ms))
          << nodes_[0]->output();
    }
  }
  static void TearDownTestSuite() {
    for (auto& n : nodes_) n->stop();
    nodes_.clear();
    secrets_.reset();
  }

  static std::string create_account(ServiceInstance& via, const std::string& name) {
    const auto r = via.post("/accounts", R"({"name":")" + name + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(r.json().at("id").as_string());
  }

  // The node that serves `partition`, and one that does not.
  static std::pair<ServiceInstance*, ServiceInstance*> owner_and_other(int partition) {
    ServiceInstance* owner = nullptr;
    ServiceInstance* other = nullptr;
    for (auto& n : nodes_) (serving(*n).contains(partition) ? owner : other) = n.get();
    return {owner, other};
  }

  // What another instance of the cluster sends with a forwarded request.
  static std::map<std::string, std::string> as_peer(const std::string& target,
                                                    const std::string& hops) {
    return {
        {"X-Xbanku-Hops", hops},
        {std::string(cluster::kPeerHeader), secrets_->peer_credential("node-0", "GET", target)}};
  }
  static std::map<std::string, std::string> admin() { return bearer(admin_); }

  static std::vector<std::unique_ptr<ServiceInstance>> nodes_;
  static std::unique_ptr<Secrets> secrets_;
  static std::string admin_;
};
std::vector<std::unique_ptr<ServiceInstance>> Cluster::nodes_;
std::unique_ptr<Secrets> Cluster::secrets_;
std::string Cluster::admin_;

TEST_F(Cluster, QueryToANonOwnerIsAnsweredByTheOwner) {
  const auto id = create_account(*nodes_[0], "forwarded");
  auto [owner, other] = owner_and_other(kPlacement.partition_of(id));
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(other, nullptr);
  const auto deposit = other->post("/accounts/" + id + "/deposit", R"({"amount":250})");
  ASSERT_EQ(deposit.status, 200) << deposit.body;  // read-your-writes through the owner
  EXPECT_EQ(deposit.json().at("balance").as_int64(), 250);

  // Without standbys the owner answers (forwarded); with them `other` shadows the partition
  // and answers itself, as fresh as its read-your-writes deposit left it.
  const auto& answering = standbys() > 0 ? *other : *owner;
  const char* role = standbys() > 0 ? "standby" : "owner";
  const double forwarded_before = metric(*other, R"(xbanku_forwarded_requests_total{result="ok"})");
  const auto r = other->get("/accounts/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("balance").as_int64(), 250);
  EXPECT_EQ(header(r, "X-Served-By"), answering.options().instance_id);
  EXPECT_EQ(header(r, "X-Served-Role"), role);
  EXPECT_EQ(metric(*other, R"(xbanku_forwarded_requests_total{result="ok"})"),
            forwarded_before + (standbys() > 0 ? 0 : 1));

  const auto events = other->get("/accounts/" + id + "/events");
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_EQ(events.json().at("events").as_array().size(), 2u);
  EXPECT_EQ(header(events, "X-Served-By"), answering.options().instance_id);

  // The account list merges every owner's page: the same through each instance.
  const auto listed = nodes_[0]->get("/accounts?limit=1000");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.body.find(id), std::string::npos);
  for (auto& n : nodes_)
    EXPECT_EQ(n->get("/accounts?limit=1000").body, listed.body) << n->options().instance_id;

  // An account that does not exist, in the same (owner's) partition: the owner says so.
  std::string absent;
  for (int i = 0; absent.empty(); ++i) {
    auto candidate = fmt::format("7d3c3f4e-1111-4222-8333-{:012}", i);
    if (kPlacement.partition_of(candidate) == kPlacement.partition_of(id)) absent = candidate;
  }
  // A standby's miss is not definite (the account may be a moment old): the owner says so.
  const auto missing = other->get("/accounts/" + absent);
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(header(missing, "X-Served-By"), owner->options().instance_id);
}

TEST_F(Cluster, AForwardedRequestIsNeverForwardedAgain) {
  const auto id = create_account(*nodes_[1], "hop limit");
  auto [owner, other] = owner_and_other(kPlacement.partition_of(id));
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(other, nullptr);
  const double ok_before = metric(*other, R"(xbanku_forwarded_requests_total{result="ok"})");
  const double failed_before =
      metric(*other, R"(xbanku_forwarded_requests_total{result="failed"})");
  // As if another instance had forwarded it here: `other` must answer itself. Without standbys
  // it never owned this account's partition, so it has no copy: 503 with Retry-After, never a
  // wrong 404. A standby has a current copy and answers it.
  const auto target = "/accounts/" + id;
  const auto r =
      http_request("127.0.0.1", other->port(), verb::get, target, {}, as_peer(target, "1"));
  if (standbys() > 0) {
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(header(r, "X-Served-Role"), "standby");
  } else {
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(header(r, "Retry-After"), "1");
  }
  EXPECT_EQ(header(r, "X-Served-By"), other->options().instance_id);
  EXPECT_EQ(metric(*other, R"(xbanku_forwarded_requests_total{result="ok"})"), ok_before);
  EXPECT_EQ(metric(*other, R"(xbanku_forwarded_requests_total{result="failed"})"), failed_before);
  // The owner answers a forwarded request for its own partition.
  const auto direct =
      http_request("127.0.0.1", owner->port(), verb::get, target, {}, as_peer(target, "1"));
  EXPECT_EQ(direct.status, 200) << direct.body;
  const auto bad =
      http_request("127.0.0.1", other->port(), verb::get, target, {}, as_peer(target, "lots"));
  EXPECT_EQ(bad.status, 400) << bad.body;
  // A client's X-Xbanku-Hops (a token, no peer credential) is ignored: it is forwarded (or,
  // with standbys, answered by `other` as a client's request is).
  auto client_hops = admin();
  client_hops["X-Xbanku-Hops"] = "1";
  const auto ignored = http_request("127.0.0.1", other->port(), verb::get, target, {}, client_hops);
  EXPECT_EQ(ignored.status, 200) << ignored.body;
  EXPECT_EQ(header(ignored, "X-Served-By"),
            (standbys() > 0 ? other : owner)->options().instance_id);
  if (standbys() > 0) {
    // Not forwarded at all: the hop count of a client is not what kept it here.
    EXPECT_EQ(metric(*other, R"(xbanku_forwarded_requests_total{result="ok"})"), ok_before);
  }
  // A forwarded listing for a partition `other` does not serve: 503, not a short page.
  const auto list_target = "/accounts?partitions=" + std::to_string(kPlacement.partition_of(id));
  const auto list = http_request("127.0.0.1", other->port(), verb::get, list_target, {},
                                 as_peer(list_target, "1"));
  EXPECT_EQ(list.status, 503) << list.body;
}

// A WebSocket client whose frames are read by a thread into a queue, so that the test can wait
// for one with a deadline.
class WsClient {
 public:
  WsClient(unsigned short port, const std::string& token) : ws_(io_) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    ws_.next_layer().connect(ep);
    ws_.set_option(boost::beast::websocket::stream_base::decorator(
        [token](boost::beast::websocket::request_type& req) {
          req.set(boost::beast::http::field::authorization, "Bearer " + token);
        }));
    ws_.handshake("127.0.0.1", "/ws");
    reader_ = std::thread([this] {
      try {
        for (;;) {
          boost::beast::flat_buffer buffer;
          ws_.read(buffer);
          std::lock_guard lock(mutex_);
          frames_.push_back(json::parse(boost::beast::buffers_to_string(buffer.data())));
          cv_.notify_all();
        }
      } catch (const std::exception&) {
      }
    });
  }
  ~WsClient() {
    boost::system::error_code ec;
    ws_.next_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    ws_.next_layer().close(ec);
    reader_.join();
  }
  void send(const std::string& text) { ws_.write(boost::asio::buffer(text)); }
  // The next frame matching `pred`, skipping others; nullopt after `timeout`.
  template <typename Pred>
  std::optional<json::value> next(Pred pred, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (!frames_.empty()) {
        auto f = std::move(frames_.front());
        frames_.pop_front();
        if (pred(f)) return f;
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && frames_.empty())
        return std::nullopt;
    }
  }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<json::value> frames_;
};

TEST_F(Cluster, ASubscriberSeesTheUpdatesOfEveryPartition) {
  WsClient ws(nodes_[0]->port(), admin_);
  ws.send(R"({"id":1,"op":"subscribe","accounts":"*"})");
  ASSERT_TRUE(ws.next([](const json::value& f) { return f.as_object().contains("ok"); }, 5s));
  // One account on each instance's partitions, made through that instance.
  std::vector<std::string> ids;
  for (auto& n : nodes_) {
    for (int i = 0;; ++i) {
      ASSERT_LT(i, 200) << "no account landed on " << n->options().instance_id;
      auto id = create_account(*n, "subscribed");
      if (serving(*n).contains(kPlacement.partition_of(id))) {
        ids.push_back(id);
        break;
      }
    }
  }
  const auto update_of = [](const std::string& id, std::int64_t balance) {
    return [id, balance](const json::value& f) {
      const auto& o = f.as_object();
      return o.contains("op") && o.at("op").as_string() == "update" &&
             o.at("account").at("id").as_string() == id &&
             o.at("account").at("balance").as_int64() == balance;
    };
  };
  // Node 0 starts following the others once it has a subscriber: deposit until the first
  // update comes through (a few hundred ms), then every later one must come, in order.
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::int64_t balance = 0;
    bool seen = false;
    for (int attempt = 0; attempt < 20 && !seen; ++attempt) {
      const auto r = nodes_[i]->post("/accounts/" + ids[i] + "/deposit", R"({"amount":7})");
      ASSERT_EQ(r.status, 200) << r.body;
      balance += 7;
      seen = ws.next(update_of(ids[i], balance), 500ms).has_value();
    }
    EXPECT_TRUE(seen) << "no update for " << nodes_[i]->options().instance_id;
    for (int k = 0; k < 5; ++k) {
      ASSERT_EQ(nodes_[i]->post("/accounts/" + ids[i] + "/deposit", R"({"amount":1})").status, 200);
      EXPECT_TRUE(ws.next(update_of(ids[i], balance + k + 1), 5s))
          << nodes_[i]->options().instance_id;
    }
  }
}

// Position tokens (DESIGN §8): a client writes through the partition's owner without waiting
// (?wait=false, so no view has folded the record yet when the read arrives) and reads through
// another instance with the position its write returned, 1,000 times. The read must never be
// older than the write: the balance is exactly the deposits so far. With standbys the other
// instance waits for its own shadow; without, it asks the owner with the position.
TEST_F(Cluster, AReadWithTheWritesPositionIsNeverOlderThanTheWrite) {
  const auto id = create_account(*nodes_[0], "positions");
  auto [owner, other] = owner_and_other(kPlacement.partition_of(id));
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(other, nullptr);
  KeepAliveClient writer("127.0.0.1", owner->port(), admin());
  KeepAliveClient reader("127.0.0.1", other->port(), admin());
  constexpr int kRounds = 1000;
  std::map<std::string, int> served;  // "instance role" -> answers
  int older = 0;
  const auto waited = [&] {
    return metric(*other, R"(xbanku_min_position_queries_total{result="waited"})") +
           metric(*other, R"(xbanku_min_position_queries_total{result="owner"})");
  };
  const double waited_before = waited();
  for (int i = 1; i <= kRounds; ++i) {
    const auto w =
        writer.request(verb::post, "/accounts/" + id + "/deposit?wait=false", R"({"amount":1})");
    ASSERT_EQ(w.status, 202) << w.body;
    const auto position = header(w, "X-Position");
    ASSERT_EQ(position, std::string(w.json().at("position").as_string()));
    // The query parameter and the header are the same thing: alternate them.
    const auto r = i % 2 == 0 ? reader.get("/accounts/" + id + "?min_position=" + position)
                              : reader.request(verb::get, "/accounts/" + id, "",
                                               {{"X-Min-Position", position}});
    ASSERT_EQ(r.status, 200) << "round " << i << ": " << r.body;
    if (r.json().at("balance").as_int64() != i) ++older;
    ++served[header(r, "X-Served-By") + " " + header(r, "X-Served-Role")];
  }
  EXPECT_EQ(older, 0) << "reads older than the write they named";
  std::string by;
  for (const auto& [who, n] : served) by += fmt::format(" {}: {};", who, n);
  const double behind = waited() - waited_before;
  std::printf(
      "[positions] %d writes through %s, reads through %s with their position: %d older; %.0f "
      "found %s's view behind the position (waited for it, or asked the owner);%s\n",
      kRounds, owner->options().instance_id.c_str(), other->options().instance_id.c_str(), older,
      behind, other->options().instance_id.c_str(), by.c_str());
  // The reads must have met a view behind the write, or this test would prove nothing.
  EXPECT_GT(behind, 0) << "no read found the reader's view behind the write";

  // A position nobody has reached: 504 after the bound, never the older balance.
  const auto far = std::to_string(kPlacement.partition_of(id)) + ":999999999";
  const auto unreached = reader.get("/accounts/" + id + "?min_position=" + far);
  EXPECT_EQ(unreached.status, 504) << unreached.body;
  EXPECT_NE(unreached.body.find("position_not_reached"), std::string::npos) << unreached.body;
  // Another partition's position does not hold the query up.
  const auto elsewhere =
      std::to_string((kPlacement.partition_of(id) + 1) % kPartitions) + ":999999999";
  EXPECT_EQ(reader.get("/accounts/" + id + "?min_position=" + elsewhere).status, 200);
  // A malformed one is refused.
  EXPECT_EQ(reader.get("/accounts/" + id + "?min_position=3").status, 400);
  EXPECT_EQ(reader.request(verb::get, "/accounts/" + id, "", {{"X-Min-Position", "1:-2"}}).status,
            400);
}

// One command of the load, and what its sender was told.
struct Sent {
  std::string id;  // Idempotency-Key = CommandId
  std::string kind, account, target;
  std::int64_t amount = 0;
  int status = 0;  // 0 = no answer (its instance died mid-request)
  std::chrono::steady_clock::time_point answered_at{};  // when the last attempt returned
};

TEST_F(Cluster, FailoverUnderLoadLosesNothingAndAppliesNothingTwice) {
  constexpr std::size_t kCommands = 20000;
  constexpr std::size_t kSeedAccounts = 300;
  constexpr int kSenders = 6;  // two per instance
  std::mt19937_64 rng(20261126);

  // Money already in the view (earlier tests of this suite), so that the load's effect is exact.
  std::int64_t balances_before = 0;
  for (std::string after;;) {
    const auto r =
        nodes_[0]->get("/accounts?limit=1000" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto v = r.json();
    for (const auto& a : v.at("accounts").as_array()) balances_before += a.at("balance").as_int64();
    if (v.at("next").is_null()) break;
    after = std::string(v.at("next").as_string());
  }

  std::vector<std::string> accounts;
  for (std::size_t i = 0; i < kSeedAccounts; ++i) {
    accounts.push_back(create_account(*nodes_[i % kNodes], fmt::format("seed {}", i)));
    ASSERT_FALSE(accounts.back().empty());
  }
  // The seeded mix: creates, deposits, withdrawals and transfers (same and cross partition).
  std::vector<Sent> load(kCommands);
  std::uniform_int_distribution<std::size_t> pick(0, accounts.size() - 1);
  std::uniform_int_distribution<int> kind(0, 99);
  std::uniform_int_distribution<std::int64_t> amount(1, 2000);
  for (std::size_t i = 0; i < kCommands; ++i) {
    Sent& s = load[i];
    s.id = fmt::format("fo-{}", i);
    s.account = accounts[pick(rng)];
    s.amount = amount(rng);
    const int k = kind(rng);
    if (k < 3) {
      s.kind = "create";
    } else if (k < 45) {
      s.kind = "deposit";
    } else if (k < 65) {
      s.kind = "withdraw";
    } else {
      s.kind = "transfer";
      s.target = accounts[pick(rng)];
      // 1 in 20 transfers goes to an account that does not exist: refunded when it lives in
      // another partition (the credit fails there), rejected at once when in the same one.
      if (k >= 97) s.target = fmt::format("00000000-0000-4000-8000-{:012}", i);
    }
  }

  // Watches which partitions are served, every 50 ms, for the whole run.
  std::atomic<bool> done{false};
  double longest_gap_s = 0;
  std::thread monitor([&] {
    std::optional<std::chrono::steady_clock::time_point> gap_start;
    while (!done) {
      std::set<int> all;
      for (auto& n : nodes_) {
        auto s = serving(*n);
        all.insert(s.begin(), s.end());
      }
      const auto now = std::chrono::steady_clock::now();
      if (all.size() < kPartitions) {
        if (!gap_start) gap_start = now;
        longest_gap_s =
            std::max(longest_gap_s, std::chrono::duration<double>(now - *gap_start).count());
      } else {
        gap_start.reset();
      }
      std::this_thread::sleep_for(50ms);
    }
  });

  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> finished{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      std::vector<std::unique_ptr<KeepAliveClient>> clients;
      for (auto& n : nodes_)
        clients.push_back(std::make_unique<KeepAliveClient>("127.0.0.1", n->port(), admin()));
      for (std::size_t i; (i = next++) < kCommands;) {
        Sent& s = load[i];
        std::string target, body;
        if (s.kind == "create") {
          target = "/accounts";
          body = R"({"name":"load"})";
        } else if (s.kind == "transfer") {
          target = "/transfers";
          body = fmt::format(R"({{"from":"{}","to":"{}","amount":{}}})", s.account, s.target,
                             s.amount);
        } else {
          target = fmt::format("/accounts/{}/{}", s.account, s.kind);
          body = fmt::format(R"({{"amount":{}}})", s.amount);
        }
        // Like a load balancer: this sender's instance first, the next one if it is down.
        for (int attempt = 0; attempt < kNodes && s.status == 0; ++attempt) {
          auto& client = *clients[(t + attempt) % kNodes];
          const auto r = client.request(verb::post, target, body, {{"Idempotency-Key", s.id}});
          s.status = r.status;
          s.answered_at = std::chrono::steady_clock::now();
        }
        ++finished;
      }
    });
  }

  // Kill node 1 a third of the way in; restart it with the same --instance-id two thirds in.
  auto& victim = *nodes_[1];
  ASSERT_TRUE(wait_until([&] { return finished >= kCommands / 3; }, 600s, 10ms));
  const auto victims_partitions = serving(victim);
  victim.kill9();
  const auto killed_at = std::chrono::steady_clock::now();
  // Poison records in the dead instance's partitions while nobody owns them: each must still
  // reach the dead-letter topic (folded by a standby, or replayed by the new owner).
  const auto& topic = nodes_[0]->options().topic;
  std::vector<std::string> poison;
  for (const int p : victims_partitions) {
    poison.push_back(fmt::format("poison-{}-{}", p, unique_suffix()));
    const std::string file = nodes_[0]->options().data_dir + "-" + poison.back() + ".txt";
    { std::ofstream(file) << poison.back() << "\n"; }
    const auto produced = run(
        {"/usr/bin/kcat", "-P", "-b", kBrokers, "-t", topic, "-p", std::to_string(p), "-l", file},
        file + ".log", 30s);
    ASSERT_EQ(produced.exit_code, 0) << produced.output;
  }
  const auto dead_letters = [&] {
    return run(
        {"/usr/bin/kcat", "-C", "-b", kBrokers, "-t", topic + ".dlq", "-e", "-q", "-f", "%s\n"},
        nodes_[0]->options().data_dir + "-dlq.log", 60s);
  };
  // The dead instance stays down until the others have taken its partitions over (its session
  // timed out) and every poison record reached the dead-letter topic: with standbys the new
  // owners had folded them already, as shadows, and send them on promotion.
  ASSERT_TRUE(wait_until(
      [&] {
        std::set<int> all;
        for (auto& n : nodes_) {
          if (n.get() == &victim) continue;
          const auto s = serving(*n);
          all.insert(s.begin(), s.end());
        }
        return all.size() == static_cast<std::size_t>(kPartitions);
      },
      60s, 100ms));
  ASSERT_TRUE(wait_until(
      [&] {
        const auto letters = dead_letters();
        return std::all_of(poison.begin(), poison.end(), [&](const std::string& v) {
          return letters.output.find(v) != std::string::npos;
        });
      },
      30s, 500ms))
      << "poison records of the dead instance's partitions were not dead-lettered";
  ASSERT_TRUE(wait_until([&] { return finished >= 2 * kCommands / 3; }, 600s, 10ms));
  const auto relaunched_at = std::chrono::steady_clock::now();
  victim.launch();
  ASSERT_TRUE(wait_until([&] { return victim.get("/readyz").status == 200; }, 120s, 20ms))
      << victim.output();
  const double catch_up_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - relaunched_at).count();
  for (auto& s : senders) s.join();
  const double down_s = std::chrono::duration<double>(relaunched_at - killed_at).count();

  // Quiesce: every instance serving, and no cross-partition transfer still on its way.
  ASSERT_TRUE(wait_until(
      [&] {
        for (auto& n : nodes_) {
          if (n->get("/readyz").status != 200) return false;
        }
        return true;
      },
      120s, 100ms));
  done = true;
  monitor.join();

  // The clients' view of the failover: from the kill to the restart, the longest interval in
  // which no command got a definite answer (2xx, or a 4xx rejection), and the 503s and 504s.
  std::vector<std::chrono::steady_clock::time_point> definite;
  std::size_t answered_503 = 0, answered_504 = 0;
  for (const auto& s : load) {
    if (s.answered_at < killed_at || s.answered_at > relaunched_at) continue;
    if (s.status == 503) ++answered_503;
    if (s.status == 504) ++answered_504;
    if (s.status >= 200 && s.status < 500) definite.push_back(s.answered_at);
  }
  definite.push_back(killed_at);
  definite.push_back(relaunched_at);
  std::sort(definite.begin(), definite.end());
  double longest_silence_s = 0;
  for (std::size_t i = 1; i < definite.size(); ++i) {
    longest_silence_s = std::max(
        longest_silence_s, std::chrono::duration<double>(definite[i] - definite[i - 1]).count());
  }

  // 1. Every command that got an answer has exactly one outcome; none is left pending.
  std::map<std::string, std::int64_t> expected_delta;  // from applied deposits and withdrawals
  std::int64_t deposits = 0, withdrawals = 0;
  std::size_t acknowledged = 0, unanswered = 0, transfers_completed = 0, transfers_refunded = 0,
              rejected = 0;
  KeepAliveClient reader("127.0.0.1", nodes_[0]->port(), admin());
  for (auto& s : load) {
    if (s.status == 0) ++unanswered;
    json::value outcome;
    ASSERT_TRUE(wait_until(
        [&] {
          const auto r = reader.get("/commands/" + s.id);
          if (r.status == 404 && (s.status == 0 || s.status == 503)) return true;  // never written
          if (r.status != 200) return false;
          outcome = r.json();
          return outcome.at("status").as_string() != "pending";
        },
        60s, 100ms))
        << s.id << " answered " << s.status << " has no final outcome";
    const bool answered = s.status >= 200 && s.status < 500 && s.status != 400;
    if (answered || s.status == 504) {
      ++acknowledged;
      ASSERT_TRUE(outcome.is_object())
          << s.id << " was answered " << s.status << " but has no outcome";
    }
    if (!outcome.is_object()) continue;
    const auto status = outcome.at("status").as_string();
    if (status == "rejected") ++rejected;
    if (s.kind == "deposit" && status == "applied") deposits += s.amount;
    if (s.kind == "withdraw" && status == "applied") withdrawals += s.amount;
    if (s.kind == "transfer" && status == "completed") ++transfers_completed;
    if (s.kind == "transfer" && status == "refunded") ++transfers_refunded;
  }

  // 2. Every account reads the same through each instance; money is conserved; no command
  //    appears twice in any history.
  std::vector<std::string> all_ids;
  for (std::string after;;) {
    const auto r = reader.get("/accounts?limit=1000" + (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto v = r.json();
    for (const auto& a : v.at("accounts").as_array()) all_ids.emplace_back(a.at("id").as_string());
    if (v.at("next").is_null()) break;
    after = std::string(v.at("next").as_string());
  }
  std::int64_t balances = 0;
  std::size_t duplicates = 0;
  std::vector<std::unique_ptr<KeepAliveClient>> clients;
  for (auto& n : nodes_)
    clients.push_back(std::make_unique<KeepAliveClient>("127.0.0.1", n->port(), admin()));
  for (const auto& id : all_ids) {
    std::string first;
    for (auto& c : clients) {
      const auto r = c->get("/accounts/" + id);
      ASSERT_EQ(r.status, 200) << id << ": " << r.body;
      EXPECT_TRUE(header(r, "X-Stale").empty()) << id;
      if (first.empty()) {
        first = r.body;
        balances += r.json().at("balance").as_int64();
      } else {
        EXPECT_EQ(r.body, first) << "instances disagree on " << id;
      }
    }
    std::set<std::string> seen;
    for (std::string after;;) {
      const auto r = reader.get("/accounts/" + id + "/events?limit=1000" +
                                (after.empty() ? "" : "&after=" + after));
      ASSERT_EQ(r.status, 200) << r.body;
      const auto v = r.json();
      for (const auto& e : v.at("events").as_array()) {
        const auto* cmd = e.as_object().if_contains("command_id");
        // Within one account's history a command appears at most once.
        if (cmd != nullptr && !seen.insert(std::string(cmd->as_string())).second) ++duplicates;
      }
      if (v.at("next").is_null()) break;
      after = std::string(v.at("next").as_string());
    }
  }
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(balances - balances_before, deposits - withdrawals)
      << "before " << balances_before << " deposits " << deposits << " withdrawals " << withdrawals;

  // Every poison record has at least one dead letter (a promotion, or the dead instance's own
  // replay once it is back, may send one twice: their headers name the record).
  const auto dlq = dead_letters();
  ASSERT_EQ(dlq.exit_code, 0) << dlq.output;
  std::size_t letters = 0;
  for (const auto& value : poison) {
    std::size_t copies = 0;
    for (auto at = dlq.output.find(value); at != std::string::npos;
         at = dlq.output.find(value, at + 1))
      ++copies;
    EXPECT_GE(copies, 1u) << value << " was never dead-lettered";
    letters += copies;
  }

  // 3. --act=verify on each instance (stopped: verify opens the store itself).
  for (auto& n : nodes_) ASSERT_EQ(n->stop(), 0) << n->output();
  for (auto& n : nodes_) {
    const auto v = verify(n->options());
    EXPECT_EQ(v.exit_code, 0) << n->options().instance_id << ":\n" << v.output;
  }

  std::printf(
      "[failover] %zu commands, %zu acknowledged, %zu without an answer, %zu rejected; transfers "
      "%zu completed, "
      "%zu refunded; %zu accounts; balances %lld - %lld before = deposits %lld - withdrawals %lld\n"
      "[failover] node-1 down %.2f s; longest interval with a partition unserved %.2f s; "
      "catch-up of the restarted node (launch to ready) %.2f s\n"
      "[failover] --standby-replicas %d: longest interval without a definite answer %.2f s "
      "(goal <= 0.5 s); while node-1 was down: %zu answered 504, %zu answered 503 (goal 0 and "
      "0); %zu poison records in its partitions meanwhile: %zu dead letters\n",
      kCommands, acknowledged, unanswered, rejected, transfers_completed, transfers_refunded,
      all_ids.size(), static_cast<long long>(balances), static_cast<long long>(balances_before),
      static_cast<long long>(deposits), static_cast<long long>(withdrawals), down_s, longest_gap_s,
      catch_up_s, standbys(), longest_silence_s, answered_504, answered_503, poison.size(),
      letters);
}

}  // namespace
}  // namespace xbanku::test
