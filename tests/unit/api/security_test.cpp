// The server's security decisions (DESIGN §9) with a fake Authenticator, so that every branch
// is reached without keys: 401 with WWW-Authenticate, scopes (403), ownership (404 like a
// missing account, nothing submitted), open probes, peer-only headers, the Host and Origin
// allow-list, rate limits (429), a disconnect ending a wait, and WebSocket tokens (query
// parameter, renewal, expiry with 1008, "*" for administrators only).
#include "harness.hpp"

#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <sstream>

namespace xbanku::api {
namespace {

using namespace testing;
using http::verb;
using namespace std::chrono_literals;

// Tokens are "<sub>;<scope scope …>;<exp unix seconds or 0>"; "bad" is refused. A peer
// credential is valid when it reads "ok <METHOD> <target>".
class FakeAuthenticator final : public Authenticator {
 public:
  boost::system::result<Caller, AuthRefusal> bearer(std::string_view token,
                                                    std::int64_t now_s) const override {
    const auto a = token.find(';');
    const auto b = token.find(';', a == std::string_view::npos ? a : a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos) {
      return AuthRefusal{401, "unauthorized", "the bearer token is not valid: malformed",
                         R"(Bearer realm="xbanku", error="invalid_token")"};
    }
    Caller c;
    c.authenticated = true;
    c.principal = std::string(token.substr(0, a));
    std::istringstream scopes{std::string(token.substr(a + 1, b - a - 1))};
    for (std::string s; scopes >> s;) c.scopes.push_back(s);
    std::sort(c.scopes.begin(), c.scopes.end());
    c.expires_at = std::stoll(std::string(token.substr(b + 1)));
    if (c.expires_at != 0 && c.expires_at <= now_s) {
      return AuthRefusal{401, "unauthorized", "the bearer token is not valid: expired",
                         R"(Bearer realm="xbanku", error="invalid_token")"};
    }
    return c;
  }
  std::optional<std::string> peer(std::string_view credential, std::string_view method,
                                  std::string_view target, std::int64_t) const override {
    if (credential == "ok " + std::string(method) + " " + std::string(target)) return "node-2";
    return std::nullopt;
  }
};

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kAliceAccount = "0b0e1c42-7a9d-4b4b-8f3a-1c1d2e3f4a5b";
constexpr std::string_view kBobAccount = "1c1f2d53-8bae-4c5c-9a4b-2d2e3f4a5b6c";

class Secured : public ::testing::Test {
 protected:
  explicit Secured(ApiConfig cfg = {}) : server(cfg, {&auth, nullptr}) {
    server.on_io([this] {
      server.bank.accts[std::string(kAliceAccount)] =
          domain::Account{std::string(kAliceAccount), "Alice", 500, 1, "alice"};
      server.bank.accts[std::string(kBobAccount)] =
          domain::Account{std::string(kBobAccount), "Bob", 500, 1, "bob"};
      return 0;
    });
  }

  HttpReply as(const std::string& token, verb v, const std::string& target, std::string body = {},
               std::vector<std::pair<std::string, std::string>> extra = {}) {
    if (!token.empty()) extra.emplace_back("Authorization", "Bearer " + token);
    return request(server.port(), v, target, std::move(body), std::move(extra));
  }
  std::size_t submitted() {
    return server.on_io([this] { return server.bank.received.size(); });
  }

  FakeAuthenticator auth;
  TestServer server;
  const std::string alice = "alice;accounts:write;0";
  const std::string alice_reader = "alice;accounts:read;0";
  const std::string bob = "bob;accounts:write;0";
  const std::string admin = "root;admin;0";
};

TEST_F(Secured, NoTokenOrABadOneIs401WithTheChallenge) {
  auto r = as("", verb::post, "/accounts", R"({"name":"X"})");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(error_code_of(r), "unauthorized");
  EXPECT_EQ(r.header("WWW-Authenticate"), R"(Bearer realm="xbanku")");
  r = as("bad", verb::get, "/accounts");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.header("WWW-Authenticate"), R"(Bearer realm="xbanku", error="invalid_token")");
  // An Authorization header that is not a bearer token is a bad token, not a missing one.
  r = request(server.port(), verb::get, "/accounts", {}, {{"Authorization", "Basic eDp5"}});
  EXPECT_EQ(r.status, 401u);
  r = as("x;admin;" + std::to_string(now_s() - 5), verb::get, "/accounts");  // expired
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(submitted(), 0u);
}

TEST_F(Secured, ProbesAndTheDescriptionNeedNoToken) {
  EXPECT_EQ(as("", verb::get, "/healthz").status, 200u);
  EXPECT_EQ(as("", verb::get, "/readyz").status, 200u);
  EXPECT_EQ(as("", verb::get, "/openapi.json").status, 200u);
  EXPECT_EQ(as("", verb::get, "/metrics").status, 401u);
}

TEST_F(Secured, TheConsoleIsOpenItsOperatorRoutesAreForAdministrators) {
  // The page asks for a token itself: its files need none.
  EXPECT_NE(as("", verb::get, "/").status, 401u);
  EXPECT_NE(as("", verb::get, "/assets/anything.js").status, 401u);
  for (const char* target : {"/cluster", "/dlq"}) {
    EXPECT_EQ(as("", verb::get, target).status, 401u) << target;
    auto r = as(alice, verb::get, target);
    EXPECT_EQ(r.status, 403u) << target;
    EXPECT_EQ(r.header("WWW-Authenticate"),
              R"(Bearer realm="xbanku", error="insufficient_scope", scope="admin")");
    EXPECT_EQ(as(admin, verb::get, target).status, 200u) << target;
  }
  // A client's /cluster gathers the other members' progress; another instance's does not.
  EXPECT_EQ(as(admin, verb::get, "/cluster", {}, {{"X-Xbanku-Hops", "1"}}).status, 200u);
  EXPECT_FALSE(server.on_io([this] { return server.inspector.last_local_only; }));
  auto r = request(server.port(), verb::get, "/cluster", {},
                   {{"X-Xbanku-Peer", "ok GET /cluster"}, {"X-Xbanku-Hops", "1"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(server.on_io([this] { return server.inspector.last_local_only; }));
}

TEST_F(Secured, ScopesDecideWhatACallerMayDo) {
  auto r = as(alice_reader, verb::post, "/accounts", R"({"name":"Reader"})");
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(r.header("WWW-Authenticate"),
            R"(Bearer realm="xbanku", error="insufficient_scope", scope="accounts:write")");
  EXPECT_EQ(as(alice_reader, verb::get, "/accounts/" + std::string(kAliceAccount)).status, 200u);
  EXPECT_EQ(as("nobody;;0", verb::get, "/accounts/" + std::string(kAliceAccount)).status, 403u);
  EXPECT_EQ(as(alice, verb::get, "/metrics").status, 403u);
  EXPECT_EQ(as(admin, verb::get, "/metrics").status, 200u);
  EXPECT_EQ(submitted(), 0u);
}

TEST_F(Secured, AnotherPrincipalsAccountIsAnsweredLikeAMissingOne) {
  const std::string mine = "/accounts/" + std::string(kAliceAccount);
  const auto missing = as(bob, verb::get, "/accounts/2d2a3e64-9cbf-4d6d-8b5c-3e3f4a5b6c7d");
  const auto theirs = as(bob, verb::get, mine);
  EXPECT_EQ(theirs.status, 404u);
  EXPECT_EQ(theirs.res.body(), missing.res.body());  // byte for byte: no enumeration
  EXPECT_EQ(as(bob, verb::get, mine + "/events").status, 404u);
  EXPECT_EQ(as(bob, verb::post, mine + "/deposit", R"({"amount":1})").status, 404u);
  EXPECT_EQ(as(bob, verb::post, mine + "/withdraw", R"({"amount":1})").status, 404u);
  EXPECT_EQ(as(bob, verb::post, "/transfers",
               R"({"from":")" + std::string(kAliceAccount) + R"(","to":")" +
                   std::string(kBobAccount) + R"(","amount":1})")
                .status,
            404u);
  EXPECT_EQ(submitted(), 0u);  // nothing reached the log

  EXPECT_EQ(as(alice, verb::get, mine).status, 200u);
  EXPECT_EQ(as(admin, verb::get, mine).status, 200u);
  // A transfer *to* anyone's account is the sender's business.
  const auto pay = as(bob, verb::post, "/transfers",
                      R"({"from":")" + std::string(kBobAccount) + R"(","to":")" +
                          std::string(kAliceAccount) + R"(","amount":5})");
  EXPECT_EQ(pay.status, 200u) << pay.res.body();
  ASSERT_EQ(submitted(), 1u);
  EXPECT_EQ(server.on_io([this] { return server.bank.received[0].principal; }), "bob");
}

TEST_F(Secured, ListingsAndCommandKeysArePerPrincipal) {
  EXPECT_EQ(as(bob, verb::get, "/accounts").status, 200u);
  EXPECT_EQ(server.on_io([this] { return server.bank.last_owner; }), "bob");
  EXPECT_EQ(as(admin, verb::get, "/accounts").status, 200u);
  EXPECT_EQ(server.on_io([this] { return server.bank.last_owner; }), "");
  // Only another instance may ask for someone else's listing or command.
  EXPECT_EQ(as(bob, verb::get, "/accounts?owner=alice").status, 200u);
  EXPECT_EQ(server.on_io([this] { return server.bank.last_owner; }), "bob");
  as(bob, verb::get, "/commands/k1?principal=alice");
  EXPECT_EQ(server.on_io([this] { return server.bank.last_principal; }), "bob");
}

TEST_F(Secured, PeerHeadersCountOnlyWithAValidPeerCredential) {
  const std::string target = "/accounts/" + std::string(kAliceAccount);
  // A client's X-Xbanku-Hops is ignored: it is not answered as a forwarded request.
  auto r = as(alice, verb::get, target, {}, {{"X-Xbanku-Hops", "1"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(server.on_io([this] { return server.bank.last_origin.hops; }), 0);
  // A forged credential is refused outright.
  r = request(server.port(), verb::get, target, {},
              {{"X-Xbanku-Peer", "ok GET /somewhere-else"}, {"X-Xbanku-Hops", "1"}});
  EXPECT_EQ(r.status, 401u);
  // A valid one makes the request an instance's: hops honoured, every account readable.
  r = request(server.port(), verb::get, target, {},
              {{"X-Xbanku-Peer", "ok GET " + target}, {"X-Xbanku-Hops", "1"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(server.on_io([this] { return server.bank.last_origin.hops; }), 1);
}

// partition= names the partition whose outcome of a key an instance waits for (the record it
// wrote there): another instance's parameter, ignored from a client like principal=.
TEST_F(Secured, OnlyAnInstanceNamesThePartitionOfACommand) {
  as(alice, verb::get, "/commands/k?partition=2");
  EXPECT_EQ(server.on_io([this] { return server.bank.last_partition; }), std::nullopt);
  const std::string target = "/commands/k?wait_ms=0&partition=2";
  EXPECT_EQ(
      request(server.port(), verb::get, target, {}, {{"X-Xbanku-Peer", "ok GET " + target}}).status,
      404u);
  EXPECT_EQ(server.on_io([this] { return server.bank.last_partition; }), 2);
  const std::string bad = "/commands/k?partition=two";
  EXPECT_EQ(request(server.port(), verb::get, bad, {}, {{"X-Xbanku-Peer", "ok GET " + bad}}).status,
            400u);
  EXPECT_EQ(as(alice, verb::get, bad).status, 404u) << "a client's partition= is not even read";
}

TEST_F(Secured, AClientsWaitIsBoundedAnInstancesIsNot) {
  EXPECT_EQ(as(alice, verb::get, "/commands/k?wait_ms=10000").status, 404u);
  const auto r = as(alice, verb::get, "/commands/k?wait_ms=30000");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.res.body().find("0 to 10000"), std::string::npos) << r.res.body();
  const std::string target = "/commands/k?wait_ms=30000";
  EXPECT_EQ(
      request(server.port(), verb::get, target, {}, {{"X-Xbanku-Peer", "ok GET " + target}}).status,
      404u);
}

TEST_F(Secured, WebSocketNeedsATokenOnTheUpgrade) {
  asio::io_context ioc;
  Ws refused(ioc);
  refused.next_layer().connect({asio::ip::make_address("127.0.0.1"), server.port()});
  beast::websocket::response_type res;
  beast::error_code ec;
  refused.handshake(res, "127.0.0.1", "/ws", ec);
  EXPECT_EQ(ec, beast::websocket::error::upgrade_declined);
  EXPECT_EQ(res.result_int(), 401u);

  // Browsers cannot set headers on an upgrade: ?access_token= does.
  Ws ws(ioc);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), server.port()});
  ws.handshake("127.0.0.1", "/ws?access_token=bob%3Baccounts%3Awrite%3B0");
  ws.text(true);
  ws.write(
      asio::buffer(R"({"id":1,"op":"get","account":")" + std::string(kAliceAccount) + R"("})"));
  auto reply = receive(ws);
  EXPECT_EQ(reply.at("error").at("code"), "account_not_found") << reply;
  ws.write(asio::buffer(std::string(R"({"id":2,"op":"subscribe","accounts":"*"})")));
  reply = receive(ws);
  EXPECT_EQ(reply.at("error").at("code"), "forbidden") << json::serialize(reply);
  ws.write(asio::buffer(R"({"id":3,"op":"subscribe","accounts":[")" + std::string(kAliceAccount) +
                        R"("]})"));
  reply = receive(ws);
  EXPECT_EQ(reply.at("error").at("code"), "account_not_found") << reply;
  ws.write(asio::buffer(R"({"id":4,"op":"subscribe","accounts":[")" + std::string(kBobAccount) +
                        R"("]})"));
  reply = receive(ws);
  EXPECT_FALSE(reply.as_object().contains("error")) << reply;
}

TEST_F(Secured, AnExpiredWebSocketTokenClosesTheSessionUnlessRenewed) {
  asio::io_context ioc;
  auto open = [&](const std::string& token) {
    auto ws = std::make_unique<Ws>(ioc);
    ws->next_layer().connect({asio::ip::make_address("127.0.0.1"), server.port()});
    ws->set_option(
        beast::websocket::stream_base::decorator([token](beast::websocket::request_type& req) {
          req.set(http::field::authorization, "Bearer " + token);
        }));
    ws->handshake("127.0.0.1", "/ws");
    ws->text(true);
    return ws;
  };
  const auto soon = "alice;accounts:read;" + std::to_string(now_s() + 2);
  auto renewed = open(soon);
  auto lapsing = open(soon);
  // A renewal must be for the same principal; then it moves the expiry.
  renewed->write(
      asio::buffer(std::string(R"({"id":1,"op":"auth","token":"bob;accounts:read;0"})")));
  auto reply = receive(*renewed);
  EXPECT_EQ(reply.at("error").at("code"), "forbidden") << json::serialize(reply);
  renewed->write(asio::buffer(R"({"id":2,"op":"auth","token":"alice;accounts:read;)" +
                              std::to_string(now_s() + 60) + R"("})"));
  reply = receive(*renewed);
  EXPECT_FALSE(reply.as_object().contains("error")) << reply;

  const auto started = std::chrono::steady_clock::now();
  beast::flat_buffer b;
  beast::error_code ec;
  lapsing->read(b, ec);  // nothing is sent to it: the next thing is the close
  EXPECT_EQ(ec, beast::websocket::error::closed);
  EXPECT_EQ(lapsing->reason().code, beast::websocket::close_code::policy_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);

  renewed->write(
      asio::buffer(R"({"id":3,"op":"get","account":")" + std::string(kAliceAccount) + R"("})"));
  reply = receive(*renewed);
  EXPECT_EQ(reply.at("result").at("owner"), "alice") << reply;
}

TEST_F(Secured, APeerSessionOnlyFollowsUpdates) {
  // A peer credential opens a session for the update feed; a replayed one must not move money.
  asio::io_context ioc;
  Ws ws(ioc);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), server.port()});
  ws.set_option(beast::websocket::stream_base::decorator([](beast::websocket::request_type& r) {
    r.set("X-Xbanku-Peer", "ok GET /ws");
    r.set("X-Xbanku-Hops", "1");
  }));
  ws.handshake("127.0.0.1", "/ws");
  ws.text(true);
  for (const std::string op : {"deposit", "withdraw"}) {
    ws.write(asio::buffer(R"({"id":1,"op":")" + op + R"(","account":")" +
                          std::string(kAliceAccount) + R"(","amount":5})"));
    const auto reply = receive(ws);
    EXPECT_EQ(reply.at("error").at("code"), "forbidden") << op << ": " << reply;
  }
  ws.write(asio::buffer(std::string(R"({"id":2,"op":"subscribe","accounts":"*"})")));
  const auto reply = receive(ws);
  EXPECT_FALSE(reply.as_object().contains("error")) << reply;
}

class Limited : public Secured {
 protected:
  static ApiConfig config() {
    ApiConfig cfg;
    cfg.allowed_hosts = {"127.0.0.1", "bank.example"};
    cfg.rate_per_connection = 1;
    cfg.burst_per_connection = 3;
    return cfg;
  }
  Limited() : Secured(config()) {}
};

TEST_F(Limited, HostAndOriginMustBeAllowed) {
  auto with_host = [&](const std::string& host) {
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    http::request<http::string_body> req{verb::get, "/healthz", 11};
    req.set(http::field::host, host);
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    return res.result_int();
  };
  EXPECT_EQ(with_host("bank.example:8443"), 200u);
  EXPECT_EQ(with_host("BANK.example"), 200u);
  EXPECT_EQ(with_host("attacker.example"), 403u);  // DNS rebinding

  // Cross-site WebSocket hijacking: a page elsewhere opening this service's /ws.
  asio::io_context ioc;
  Ws ws(ioc);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), server.port()});
  ws.set_option(beast::websocket::stream_base::decorator([this](beast::websocket::request_type& r) {
    r.set(http::field::origin, "https://attacker.example");
    r.set(http::field::authorization, "Bearer " + alice);
  }));
  beast::websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "127.0.0.1", "/ws", ec);
  EXPECT_EQ(res.result_int(), 403u);
}

TEST_F(Limited, TooFastIs429WithRetryAfter) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  std::vector<unsigned> statuses;
  std::string retry_after;
  for (int i = 0; i < 5; ++i) {
    http::request<http::string_body> req{verb::get, "/accounts/" + std::string(kAliceAccount), 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + alice);
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    statuses.push_back(res.result_int());
    if (res.result_int() == 429) retry_after = std::string(res[http::field::retry_after]);
  }
  EXPECT_EQ(statuses, (std::vector<unsigned>{200, 200, 200, 429, 429}));
  EXPECT_EQ(retry_after, "1");

  // The probes on the same, exhausted connection still answer: a load balancer is never
  // throttled (the connection caps bound it).
  for (const char* probe : {"/healthz", "/readyz", "/healthz"}) {
    http::request<http::string_body> req{verb::get, probe, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + alice);
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    EXPECT_NE(res.result_int(), 429u) << probe;
  }
}

TEST(Unlimited, WithoutAuthenticationNoRateApplies) {
  // Protected mode: every caller is the operator's own loopback client.
  ApiConfig cfg;
  cfg.rate_per_connection = 1;
  cfg.burst_per_connection = 1;
  cfg.rate_per_principal = 1;
  cfg.burst_per_principal = 1;
  TestServer server(cfg);
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  for (int i = 0; i < 10; ++i) {
    http::request<http::string_body> req{verb::get, "/accounts/" + std::string(kAliceAccount), 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    EXPECT_NE(res.result_int(), 429u) << "request " << i;
  }
}

TEST_F(Secured, ADisconnectEndsTheRequestsWaitAtOnce) {
  server.on_io([this] { return server.bank.hold_command_queries = true; });
  asio::io_context ioc;
  auto s = std::make_unique<tcp::socket>(ioc);
  s->connect({asio::ip::make_address("127.0.0.1"), server.port()});
  http::request<http::string_body> req{verb::get, "/commands/k?wait_ms=8000", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + alice);
  http::write(*s, req);
  std::this_thread::sleep_for(200ms);  // the wait has begun
  const auto closed = std::chrono::steady_clock::now();
  s.reset();
  const bool freed = [&] {
    while (std::chrono::steady_clock::now() - closed < 2s) {
      if (server.on_io([this] { return server.bank.command_waits_cancelled; }) == 1) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }();
  EXPECT_TRUE(freed) << "the wait went on after its client left";
  const auto metrics = server.registry.render();
  EXPECT_NE(metrics.find("xbanku_http_connections{admission=\"session\"} 0"), std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace xbanku::api
