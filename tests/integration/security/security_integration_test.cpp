// Security end to end (DESIGN §9), against real `xbanku` processes with --auth=jwt, the real
// broker, and tokens minted with the service's auth module:
//   - the authorization matrix: every route and WebSocket op × {no token, expired, wrong
//     signature, wrong audience, alg none, read scope, another principal's write scope, owner,
//     admin} → the exact status, and nothing written on a refusal (the topic's end offsets);
//   - peers: a client's X-Xbanku-Hops is ignored, a forged X-Xbanku-Peer is refused, a forged
//     member announcement written with a plain Kafka producer is ignored and nothing is
//     forwarded to its URL;
//   - TLS: HTTPS (curl and Beast) and WSS with a throwaway CA, forwarding and peer feeds over
//     TLS between two instances;
//   - fairness: 1,024 idle connections from one address leave /healthz and other clients
//     answered, the rate limit answers 429, a client that leaves mid-wait frees its slot.
// The matrix's counts and the flood's figures are printed.
#include "support/secured.hpp"
#include "support/service_instance.hpp"
#include "support/tls_client.hpp"
#include "support/ws_client.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/domain/uuid.hpp"
#include "xbanku/log/admin.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

namespace xbanku::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using boost::beast::http::verb;

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (boost::beast::iequals(k, name)) return v;
  }
  return {};
}

// The sum of the topic's end offsets: how many records were ever written to it.
std::int64_t records_in(const std::string& topic) {
  boost::asio::io_context io;
  std::int64_t sum = -1;
  log::KafkaConfig cfg;
  cfg.brokers = kBrokers;
  cfg.client_id = "xbanku-security-test";
  cfg.request_timeout = 5s;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto ends = co_await log::end_offsets(io.get_executor(), cfg, topic);
        if (!ends) co_return;
        sum = 0;
        for (const auto& [p, end] : *ends) sum += end;
      },
      boost::asio::detached);
  io.run();
  return sum;
}

double metric(const ServiceInstance& node, const std::string& token, const std::string& series) {
  const auto body =
      http_request("127.0.0.1", node.port(), verb::get, "/metrics", {}, bearer(token), 5s).body;
  // A sample line is "<series> <value>"; "# HELP <series> ..." and "# TYPE" lines are not.
  const auto at = body.find("\n" + series + " ");
  return at == std::string::npos ? -1.0 : std::stod(body.substr(at + series.size() + 2));
}

// The partitions an instance serves, from /readyz (open to all).
std::set<int> serving(unsigned short port, bool tls = false, const std::string& ca = {}) {
  std::set<int> out;
  const auto r = tls ? https_request(port, ca, verb::get, "/readyz")
                     : http_request("127.0.0.1", port, verb::get, "/readyz", {}, {}, 2s);
  const auto v = r.json();
  if (const auto* o = v.if_object(); o != nullptr && o->contains("serving")) {
    for (const auto& p : o->at("serving").as_array()) out.insert(static_cast<int>(p.as_int64()));
  }
  return out;
}

// A fresh account id in `partition` (ids are client-chosen UUIDs when given).
std::string id_in(const domain::Placement& placement, int partition) {
  for (;;) {
    auto id = domain::new_uuid();
    if (placement.partition_of(id) == partition) return id;
  }
}

// ---------------------------------------------------------------------------------------------
// The authorization matrix.

class Matrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto o = fresh_instance("authz", 3);
    secrets_ = new Secrets(Secrets::create(o.data_dir + "-secrets"));
    o.extra_args = secrets_->flags();
    node_ = new ServiceInstance(o);
    ASSERT_TRUE(node_->start()) << node_->output();
  }
  static void TearDownTestSuite() {
    if (node_ != nullptr) node_->stop();
    delete node_;
    delete secrets_;
    node_ = nullptr;
    secrets_ = nullptr;
  }
  static ServiceInstance* node_;
  static Secrets* secrets_;
};
ServiceInstance* Matrix::node_ = nullptr;
Secrets* Matrix::secrets_ = nullptr;

struct Identity {
  std::string name;
  std::string token;  // empty: none sent
  bool valid = false;
};

TEST_F(Matrix, EveryRouteAndOpAnswersEachCallerExactly) {
  const Secrets& s = *secrets_;
  const std::string other_secret = random_secret();
  const auto alice = s.token("alice", {"accounts:write"});
  const auto bob = s.token("bob", {"accounts:write"});
  const auto admin = s.token("root", {"admin"});
  const std::vector<Identity> identities{
      {"no token", "", false},
      {"expired", s.token("alice", {"accounts:write"}, -60s), false},
      {"wrong signature", s.token("alice", {"accounts:write"}, 1h, "xbanku", &other_secret), false},
      {"wrong audience", s.token("alice", {"accounts:write"}, 1h, "another-service"), false},
      {"alg none", alg_none(alice), false},
      {"read scope", s.token("alice", {"accounts:read"}), true},
      {"another principal", bob, true},
      {"owner", alice, true},
      {"admin", admin, true},
  };
  auto as = [&](const std::string& token, verb v, const std::string& target,
                const std::string& body = {}) {
    auto h = token.empty() ? std::map<std::string, std::string>{} : bearer(token);
    if (v == verb::post) h["Content-Type"] = "application/json";
    return http_request("127.0.0.1", node_->port(), v, target, body, h, 15s);
  };

  // Alice's account A and Bob's account B, with money; a transfer from A to B.
  auto created = as(alice, verb::post, "/accounts", R"({"name":"Alice"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string a = std::string(created.json().at("id").as_string());
  const std::string a_command = header(created, "X-Command-Id");
  EXPECT_EQ(created.json().at("owner"), "alice");
  created = as(bob, verb::post, "/accounts", R"({"name":"Bob"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string b = std::string(created.json().at("id").as_string());
  ASSERT_EQ(as(alice, verb::post, "/accounts/" + a + "/deposit", R"({"amount":1000})").status, 200);
  ASSERT_EQ(as(bob, verb::post, "/accounts/" + b + "/deposit", R"({"amount":1000})").status, 200);
  const auto t = as(alice, verb::post, "/transfers",
                    fmt::format(R"({{"from":"{}","to":"{}","amount":1}})", a, b));
  ASSERT_EQ(t.status, 200) << t.body;
  const std::string transfer = std::string(t.json().at("transfer_id").as_string());

  struct Op {
    std::string name;
    verb method;
    std::string target, body;
    bool writes;
    // Expected status for read scope, another principal, owner, admin; invalid tokens → 401.
    std::array<int, 4> expect;
    bool open = false;  // answers everyone, token or not
  };
  const std::vector<Op> ops{
      {"create", verb::post, "/accounts", R"({"name":"Matrix"})", true, {403, 201, 201, 201}},
      {"deposit",
       verb::post,
       "/accounts/" + a + "/deposit",
       R"({"amount":1})",
       true,
       {403, 404, 200, 200}},
      {"withdraw",
       verb::post,
       "/accounts/" + a + "/withdraw",
       R"({"amount":1})",
       true,
       {403, 404, 200, 200}},
      {"transfer from",
       verb::post,
       "/transfers",
       fmt::format(R"({{"from":"{}","to":"{}","amount":1}})", a, b),
       true,
       {403, 404, 200, 200}},
      {"transfer to",
       verb::post,
       "/transfers",
       fmt::format(R"({{"from":"{}","to":"{}","amount":1}})", b, a),
       true,
       {403, 200, 404, 200}},
      {"read", verb::get, "/accounts/" + a, "", false, {200, 404, 200, 200}},
      {"history", verb::get, "/accounts/" + a + "/events", "", false, {200, 404, 200, 200}},
      {"list", verb::get, "/accounts", "", false, {200, 200, 200, 200}},
      {"command", verb::get, "/commands/" + a_command, "", false, {200, 404, 200, 404}},
      {"transfer state",
       verb::get,
       "/transfers/" + transfer + "?to=" + b,
       "",
       false,
       {403, 403, 403, 200}},
      {"metrics", verb::get, "/metrics", "", false, {403, 403, 403, 200}},
      {"healthz", verb::get, "/healthz", "", false, {200, 200, 200, 200}, true},
      {"readyz", verb::get, "/readyz", "", false, {200, 200, 200, 200}, true},
      {"openapi", verb::get, "/openapi.json", "", false, {200, 200, 200, 200}, true},
  };

  std::map<int, int> by_status;
  int cells = 0, refused = 0, refused_writes = 0;
  std::int64_t records = records_in(node_->options().topic);
  ASSERT_GE(records, 0);
  for (std::size_t i = 0; i < identities.size(); ++i) {
    const auto& who = identities[i];
    for (const auto& op : ops) {
      const int expected = op.open ? 200 : !who.valid ? 401 : op.expect[i - 5];
      const auto r = as(who.token, op.method, op.target, op.body);
      ++cells;
      ++by_status[r.status];
      EXPECT_EQ(r.status, expected) << who.name << " × " << op.name << ": " << r.body;
      if (expected == 401) {
        EXPECT_TRUE(header(r, "WWW-Authenticate").starts_with("Bearer realm=\"xbanku\""))
            << who.name << " × " << op.name;
      }
      if (r.status == 403 && op.name != "metrics" && op.name != "transfer state") {
        EXPECT_NE(header(r, "WWW-Authenticate").find("insufficient_scope"), std::string::npos);
      }
      if (op.writes) {
        // An accepted cross-partition transfer's credit is written after its answer: wait for
        // the topic to settle, so that the next cell counts only its own records.
        auto now = records_in(node_->options().topic);
        for (int poll = 0; r.status < 400 && poll < 20; ++poll) {
          std::this_thread::sleep_for(100ms);
          const auto again = records_in(node_->options().topic);
          if (again == now && poll >= 2) break;
          now = again;
        }
        if (r.status >= 400) {
          ++refused_writes;
          EXPECT_EQ(now, records) << who.name << " × " << op.name << " wrote to the topic";
        } else {
          EXPECT_GT(now, records) << who.name << " × " << op.name;
        }
        records = now;
      }
      if (r.status >= 400) ++refused;
      if (op.name == "list" && r.status == 200) {
        const bool lists_a = r.body.find(a) != std::string::npos;
        const bool lists_b = r.body.find(b) != std::string::npos;
        EXPECT_EQ(lists_a, who.name != "another principal") << who.name;
        EXPECT_EQ(lists_b, who.name == "another principal" || who.name == "admin") << who.name;
      }
    }
  }

  // The WebSocket: the token on the upgrade, then each op.
  struct WsOp {
    std::string name, message;
    std::array<std::string, 4> expect;  // "ok" or the error code
  };
  const std::vector<WsOp> ws_ops{
      {"get",
       fmt::format(R"({{"id":1,"op":"get","account":"{}"}})", a),
       {"ok", "account_not_found", "ok", "ok"}},
      {"deposit",
       fmt::format(R"({{"id":2,"op":"deposit","account":"{}","amount":1}})", a),
       {"forbidden", "account_not_found", "ok", "ok"}},
      {"subscribe",
       fmt::format(R"({{"id":3,"op":"subscribe","accounts":["{}"]}})", a),
       {"ok", "account_not_found", "ok", "ok"}},
      {"subscribe *",
       R"({"id":4,"op":"subscribe","accounts":"*"})",
       {"forbidden", "forbidden", "forbidden", "ok"}},
      {"command",
       fmt::format(R"({{"id":5,"op":"command","command_id":"{}"}})", a_command),
       {"ok", "command_not_found", "ok", "command_not_found"}},
  };
  int ws_cells = 0, ws_refused = 0;
  for (std::size_t i = 0; i < identities.size(); ++i) {
    const auto& who = identities[i];
    ++ws_cells;
    std::unique_ptr<WsClient> ws;
    try {
      ws = std::make_unique<WsClient>("127.0.0.1", node_->port(), who.token);
    } catch (const boost::system::system_error& e) {
      EXPECT_FALSE(who.valid) << who.name << ": upgrade refused: " << e.what();
      EXPECT_EQ(e.code(), boost::beast::websocket::error::upgrade_declined) << who.name;
      ++ws_refused;
      continue;
    }
    EXPECT_TRUE(who.valid) << who.name << ": the upgrade was accepted";
    if (!who.valid) continue;
    for (const auto& op : ws_ops) {
      ++ws_cells;
      const auto before = records_in(node_->options().topic);
      const auto reply = ws->call(json::parse(op.message).as_object());
      std::string got = "ok";
      if (const auto* e = reply.if_contains("error")) {
        got = std::string(e->at("code").as_string());
        ++ws_refused;
      }
      EXPECT_EQ(got, op.expect[i - 5])
          << who.name << " × ws " << op.name << ": " << json::serialize(reply);
      if (got != "ok") {
        EXPECT_EQ(records_in(node_->options().topic), before)
            << who.name << " × ws " << op.name << " wrote to the topic";
      }
    }
  }
  std::string statuses;
  for (const auto& [status, n] : by_status) statuses += fmt::format(" {}×{}", n, status);
  std::printf(
      "authorization matrix: %d HTTP cells (%d refused, %d of them writes; statuses:%s) and "
      "%d WebSocket cells (%d refused); nothing written on any refusal\n",
      cells, refused, refused_writes, statuses.c_str(), ws_cells, ws_refused);
}

// ---------------------------------------------------------------------------------------------
// Two instances with a shared cluster secret: peers prove themselves.

// Accepts connections on 127.0.0.1 and counts them (where a forged announcement points).
class Honeypot {
 public:
  Honeypot() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Honeypot() {
    io_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  [[nodiscard]] int connections() const { return connections_; }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket) {
      if (ec) return;
      ++connections_;
      accept();
    });
  }
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

class Peers : public ::testing::Test {
 protected:
  static constexpr int kPartitions = 4;
  static void SetUpTestSuite() {
    const auto base = fresh_instance("peers", kPartitions);
    secrets_ = new Secrets(Secrets::create(base.data_dir + "-secrets"));
    for (int i = 0; i < 2; ++i) {
      auto o = base;
      o.data_dir = base.data_dir + "-node" + std::to_string(i);
      o.instance_id = "node-" + std::to_string(i);
      o.extra_args = secrets_->flags();
      // No standbys: these tests are about what a query that needs the other instance may
      // carry, and a caught-up standby would answer it here instead (when is a matter of
      // timing: that made them flaky).
      o.extra_args.insert(o.extra_args.end(), {"--standby-replicas", "0"});
      o.headers = bearer(secrets_->token("root", {"admin"}));
      nodes_.push_back(std::make_unique<ServiceInstance>(o));
    }
    for (auto& n : nodes_) n->launch();
    ASSERT_TRUE(wait_until(
        [] {
          std::set<int> all;
          for (auto& n : nodes_) {
            auto s = serving(n->port());
            if (s.empty()) return false;
            all.insert(s.begin(), s.end());
          }
          return all.size() == kPartitions;
        },
        90s, 100ms))
        << nodes_[0]->output();
    // Serving is not yet knowing: each instance must also have read the other's announcement,
    // or a forwarded query answers 503 for a moment. A listing merges every owner's page, so
    // one that is whole (200, not X-Stale) through each instance says both know each other.
    ASSERT_TRUE(wait_until(
        [] {
          for (auto& n : nodes_) {
            const auto r = n->get("/accounts?limit=1");
            if (r.status != 200 || !header(r, "X-Stale").empty()) return false;
          }
          return true;
        },
        30s, 100ms));
  }
  static void TearDownTestSuite() {
    for (auto& n : nodes_) {
      if (n) n->stop();
    }
    nodes_.clear();
    delete secrets_;
    secrets_ = nullptr;
  }
  // An account of `principal` that node `owner_index` projects.
  static std::string account_at(int owner_index, const std::string& token) {
    const int partition = *serving(nodes_[owner_index]->port()).begin();
    const auto id = id_in(domain::Placement{kPartitions}, partition);
    const auto r =
        http_request("127.0.0.1", nodes_[owner_index]->port(), verb::post, "/accounts",
                     fmt::format(R"({{"id":"{}","name":"Peer test"}})", id), bearer(token));
    EXPECT_EQ(r.status, 201) << r.body;
    return id;
  }
  static std::vector<std::unique_ptr<ServiceInstance>> nodes_;
  static Secrets* secrets_;
};
std::vector<std::unique_ptr<ServiceInstance>> Peers::nodes_;
Secrets* Peers::secrets_ = nullptr;

TEST_F(Peers, OnlyAnInstanceOfTheClusterIsTreatedAsOne) {
  const auto alice = secrets_->token("alice", {"accounts:write"});
  const auto id = account_at(1, alice);
  const auto target = "/accounts/" + id;
  const auto port0 = nodes_[0]->port();

  // A client's X-Xbanku-Hops is ignored: node-0 forwards to the owner as for any client.
  auto h = bearer(alice);
  h["X-Xbanku-Hops"] = "1";
  auto r = http_request("127.0.0.1", port0, verb::get, target, {}, h);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header(r, "X-Served-By"), "node-1");

  // No token, only the peer marker: a client without credentials.
  r = http_request("127.0.0.1", port0, verb::get, target, {}, {{"X-Xbanku-Hops", "1"}});
  EXPECT_EQ(r.status, 401) << r.body;
  // A peer credential made with another secret, or for another request, or garbage: refused.
  Secrets impostor = *secrets_;
  impostor.cluster = random_secret();
  for (const auto& credential :
       {impostor.peer_credential("node-1", "GET", target),
        secrets_->peer_credential("node-1", "GET", "/accounts"), std::string("v1;node-1;0;AAAA")}) {
    r = http_request("127.0.0.1", port0, verb::get, target, {},
                     {{"X-Xbanku-Peer", credential}, {"X-Xbanku-Hops", "1"}});
    EXPECT_EQ(r.status, 401) << credential << ": " << r.body;
  }
  // A genuine credential: answered as a forwarded request (node-0 does not own the account's
  // partition, so it answers 503 itself instead of forwarding again).
  r = http_request("127.0.0.1", port0, verb::get, target, {},
                   {{"X-Xbanku-Peer", secrets_->peer_credential("node-1", "GET", target)},
                    {"X-Xbanku-Hops", "1"}});
  EXPECT_EQ(r.status, 503) << r.body;

  // A client's wait is bounded; an instance's is not.
  r = http_request("127.0.0.1", port0, verb::get, "/commands/nothing?wait_ms=30000", {},
                   bearer(alice));
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(Peers, AForgedMemberAnnouncementIsIgnored) {
  Honeypot honeypot;
  const auto admin = secrets_->token("root", {"admin"});
  const std::string series = "xbanku_member_announcements_rejected_total";
  const double before0 = metric(*nodes_[0], admin, series);
  const double before1 = metric(*nodes_[1], admin, series);
  // Written as any Kafka client could: a new member, and node-1 impersonated, both claiming
  // every partition at the honeypot's URL.
  const auto members = nodes_[0]->options().topic + ".members";
  const auto forged = nodes_[0]->options().data_dir + ".forged";
  {
    std::ofstream out(forged);
    for (const char* who : {"fake-peer", "node-1"}) {
      out << who << '\t'
          << fmt::format(R"({{"instance":"{}","url":"{}","partitions":[0,1,2,3],"ts":{}}})", who,
                         honeypot.url(), unix_now() * 1000)
          << '\n';
    }
  }
  const auto kcat =
      run({"/usr/bin/kcat", "-P", "-b", kBrokers, "-t", members, "-K", "\t", "-l", forged},
          forged + ".log", 30s);
  ASSERT_EQ(kcat.exit_code, 0) << kcat.output;
  ASSERT_TRUE(wait_until(
      [&] {
        return metric(*nodes_[0], admin, series) >= before0 + 2 &&
               metric(*nodes_[1], admin, series) >= before1 + 2;
      },
      20s, 100ms))
      << "the forged announcements were not seen and rejected";

  // Queries that need node-1 still reach node-1, and nothing reaches the honeypot.
  const auto alice = secrets_->token("alice", {"accounts:write"});
  const auto id = account_at(1, alice);
  for (int i = 0; i < 5; ++i) {
    const auto r = http_request("127.0.0.1", nodes_[0]->port(), verb::get, "/accounts/" + id, {},
                                bearer(alice));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(header(r, "X-Served-By"), "node-1");
  }
  const auto unknown = http_request("127.0.0.1", nodes_[0]->port(), verb::get,
                                    "/commands/no-such-command", {}, bearer(alice));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(honeypot.connections(), 0);
}

// ---------------------------------------------------------------------------------------------
// TLS: HTTPS and WSS on the listen port, https between instances.

TEST(Tls, HttpsAndWssWithATestCaAndBetweenInstances) {
  constexpr int kPartitions = 4;
  const auto base = fresh_instance("tls", kPartitions);
  const auto ca = TestCa::create(base.data_dir + "-ca");
  ASSERT_TRUE(ca.error.empty()) << ca.error;
  const auto secrets = Secrets::create(base.data_dir + "-secrets");
  std::vector<std::unique_ptr<ServiceInstance>> nodes;
  for (int i = 0; i < 2; ++i) {
    auto o = base;
    o.data_dir = base.data_dir + "-node" + std::to_string(i);
    o.instance_id = "tls-" + std::to_string(i);
    o.extra_args = secrets.flags();
    auto tls = ca.flags();
    o.extra_args.insert(o.extra_args.end(), tls.begin(), tls.end());
    // No standbys: a read through node 0 must be forwarded to node 1 over https, which a
    // caught-up standby on node 0 would answer itself (as in Peers above).
    o.extra_args.insert(o.extra_args.end(), {"--standby-replicas", "0"});
    nodes.push_back(std::make_unique<ServiceInstance>(o));
  }
  for (auto& n : nodes) n->launch();
  ASSERT_TRUE(wait_until(
      [&] {
        std::set<int> all;
        for (auto& n : nodes) {
          auto s = serving(n->port(), true, ca.ca);
          if (s.empty()) return false;
          all.insert(s.begin(), s.end());
        }
        return all.size() == kPartitions;
      },
      90s, 200ms))
      << nodes[0]->output();
  const auto port0 = nodes[0]->port();
  const auto port1 = nodes[1]->port();

  // curl, verifying against the test CA; without it, verification fails.
  const auto curl_ok =
      run({"/usr/bin/curl", "-sS", "--cacert", ca.ca, "-o", "/dev/null", "-w", "%{http_code}",
           "https://127.0.0.1:" + std::to_string(port0) + "/healthz"},
          base.data_dir + "-curl.log", 30s);
  EXPECT_EQ(curl_ok.exit_code, 0) << curl_ok.output;
  EXPECT_NE(curl_ok.output.find("200"), std::string::npos) << curl_ok.output;
  const auto curl_untrusted = run({"/usr/bin/curl", "-sS", "-o", "/dev/null",
                                   "https://127.0.0.1:" + std::to_string(port0) + "/healthz"},
                                  base.data_dir + "-curl2.log", 30s);
  EXPECT_EQ(curl_untrusted.exit_code, 60) << curl_untrusted.output;  // peer certificate
  // Plain HTTP on the TLS port gets no HTTP answer.
  EXPECT_EQ(http_request("127.0.0.1", port0, verb::get, "/healthz", {}, {}, 3s).status, 0);

  // An account of alice that node 1 projects; read through node 0: forwarded over https.
  const auto alice = secrets.token("alice", {"accounts:write"});
  const int partition = *serving(port1, true, ca.ca).begin();
  const auto id = id_in(domain::Placement{kPartitions}, partition);
  auto r = https_request(port1, ca.ca, verb::post, "/accounts",
                         fmt::format(R"({{"id":"{}","name":"TLS"}})", id), bearer(alice));
  ASSERT_EQ(r.status, 201) << r.body << r.error;
  // Node 0 answers 503 until node 1's ownership announcement has reached it.
  wait_until(
      [&] {
        r = https_request(port0, ca.ca, verb::get, "/accounts/" + id, {}, bearer(alice));
        return r.status != 503;
      },
      10s, 100ms);
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(header(r, "X-Served-By"), "tls-1");
  // A request with the peer marker but no credential is a client's, and has no token.
  r = https_request(port0, ca.ca, verb::get, "/accounts/" + id, {}, {{"X-Xbanku-Hops", "1"}});
  EXPECT_EQ(r.status, 401);

  // WSS: a subscriber at node 0 sees a deposit projected by node 1 (node 0 follows node 1's
  // updates over its own WSS peer feed).
  WssClient ws(port0, ca.ca, alice);
  ws.send(fmt::format(R"({{"id":"s","op":"subscribe","accounts":["{}"]}})", id));
  auto reply = ws.next(10s);
  ASSERT_EQ(reply["id"], "s") << json::serialize(reply);
  ASSERT_FALSE(reply.contains("error")) << json::serialize(reply);
  bool seen = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (int attempt = 0; !seen && std::chrono::steady_clock::now() < deadline; ++attempt) {
    // The relay starts once node 0 has a subscriber; a deposit is repeated until one shows.
    r = https_request(port1, ca.ca, verb::post, "/accounts/" + id + "/deposit", R"({"amount":7})",
                      bearer(alice));
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    for (auto frame = ws.next(2s); !frame.empty(); frame = ws.next(500ms)) {
      if (frame.contains("account") && frame["account"].as_object()["id"].as_string() == id) {
        seen = true;
        break;
      }
    }
  }
  EXPECT_TRUE(seen) << "no update over WSS from the other instance";
  for (auto& n : nodes) EXPECT_EQ(n->stop(), 0);
}

// ---------------------------------------------------------------------------------------------
// Fairness: one address cannot lock everyone out; rates; a disconnect frees its slot.

// Connects from `source` (another loopback address) to 127.0.0.1:port.
std::unique_ptr<boost::asio::ip::tcp::socket> connect_from(boost::asio::io_context& io,
                                                           const std::string& source,
                                                           unsigned short port) {
  namespace ip = boost::asio::ip;
  auto s = std::make_unique<ip::tcp::socket>(io);
  s->open(ip::tcp::v4());
  s->bind({ip::make_address(source), 0});
  s->connect({ip::make_address("127.0.0.1"), port});
  return s;
}

HttpResponse request_from(const std::string& source, unsigned short port, verb method,
                          const std::string& target, const std::string& body = {},
                          const std::map<std::string, std::string>& headers = {}) {
  namespace http = boost::beast::http;
  HttpResponse out;
  try {
    boost::asio::io_context io;
    auto s = connect_from(io, source, port);
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (method == verb::post) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(*s, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(*s, buffer, res);
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

TEST(Fairness, OneAddressCannotLockOutTheRest) {
  // 1,024 client sockets in this process: Debian's default soft limit is 1,024 descriptors.
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur < 4096) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
  }
  ASSERT_GE(files.rlim_cur, 2048u) << "the hard descriptor limit is too low for this test";
  auto o = fresh_instance("flood", 3);
  const auto secrets = Secrets::create(o.data_dir + "-secrets");
  o.extra_args = secrets.flags();
  o.extra_args.insert(o.extra_args.end(), {"--rate-per-connection", "20"});
  ServiceInstance node(o);
  ASSERT_TRUE(node.start()) << node.output();
  const auto admin = secrets.token("root", {"admin"});
  const auto alice = secrets.token("alice", {"accounts:write"});

  // 1,024 idle connections from 127.0.0.2.
  boost::asio::io_context io;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> flood;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1024; ++i) flood.push_back(connect_from(io, "127.0.0.2", node.port()));
  const double connect_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // The flood's reserved slots time out after a second of silence.
  std::this_thread::sleep_for(1500ms);

  // A probe from the flooding address itself, one from elsewhere, and real work from elsewhere.
  const auto p0 = std::chrono::steady_clock::now();
  const auto probe_same = request_from("127.0.0.2", node.port(), verb::get, "/healthz");
  const double probe_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p0).count();
  EXPECT_EQ(probe_same.status, 200) << probe_same.error << probe_same.body;
  const auto probe_other = request_from("127.0.0.1", node.port(), verb::get, "/readyz");
  EXPECT_EQ(probe_other.status, 200) << probe_other.error << probe_other.body;
  const auto w0 = std::chrono::steady_clock::now();
  const auto created = request_from("127.0.0.1", node.port(), verb::post, "/accounts",
                                    R"({"name":"Survivor"})", bearer(alice));
  const double create_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - w0).count();
  EXPECT_EQ(created.status, 201) << created.error << created.body;
  const auto refused_series = std::string("xbanku_http_connections_refused_total");
  const double refused = metric(node, admin, refused_series);
  const double sessions = metric(node, admin, R"(xbanku_http_connections{admission="session"})");
  EXPECT_GE(sessions, 256);  // the flood's share, and the metrics request itself
  EXPECT_GE(refused, 1024 - 256 - 16);
  flood.clear();

  // The rate limit: 20 per second with a burst of 40 on one connection.
  KeepAliveClient client("127.0.0.1", node.port());
  int ok = 0, limited = 0;
  std::string retry_after;
  const auto id = std::string(created.json().at("id").as_string());
  for (int i = 0; i < 100; ++i) {
    const auto r = client.get("/accounts/" + id, bearer(alice));
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      retry_after = header(r, "Retry-After");
    }
  }
  EXPECT_GE(limited, 40);
  EXPECT_GE(ok, 40);
  EXPECT_FALSE(retry_after.empty());

  // A client that leaves mid-wait: its session ends at once, not when the wait would have.
  double freed_ms = -1;
  {
    auto s = connect_from(io, "127.0.0.3", node.port());
    const std::string req =
        "GET /commands/never-written?wait_ms=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Authorization: Bearer " +
        alice + "\r\n\r\n";
    boost::asio::write(*s, boost::asio::buffer(req));
    std::this_thread::sleep_for(300ms);  // the wait has begun
    const double during = metric(node, admin, R"(xbanku_http_connections{admission="session"})");
    const auto closed = std::chrono::steady_clock::now();
    s.reset();
    const bool freed = wait_until(
        [&] {
          return metric(node, admin, R"(xbanku_http_connections{admission="session"})") < during;
        },
        5s, 5ms);
    EXPECT_TRUE(freed) << "the session outlived its client";
    freed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - closed)
                   .count();
    EXPECT_LT(freed_ms, 2000);
  }
  std::printf(
      "flood: 1,024 idle connections from 127.0.0.2 opened in %.0f ms; %.0f refused at accept, "
      "%.0f sessions open; /healthz from the flooding address answered %d in %.1f ms, a create "
      "from another address %d in %.1f ms; rate limit 20/s burst 40: %d of 100 answered, %d "
      "got 429 (Retry-After %s); a client leaving mid-wait freed its slot in %.0f ms\n",
      connect_ms, refused, sessions, probe_same.status, probe_ms, created.status, create_ms, ok,
      limited, retry_after.c_str(), freed_ms);
  EXPECT_EQ(node.stop(), 0);
}

}  // namespace
}  // namespace xbanku::test
