// The pure pieces of the API: routing, query parsing and the socket-free request handler.
#include "xbanku/api/router.hpp"

#include "fakes.hpp"
#include "xbanku/api/http_handler.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace xbanku::api {
namespace {

namespace http = boost::beast::http;

TEST(Router, MatchesEveryRoute) {
  struct Case {
    http::verb verb;
    std::string_view target;
    Route route;
    bool allowed;
    std::string_view id;
  };
  const Case cases[] = {
      {http::verb::get, "/accounts", Route::accounts, true, ""},
      {http::verb::post, "/accounts", Route::accounts, true, ""},
      {http::verb::get, "/accounts?limit=5", Route::accounts, true, ""},
      {http::verb::get, "/accounts/abc", Route::account, true, "abc"},
      {http::verb::post, "/accounts/abc", Route::account, false, "abc"},
      {http::verb::get, "/accounts/abc/events", Route::account_events, true, "abc"},
      {http::verb::post, "/accounts/abc/deposit?wait=false", Route::account_deposit, true, "abc"},
      {http::verb::get, "/accounts/abc/deposit", Route::account_deposit, false, "abc"},
      {http::verb::post, "/accounts/abc/withdraw", Route::account_withdraw, true, "abc"},
      {http::verb::post, "/transfers", Route::transfers, true, ""},
      {http::verb::get, "/commands/k-1", Route::command, true, "k-1"},
      {http::verb::get, "/healthz", Route::healthz, true, ""},
      {http::verb::get, "/readyz", Route::readyz, true, ""},
      {http::verb::get, "/metrics", Route::metrics, true, ""},
      {http::verb::get, "/openapi.json", Route::openapi, true, ""},
      {http::verb::get, "/ws", Route::ws, true, ""},
      {http::verb::get, "/", Route::console_index, true, ""},
      {http::verb::get, "/cluster", Route::cluster, true, ""},
      {http::verb::get, "/dlq", Route::dlq, true, ""},
      {http::verb::get, "/assets/a.js", Route::console_asset, true, "a.js"},
      {http::verb::get, "/favicon.ico", Route::not_found, false, ""},
      {http::verb::get, "", Route::not_found, false, ""},
      {http::verb::get, "/accounts/", Route::not_found, false, ""},
      {http::verb::get, "/accounts//events", Route::not_found, false, ""},
      {http::verb::get, "/accounts/a/b/c", Route::not_found, false, ""},
      {http::verb::get, "/commands/a/b", Route::not_found, false, ""},
      {http::verb::get, "http://host/accounts", Route::not_found, false, ""},
  };
  for (const auto& c : cases) {
    const auto m = route(c.verb, c.target);
    EXPECT_EQ(m.route, c.route) << c.target;
    EXPECT_EQ(m.method_allowed, c.allowed) << c.target;
    EXPECT_EQ(m.id, c.id) << c.target;
  }
  EXPECT_EQ(route(http::verb::delete_, "/accounts").allow, "GET, POST");
  EXPECT_EQ(route(http::verb::get, "/accounts?a=b").query, "a=b");
}

TEST(Router, QueryParameters) {
  std::string v;
  bool malformed = false;
  EXPECT_TRUE(query_param("limit=5&after=x%2Dy", "after", v, malformed));
  EXPECT_EQ(v, "x-y");
  EXPECT_FALSE(malformed);
  EXPECT_FALSE(query_param("limit=5", "after", v, malformed));
  EXPECT_TRUE(query_param("after=%zz", "after", v, malformed));
  EXPECT_TRUE(malformed);
  EXPECT_TRUE(query_param("wait", "wait", v, malformed));
  EXPECT_EQ(v, "");
  EXPECT_FALSE(percent_decode("%4", v, false));
  EXPECT_TRUE(percent_decode("a+b%20c", v, true));
  EXPECT_EQ(v, "a b c");
}

TEST(Router, ContentTypeAndLimits) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON ; charset=utf-8"));
  EXPECT_FALSE(is_json_content_type("application/jsonp"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type(""));
  EXPECT_EQ(parse_limit("1"), 1u);
  EXPECT_EQ(parse_limit("1000"), 1000u);
  EXPECT_FALSE(parse_limit("0"));
  EXPECT_FALSE(parse_limit("1001"));
  EXPECT_FALSE(parse_limit("+5"));
  EXPECT_FALSE(parse_limit("99999999999999999999999"));
  EXPECT_TRUE(valid_command_id("abc-1"));
  EXPECT_FALSE(valid_command_id(""));
  EXPECT_FALSE(valid_command_id("a b"));
  EXPECT_FALSE(valid_command_id(std::string(129, 'a')));
}

TEST(Handler, PureHandlerWithoutSockets) {
  boost::asio::io_context ioc;
  testing::FakeBank bank;
  testing::FakeHealth health;
  metrics::Registry registry;
  ApiMetrics m(registry);
  Services services{bank, bank, health, m};
  Request req{http::verb::post, "/accounts", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"name":"Cole Bittel"})";
  req.prepare_payload();
  Response res;
  boost::asio::co_spawn(ioc, handle(req, services, "rid-1"), [&](std::exception_ptr e, Response r) {
    ASSERT_FALSE(e);
    res = std::move(r);
  });
  ioc.run();
  EXPECT_EQ(res.result_int(), 201u);
  EXPECT_EQ(res["X-Request-Id"], "rid-1");
  auto body = boost::json::parse(res.body());
  EXPECT_EQ(body.at("name").as_string(), "Cole Bittel");
  ASSERT_EQ(bank.received.size(), 1u);
  EXPECT_EQ(bank.received[0].type, domain::EventType::create);
  EXPECT_EQ(bank.received[0].acc_name, "Cole Bittel");
  EXPECT_FALSE(bank.received[0].command_id.empty());
  EXPECT_GT(bank.received[0].ts, 0);
}

}  // namespace
}  // namespace xbanku::api
