// The HTTP API (DESIGN §3) end to end over a real socket, with fake ports.
#include "harness.hpp"
#include "xbanku/api/operations.hpp"
#include "xbanku/wire/json.hpp"

#include <boost/json/serialize.hpp>

#include <chrono>

namespace xbanku::api::testing {
namespace {

using http::verb;

constexpr std::string_view kId = "0b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a10";

class HttpApi : public ::testing::Test {
 protected:
  TestServer s;

  std::string create(std::string name = "Cole Bittel") {
    auto r = request(s.port(), verb::post, "/accounts", R"({"name":")" + name + R"("})");
    EXPECT_EQ(r.status, 201u) << r.res.body();
    return std::string(r.body.at("id").as_string());
  }
};

TEST_F(HttpApi, CreateGetAndList) {
  auto r = request(s.port(), verb::post, "/accounts",
                   R"({"name":"  Cole Bittel ","id":")" + std::string(kId) + R"("})");
  ASSERT_EQ(r.status, 201u) << r.res.body();
  EXPECT_EQ(r.body.at("id").as_string(), kId);
  EXPECT_EQ(r.body.at("name").as_string(), "Cole Bittel");
  EXPECT_EQ(r.body.at("balance").as_int64(), 0);
  EXPECT_EQ(r.body.at("version").as_int64(), 1);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_FALSE(r.header("X-Request-Id").empty());
  EXPECT_FALSE(r.header("X-Command-Id").empty());

  r = request(s.port(), verb::post, "/accounts",
              R"({"name":"again","id":")" + std::string(kId) + R"("})");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(error_code_of(r), "account_exists");

  r = request(s.port(), verb::get, "/accounts/" + std::string(kId));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.at("name").as_string(), "Cole Bittel");

  r = request(s.port(), verb::get, "/accounts/11111111-2222-4333-8444-555555555555");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_code_of(r), "account_not_found");

  create("second");
  create("third");
  r = request(s.port(), verb::get, "/accounts?limit=2");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(r.body.at("accounts").as_array().size(), 2u);
  ASSERT_TRUE(r.body.at("next").is_string());
  const std::string next(r.body.at("next").as_string());
  r = request(s.port(), verb::get, "/accounts?limit=2&after=" + next);
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.at("accounts").as_array().size(), 1u);
  EXPECT_TRUE(r.body.at("next").is_null());

  r = request(s.port(), verb::get, "/accounts");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(s.on_io([&] { return s.bank.last_limit; }), 100u);
  for (const char* bad : {"0", "1001", "abc", "-1", "1.5", ""}) {
    r = request(s.port(), verb::get, std::string("/accounts?limit=") + bad);
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_NE(r.res.body().find("limit"), std::string::npos);
  }
}

TEST_F(HttpApi, DepositWithdrawHistory) {
  const std::string id = create();
  auto r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":1000})");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(r.body.at("balance").as_int64(), 1000);
  EXPECT_EQ(r.body.at("version").as_int64(), 2);

  r = request(s.port(), verb::post, "/accounts/" + id + "/withdraw", R"({"amount":300})");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.at("balance").as_int64(), 700);

  r = request(s.port(), verb::post, "/accounts/" + id + "/withdraw", R"({"amount":701})");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(error_code_of(r), "insufficient_funds");

  r = request(s.port(), verb::post, "/accounts/11111111-2222-4333-8444-555555555555/deposit",
              R"({"amount":1})");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_code_of(r), "account_not_found");

  r = request(s.port(), verb::post, "/accounts/" + id + "/deposit",
              R"({"amount":1000000000000000})");
  EXPECT_EQ(r.status, 200u);
  s.on_io([&] {
    s.bank.accts[id].balance = INT64_MAX - 5;
    return 0;
  });
  r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":10})");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(error_code_of(r), "balance_overflow");

  r = request(s.port(), verb::get, "/accounts/" + id + "/events?limit=2");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  const auto& events = r.body.at("events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].at("type").as_string(), "create");
  EXPECT_EQ(events[1].at("type").as_string(), "deposit");
  EXPECT_EQ(events[1].at("amount").as_int64(), 1000);
  EXPECT_EQ(events[1].at("balance_after").as_int64(), 1000);
  ASSERT_TRUE(r.body.at("next").is_string());
  r = request(s.port(), verb::get,
              "/accounts/" + id + "/events?after=" + std::string(r.body.at("next").as_string()));
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.at("events").as_array().size(), 2u);  // withdraw, big deposit
  EXPECT_TRUE(r.body.at("next").is_null());
  EXPECT_EQ(request(s.port(), verb::get, "/accounts/" + id + "/events?after=abc").status, 400u);
  EXPECT_EQ(
      request(s.port(), verb::get, "/accounts/" + id + "/events?after=99999999999999999999").status,
      400u);

  r = request(s.port(), verb::get, "/accounts/11111111-2222-4333-8444-555555555555/events");
  EXPECT_EQ(r.status, 404u);
}

TEST_F(HttpApi, Transfers) {
  const std::string a = create("a"), b = create("b");
  request(s.port(), verb::post, "/accounts/" + a + "/deposit", R"({"amount":100})");
  auto r = request(s.port(), verb::post, "/transfers",
                   R"({"from":")" + a + R"(","to":")" + b + R"(","amount":40})");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(r.body.at("status").as_string(), "completed");
  EXPECT_EQ(r.body.at("from").as_string(), a);
  EXPECT_EQ(r.body.at("to").as_string(), b);
  EXPECT_FALSE(r.body.at("transfer_id").as_string().empty());

  r = request(s.port(), verb::post, "/transfers",
              R"({"from":")" + a + R"(","to":")" + a + R"(","amount":1})");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(error_code_of(r), "same_account");
  r = request(s.port(), verb::post, "/transfers",
              R"({"from":")" + a + R"(","to":")" + b + R"(","amount":61})");
  EXPECT_EQ(error_code_of(r), "insufficient_funds");
  r = request(s.port(), verb::post, "/transfers",
              R"({"from":")" + a + R"(","to":"11111111-2222-4333-8444-555555555555","amount":1})");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_code_of(r), "target_not_found");
  r = request(s.port(), verb::post, "/transfers", R"({"from":")" + a + R"(","amount":1})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.res.body().find("\\\"to\\\""), std::string::npos) << r.res.body();
}

TEST_F(HttpApi, CommandsAndIdempotency) {
  const std::string id = create();
  auto r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":5})",
                   {{"Idempotency-Key", "key-123"}});
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("X-Command-Id"), "key-123");
  EXPECT_EQ(s.on_io([&] { return s.bank.received.back().command_id; }), "key-123");
  // The same key again: the first outcome, nothing applied twice.
  r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":5})",
              {{"Idempotency-Key", "key-123"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.at("balance").as_int64(), 5);

  r = request(s.port(), verb::get, "/commands/key-123");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(r.body.at("status").as_string(), "applied");
  EXPECT_EQ(r.body.at("partition").as_int64(), 0);
  EXPECT_TRUE(r.body.at("offset").is_int64());
  EXPECT_FALSE(r.body.as_object().contains("reason"));

  r = request(s.port(), verb::post, "/accounts/" + id + "/withdraw", R"({"amount":500})",
              {{"Idempotency-Key", "key-rejected"}});
  r = request(s.port(), verb::get, "/commands/key-rejected");
  EXPECT_EQ(r.body.at("status").as_string(), "rejected");
  EXPECT_EQ(r.body.at("reason").as_string(), "insufficient_funds");

  r = request(s.port(), verb::get, "/commands/unknown-key");
  EXPECT_EQ(r.status, 404u);

  r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":5})",
              {{"Idempotency-Key", std::string(129, 'k')}});
  EXPECT_EQ(r.status, 400u);
}

TEST_F(HttpApi, ReadYourWritesVariants) {
  const std::string id = create();
  auto r =
      request(s.port(), verb::post, "/accounts/" + id + "/deposit?wait=false", R"({"amount":5})");
  ASSERT_EQ(r.status, 202u) << r.res.body();
  EXPECT_FALSE(r.body.at("command_id").as_string().empty());
  EXPECT_EQ(r.body.at("partition").as_int64(), 0);
  EXPECT_TRUE(r.body.at("offset").is_int64());
  EXPECT_FALSE(s.on_io([&] { return static_cast<bool>(s.bank.waits.back()); }));

  s.on_io([&] {
    s.bank.mode = FakeBank::Mode::pending;
    return 0;
  });
  r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":5})");
  ASSERT_EQ(r.status, 504u);
  EXPECT_EQ(r.body.at("status").as_string(), "pending");
  EXPECT_TRUE(r.body.as_object().contains("command_id"));
  EXPECT_TRUE(r.body.as_object().contains("offset"));

  s.on_io([&] {
    s.bank.mode = FakeBank::Mode::unavailable;
    return 0;
  });
  r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":5})");
  ASSERT_EQ(r.status, 503u);
  EXPECT_EQ(error_code_of(r), "log_unavailable");
  EXPECT_NE(r.res.body().find("not written"), std::string::npos);
  EXPECT_EQ(r.header("Retry-After"), "1");

  s.on_io([&] {
    s.bank.mode = FakeBank::Mode::uncertain;
    return 0;
  });
  r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":5})");
  ASSERT_EQ(r.status, 503u);
  EXPECT_EQ(error_code_of(r), "log_uncertain");

  s.on_io([&] {
    s.bank.mode = FakeBank::Mode::throws;
    return 0;
  });
  r = request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":5})");
  ASSERT_EQ(r.status, 500u);
  EXPECT_EQ(error_code_of(r), "internal");
  EXPECT_EQ(r.res.body().find("secret"), std::string::npos);

  s.on_io([&] {
    s.bank.mode = FakeBank::Mode::normal;
    s.bank.stale = true;
    s.bank.served_by = "node-2";
    return 0;
  });
  r = request(s.port(), verb::get, "/accounts/" + id);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("X-Stale"), "true");
  EXPECT_EQ(r.header("X-Served-By"), "node-2");
  s.on_io([&] {
    s.bank.unavailable = true;
    return 0;
  });
  r = request(s.port(), verb::get, "/accounts/" + id);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.header("Retry-After"), "1");
}

// §8: the hop header reaches the query ports; an owner's answer is relayed as it came.
TEST_F(HttpApi, ForwardingMetadata) {
  const std::string id = create();
  auto r = request(s.port(), verb::get, "/accounts/" + id, {}, {{"X-Xbanku-Hops", "1"}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(s.on_io([&] { return s.bank.last_origin.hops; }), 1);
  r = request(s.port(), verb::get, "/accounts/" + id);
  EXPECT_EQ(s.on_io([&] { return s.bank.last_origin.hops; }), 0);
  for (const char* bad : {"-1", "x", "17", "1.5", ""}) {
    r = request(s.port(), verb::get, "/accounts/" + id, {}, {{"X-Xbanku-Hops", bad}});
    EXPECT_EQ(r.status, 400u) << bad;
  }

  // The owner's answer comes back typed (app::QueryResult), named by the instance that served it.
  s.on_io([&] {
    s.bank.served_by = "node-3";
    return 0;
  });
  r = request(s.port(), verb::get, "/accounts/" + id);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("X-Served-By"), "node-3");
  // A view that cannot be read is a 500 that discloses nothing, not a crash.
  s.on_io([&] {
    s.bank.store_failure = true;
    return 0;
  });
  r = request(s.port(), verb::get, "/accounts/" + id);
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(error_code_of(r), "store_error");
  s.on_io([&] {
    s.bank.store_failure = false;
    return 0;
  });
}

TEST_F(HttpApi, CommandWaitAndTransferState) {
  auto r = request(s.port(), verb::get, "/commands/abc?wait_ms=250");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(s.on_io([&] { return s.bank.last_wait.count(); }), 250);
  for (const char* bad : {"-1", "60001", "x", "1e3"}) {
    r = request(s.port(), verb::get, std::string("/commands/abc?wait_ms=") + bad);
    EXPECT_EQ(r.status, 400u) << bad;
  }
  s.on_io([&] {
    s.bank.transfers["t-1"] = {std::string(kId), domain::TransferState::completed};
    return 0;
  });
  r = request(s.port(), verb::get, "/transfers/t-1?to=" + std::string(kId));
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(r.body.at("status").as_string(), "completed");
  EXPECT_EQ(request(s.port(), verb::get, "/transfers/t-2?to=" + std::string(kId)).status, 404u);
  EXPECT_EQ(request(s.port(), verb::get, "/transfers/t-1").status, 400u);
  EXPECT_EQ(request(s.port(), verb::get, "/transfers/t-1?to=nope").status, 400u);
  EXPECT_EQ(request(s.port(), verb::post, "/transfers/t-1", "{}").status, 405u);
}

TEST(PeerCodec, OutcomeRoundTripsThroughTheCommandBody) {
  domain::Outcome o;
  o.status = domain::Status::pending;
  o.command_id = "c-1";
  o.type = domain::EventType::transfer;
  o.pos = {4, 99};
  o.account_id = std::string(kId);
  o.account = domain::Account{std::string(kId), "Ann", 70, 3};
  o.transfer_id = "c-1";
  o.from = std::string(kId);
  o.to = "11111111-2222-4333-8444-555555555555";
  TestServer server;
  server.on_io([&] {
    server.bank.outcomes["c-1"] = o;
    return 0;
  });
  auto r = request(server.port(), verb::get, "/commands/c-1");
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(wire::outcome_from_json(r.body), o);
  o.status = domain::Status::rejected;
  o.reason = domain::Reason::insufficient_funds;
  o.account.reset();
  server.on_io([&] {
    server.bank.outcomes["c-1"] = o;
    return 0;
  });
  r = request(server.port(), verb::get, "/commands/c-1");
  EXPECT_EQ(wire::outcome_from_json(r.body), o);
  EXPECT_FALSE(wire::outcome_from_json(boost::json::parse(R"({"status":"weird"})")));
  EXPECT_FALSE(wire::account_from_json(
      boost::json::parse(R"({"id":"x","name":"y","balance":"1","version":1})")));
}

TEST_F(HttpApi, Validation) {
  const std::string id = create();
  const std::string dep = "/accounts/" + id + "/deposit";
  struct Case {
    std::string target, body;
    unsigned status;
    std::string code, field;
  };
  const std::vector<Case> cases = {
      {dep, "{not json", 400, "bad_request", ""},
      {dep, "[1,2]", 400, "bad_request", ""},
      {dep, "{}", 400, "bad_request", "amount"},
      {dep, R"({"amount":1.5})", 400, "invalid_amount", "amount"},
      {dep, R"({"amount":"10"})", 400, "invalid_amount", "amount"},
      {dep, R"({"amount":1e3})", 400, "invalid_amount", "amount"},
      {dep, R"({"amount":0})", 400, "invalid_amount", "amount"},
      {dep, R"({"amount":-3})", 400, "invalid_amount", "amount"},
      {dep, R"({"amount":1000000000000001})", 400, "invalid_amount", "amount"},
      {dep, R"({"amount":18446744073709551615})", 400, "invalid_amount", "amount"},
      {dep, R"({"amount":123456789012345678901234567890})", 400, "invalid_amount", "amount"},
      {dep, R"({"amount":1e999})", 400, "invalid_amount", "amount"},
      {"/accounts/not-a-uuid/deposit", R"({"amount":1})", 400, "invalid_id", ""},
      {"/accounts", R"({})", 400, "bad_request", "name"},
      {"/accounts", R"({"name":42})", 400, "bad_request", "name"},
      {"/accounts", R"({"name":"   "})", 400, "invalid_name", "name"},
      {"/accounts", R"({"name":")" + std::string(201, 'x') + R"("})", 400, "invalid_name", "name"},
      {"/accounts", R"({"name":"x","id":"nope"})", 400, "invalid_id", "id"},
      {"/transfers", R"({"from":"x","to":"y","amount":1})", 400, "invalid_id", "from"},
  };
  for (const auto& c : cases) {
    auto r = request(s.port(), verb::post, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.body << " -> " << r.res.body();
    EXPECT_EQ(error_code_of(r), c.code) << c.body;
    if (!c.field.empty()) {
      EXPECT_NE(r.res.body().find(c.field), std::string::npos) << r.res.body();
    }
  }
  auto r = request(s.port(), verb::get, "/accounts/not-a-uuid");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(error_code_of(r), "invalid_id");
  EXPECT_EQ(s.on_io([&] { return s.bank.received.size(); }), 1u);  // only the create
}

TEST_F(HttpApi, ProtocolErrors) {
  auto r = request(s.port(), verb::get, "/nope");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(error_code_of(r), "not_found");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_FALSE(r.header("X-Request-Id").empty());

  r = request(s.port(), verb::delete_, "/accounts");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(error_code_of(r), "method_not_allowed");
  EXPECT_EQ(r.header("Allow"), "GET, POST");
  r = request(s.port(), verb::get, "/transfers");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("Allow"), "POST");

  r = request(s.port(), verb::post, "/accounts", R"({"name":"x"})", {}, "text/plain");
  EXPECT_EQ(r.status, 415u);
  EXPECT_EQ(error_code_of(r), "unsupported_media_type");
  r = request(s.port(), verb::post, "/accounts", R"({"name":"x"})", {}, "");
  EXPECT_EQ(r.status, 415u);
  r = request(s.port(), verb::post, "/accounts", R"({"name":"x"})", {},
              "Application/JSON; charset=utf-8");
  EXPECT_EQ(r.status, 201u);

  std::string big = R"({"name":")" + std::string(70 * 1024, 'x') + R"("})";
  r = request(s.port(), verb::post, "/accounts", big);
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(error_code_of(r), "payload_too_large");

  r = request(s.port(), verb::get, "/accounts", {}, {{"X-Big", std::string(9 * 1024, 'h')}});
  EXPECT_EQ(r.status, 431u);

  r = request(s.port(), verb::get, "/healthz", {}, {{"X-Request-Id", "trace-42"}});
  EXPECT_EQ(r.header("X-Request-Id"), "trace-42");
}

TEST_F(HttpApi, MalformedHttpIsAnswered400AndClosed) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  asio::write(socket, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n")));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.result_int(), 400u);
  boost::system::error_code ec;
  http::read(socket, buffer, res, ec);
  EXPECT_TRUE(ec);  // closed
}

TEST_F(HttpApi, KeepAliveServesManyRequests) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  beast::flat_buffer buffer;
  for (int i = 0; i < 20; ++i) {
    http::request<http::string_body> req{verb::get, "/healthz", 11};
    req.set(http::field::host, "x");
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    ASSERT_EQ(res.result_int(), 200u);
    EXPECT_EQ(res.body(), R"({"status":"ok"})");
    EXPECT_TRUE(res.keep_alive());
  }
}

TEST_F(HttpApi, OperationalEndpoints) {
  auto r = request(s.port(), verb::get, "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.at("status").as_string(), "ok");
  r = request(s.port(), verb::get, "/readyz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.body.at("ready").as_bool());
  s.on_io([&] {
    s.health.is_ready = false;
    return 0;
  });
  r = request(s.port(), verb::get, "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_FALSE(r.body.at("ready").as_bool());

  create();
  request(s.port(), verb::post, "/accounts", R"({"name":"x"})", {{"Idempotency-Key", "k1"}},
          "application/json");
  r = request(s.port(), verb::get, "/metrics");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4");
  const std::string& m = r.res.body();
  EXPECT_NE(m.find(R"(xbanku_http_requests_total{route="/accounts",code="201"} 2)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(xbanku_commands_total{type="create",outcome="applied"} 2)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(xbanku_command_latency_seconds_count{stage="projected"} 2)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("xbanku_ws_connections"), std::string::npos);

  r = request(s.port(), verb::get, "/openapi.json");
  ASSERT_EQ(r.status, 200u);
  ASSERT_TRUE(r.body.is_object()) << "openapi.json is not valid JSON";
  EXPECT_EQ(r.body.at("openapi").as_string(), "3.0.3");
  const auto& paths = r.body.at("paths").as_object();
  for (const char* p :
       {"/accounts", "/accounts/{id}", "/accounts/{id}/events", "/accounts/{id}/deposit",
        "/accounts/{id}/withdraw", "/transfers", "/transfers/{transfer_id}",
        "/commands/{command_id}", "/healthz", "/readyz", "/metrics", "/openapi.json"}) {
    EXPECT_TRUE(paths.contains(p)) << p;
  }
  EXPECT_TRUE(paths.at("/accounts").as_object().contains("get"));
  EXPECT_TRUE(paths.at("/accounts").as_object().contains("post"));
}

TEST(HttpLimits, SlowlorisIsDroppedWithinTheReadTimeout) {
  ApiConfig cfg;
  cfg.read_timeout = std::chrono::seconds(2);
  cfg.idle_timeout = std::chrono::seconds(5);
  TestServer s(cfg);
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  socket.non_blocking(true);
  const std::string req =
      "GET /healthz HTTP/1.1\r\nHost: example\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (std::size_t i = 0; i < req.size() && !closed; ++i) {
    boost::system::error_code ec;
    socket.write_some(asio::buffer(&req[i], 1), ec);
    if (ec) closed = true;
    for (int t = 0; t < 10 && !closed; ++t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      char c;
      socket.read_some(asio::buffer(&c, 1), ec);
      if (ec && ec != asio::error::would_block) closed = true;
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_LT(elapsed, std::chrono::milliseconds(4500));
  // The server is fine.
  EXPECT_EQ(request(s.port(), verb::get, "/healthz").status, 200u);
}

TEST(HttpLimits, ConnectionCapAnswers503) {
  ApiConfig cfg;
  cfg.max_connections = 2;
  cfg.reserved_connections = 0;  // no probe slots: the third connection is refused at once
  TestServer s(cfg);
  asio::io_context ioc;
  std::vector<std::unique_ptr<tcp::socket>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<tcp::socket>(ioc));
    held.back()->connect({asio::ip::make_address("127.0.0.1"), s.port()});
    http::request<http::string_body> req{verb::get, "/healthz", 11};
    req.set(http::field::host, "x");
    http::write(*held.back(), req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(*held.back(), b, res);
    ASSERT_EQ(res.result_int(), 200u);
  }
  tcp::socket extra(ioc);
  extra.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(extra, b, res);
  EXPECT_EQ(res.result_int(), 503u);
  held.clear();
  // Once the held connections are gone, new ones are served again.
  for (int i = 0; i < 50; ++i) {
    try {
      if (request(s.port(), verb::get, "/healthz").status == 200u) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "never served again";
}

// Past the cap, a few reserved connections still answer health probes (an orchestrator must
// see a saturated instance as alive), and nothing else.
TEST(HttpLimits, ReservedConnectionsAnswerProbesOnly) {
  ApiConfig cfg;
  cfg.max_connections = 1;
  cfg.reserved_connections = 1;
  TestServer s(cfg);
  asio::io_context ioc;
  tcp::socket held(ioc);
  held.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  auto exchange = [](tcp::socket& sock, verb v, const char* target) {
    http::request<http::string_body> req{v, target, 11};
    req.set(http::field::host, "x");
    if (v == verb::post) {
      req.set(http::field::content_type, "application/json");
      req.body() = R"({"name":"Reserved"})";
      req.prepare_payload();
    }
    http::write(sock, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(sock, b, res);
    return res;
  };
  ASSERT_EQ(exchange(held, verb::get, "/healthz").result_int(), 200u);

  tcp::socket probe(ioc);
  probe.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  EXPECT_EQ(exchange(probe, verb::get, "/readyz").result_int(), 200u);

  tcp::socket command(ioc);
  command.connect({asio::ip::make_address("127.0.0.1"), s.port()});
  const auto refused = exchange(command, verb::post, "/accounts");
  EXPECT_EQ(refused.result_int(), 503u);
  EXPECT_EQ(refused[http::field::retry_after], "1");
  EXPECT_FALSE(refused.keep_alive());
}

// A request still waiting when shutdown_grace passes loses its connection, and run() returns
// without waiting for it (with session threads: closed while the core waits on its socket).
TEST(HttpLimits, StopClosesWhatOutlastsTheGrace) {
  ApiConfig cfg;
  cfg.shutdown_grace = std::chrono::milliseconds(300);
  TestServer s(cfg);
  const std::string id(kId);
  s.on_io([&] {
    s.bank.accts[id] = domain::Account{id, "x", 0, 1};
    s.bank.delay = std::chrono::milliseconds(5000);
    return 0;
  });
  auto fut = std::async(std::launch::async, [&] {
    try {
      return request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":7})")
          .status;
    } catch (const std::exception&) {
      return 0u;  // the connection was closed without an answer
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const auto start = std::chrono::steady_clock::now();
  s.shutdown();
  EXPECT_EQ(fut.get(), 0u);
  EXPECT_TRUE(s.run_returned);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
}

TEST(HttpLimits, GracefulStopFinishesInFlightRequests) {
  ApiConfig cfg;
  cfg.shutdown_grace = std::chrono::milliseconds(3000);
  TestServer s(cfg);
  const std::string id(kId);
  s.on_io([&] {
    s.bank.accts[id] = domain::Account{id, "x", 0, 1};
    s.bank.delay = std::chrono::milliseconds(500);
    return 0;
  });
  auto fut = std::async(std::launch::async, [&] {
    return request(s.port(), verb::post, "/accounts/" + id + "/deposit", R"({"amount":7})");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const auto start = std::chrono::steady_clock::now();
  s.shutdown();  // stop() + wait for run() to return
  auto r = fut.get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.at("balance").as_int64(), 7);
  EXPECT_FALSE(r.res.keep_alive());
  EXPECT_TRUE(s.run_returned);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
}

}  // namespace
}  // namespace xbanku::api::testing
