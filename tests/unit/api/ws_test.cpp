// The WebSocket API (DESIGN §4) over a real socket, with fake ports.
#include "harness.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/serialize.hpp>

#include <set>

namespace xbanku::api::testing {
namespace {

namespace websocket = beast::websocket;

void send(Ws& ws, const json::value& v) {
  ws.write(asio::buffer(json::serialize(v)));
}

const std::string kA = "0b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a10";
const std::string kB = "1b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a11";

TEST(WebSocket, OpsAndErrors) {
  TestServer s;
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());

  send(*ws, {{"id", 1}, {"op", "create"}, {"name", "Cole"}, {"account", kA}});
  auto r = receive(*ws);
  EXPECT_EQ(r.at("id").as_int64(), 1);
  ASSERT_TRUE(r.at("ok").as_bool()) << json::serialize(r);
  EXPECT_EQ(r.at("result").at("id").as_string(), kA);

  send(*ws, {{"id", "two"},
             {"op", "deposit"},
             {"account", kA},
             {"amount", 50},
             {"idempotency_key", "ws-k"}});
  r = receive(*ws);
  EXPECT_EQ(r.at("id").as_string(), "two");
  EXPECT_EQ(r.at("result").at("balance").as_int64(), 50);
  EXPECT_EQ(s.on_io([&] { return s.bank.received.back().command_id; }), "ws-k");

  send(*ws, {{"id", 3}, {"op", "withdraw"}, {"account", kA}, {"amount", 500}});
  r = receive(*ws);
  EXPECT_FALSE(r.at("ok").as_bool());
  EXPECT_EQ(r.at("error").at("code").as_string(), "insufficient_funds");

  send(*ws, {{"id", 4}, {"op", "get"}, {"account", kA}});
  r = receive(*ws);
  EXPECT_EQ(r.at("result").at("balance").as_int64(), 50);

  send(*ws, {{"id", 5}, {"op", "command"}, {"command_id", "ws-k"}});
  r = receive(*ws);
  EXPECT_EQ(r.at("result").at("status").as_string(), "applied");

  send(*ws, {{"id", 6}, {"op", "deposit"}, {"account", kA}, {"amount", 1.5}});
  r = receive(*ws);
  EXPECT_EQ(r.at("error").at("code").as_string(), "invalid_amount");

  send(*ws, {{"id", 7}, {"op", "deposit"}, {"account", kA}, {"amount", 1}, {"wait", false}});
  r = receive(*ws);
  EXPECT_TRUE(r.at("ok").as_bool());
  EXPECT_TRUE(r.at("result").as_object().contains("offset"));

  send(*ws, {{"id", 8}, {"op", "fly"}});
  r = receive(*ws);
  EXPECT_EQ(r.at("id").as_int64(), 8);
  EXPECT_EQ(r.at("error").at("code").as_string(), "unknown_op");

  ws->write(asio::buffer(std::string("this is not json")));
  r = receive(*ws);
  EXPECT_TRUE(r.at("id").is_null());
  EXPECT_EQ(r.at("error").at("code").as_string(), "bad_request");

  send(*ws, {{"id", 9}, {"op", "transfer"}, {"from", kA}, {"to", kA}, {"amount", 1}});
  r = receive(*ws);
  EXPECT_EQ(r.at("error").at("code").as_string(), "same_account");

  s.on_io([&] {
    s.bank.mode = FakeBank::Mode::pending;
    return 0;
  });
  send(*ws, {{"id", 10}, {"op", "deposit"}, {"account", kA}, {"amount", 1}});
  r = receive(*ws);
  EXPECT_EQ(r.at("error").at("code").as_string(), "pending");
  EXPECT_TRUE(r.at("error").as_object().contains("command_id"));

  // Still open after all of that.
  send(*ws, {{"id", 11}, {"op", "get"}, {"account", kA}});
  EXPECT_TRUE(receive(*ws).at("ok").as_bool());
  ws->close(websocket::close_code::normal);
}

TEST(WebSocket, PipelinedRequestsGetTheirOwnReplies) {
  TestServer s;
  s.on_io([&] {
    s.bank.accts[kA] = domain::Account{kA, "a", 0, 1};
    s.bank.delay = std::chrono::milliseconds(2);  // so that requests really overlap
    return 0;
  });
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());
  constexpr int kTotal = 1000, kWindow = 256;
  int sent = 0;
  std::set<std::int64_t> seen;
  auto send_next = [&] {
    send(*ws, {{"id", sent}, {"op", "deposit"}, {"account", kA}, {"amount", 1}});
    ++sent;
  };
  while (sent < kWindow) send_next();
  while (static_cast<int>(seen.size()) < kTotal) {
    auto r = receive(*ws);
    ASSERT_TRUE(r.at("ok").as_bool()) << json::serialize(r);
    EXPECT_TRUE(seen.insert(r.at("id").as_int64()).second);
    if (sent < kTotal) send_next();
  }
  EXPECT_EQ(*seen.begin(), 0);
  EXPECT_EQ(*seen.rbegin(), kTotal - 1);
  EXPECT_EQ(s.on_io([&] { return s.bank.accts[kA].balance; }), kTotal);
  ws->close(websocket::close_code::normal);
}

TEST(WebSocket, InFlightBound) {
  ApiConfig cfg;
  cfg.ws_max_in_flight = 4;
  TestServer s(cfg);
  s.on_io([&] {
    s.bank.delay = std::chrono::milliseconds(300);
    return 0;
  });
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());
  for (int i = 0; i < 6; ++i)
    send(*ws, {{"id", i}, {"op", "deposit"}, {"account", kA}, {"amount", 1}});
  std::set<std::int64_t> refused;
  for (int i = 0; i < 6; ++i) {
    auto r = receive(*ws);
    if (!r.at("ok").as_bool() && r.at("error").at("code").as_string() == "too_many_in_flight") {
      refused.insert(r.at("id").as_int64());
    }
  }
  EXPECT_EQ(refused, (std::set<std::int64_t>{4, 5}));
}

TEST(WebSocket, SubscriptionsReceiveUpdatesInOrder) {
  TestServer s;
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());
  auto other = connect_ws(ioc, s.port());
  send(*ws, {{"id", 1}, {"op", "subscribe"}, {"accounts", "*"}});
  auto r = receive(*ws);
  ASSERT_TRUE(r.at("ok").as_bool()) << json::serialize(r);
  send(*other, {{"id", 1}, {"op", "subscribe"}, {"accounts", json::array{kB}}});
  ASSERT_TRUE(receive(*other).at("ok").as_bool());
  send(*other, {{"id", 2}, {"op", "subscribe"}, {"accounts", json::array{"bad"}}});
  EXPECT_EQ(receive(*other).at("error").at("code").as_string(), "invalid_id");

  s.on_io([&] {
    for (int i = 0; i < 200; ++i) {
      s.feed.push(app::AccountUpdate{
          domain::Account{i % 2 ? kA : kB, "n", i, static_cast<std::uint64_t>(i)},
          domain::RecordPos{3, i}});
    }
    return 0;
  });
  for (int i = 0; i < 200; ++i) {
    r = receive(*ws);
    ASSERT_EQ(r.at("op").as_string(), "update");
    EXPECT_EQ(r.at("offset").as_int64(), i);
    EXPECT_EQ(r.at("partition").as_int64(), 3);
    EXPECT_EQ(r.at("account").at("balance").as_int64(), i);
  }
  for (int i = 0; i < 200; i += 2) {
    r = receive(*other);
    EXPECT_EQ(r.at("offset").as_int64(), i);
    EXPECT_EQ(r.at("account").at("id").as_string(), kB);
  }
  auto m = request(s.port(), http::verb::get, "/metrics").res.body();
  EXPECT_NE(m.find("xbanku_ws_connections 2"), std::string::npos) << m;
  EXPECT_NE(m.find("xbanku_ws_subscriptions 2"), std::string::npos) << m;

  send(*ws, {{"id", 2}, {"op", "unsubscribe"}, {"accounts", "*"}});
  EXPECT_TRUE(receive(*ws).at("ok").as_bool());
  s.on_io([&] {
    s.feed.push(app::AccountUpdate{domain::Account{kA, "n", 1, 1}, domain::RecordPos{3, 999}});
    return 0;
  });
  send(*ws, {{"id", 3}, {"op", "get"}, {"account", kA}});
  r = receive(*ws);
  EXPECT_EQ(r.at("id").as_int64(), 3);  // no update in between
  ws->close(websocket::close_code::normal);
  other->close(websocket::close_code::normal);
}

// Reads until the server closes; returns the close code (or 0 if the TCP connection ended
// without a close frame).
int read_until_closed(Ws& ws, int& messages) {
  for (;;) {
    beast::flat_buffer b;
    boost::system::error_code ec;
    ws.read(b, ec);
    if (ec == websocket::error::closed) return ws.reason().code;
    if (ec) return 0;
    ++messages;
  }
}

TEST(WebSocket, ClientThatDoesNotReadIsClosedWith1008) {
  ApiConfig cfg;
  cfg.ws_send_queue = 256;
  TestServer s(cfg);
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());
  send(*ws, {{"id", 1}, {"op", "subscribe"}, {"accounts", "*"}});
  ASSERT_TRUE(receive(*ws).at("ok").as_bool());
  // The client reads nothing while the feed pushes thousands of updates in one burst.
  s.on_io([&] {
    for (int i = 0; i < 5000; ++i) {
      s.feed.push(app::AccountUpdate{domain::Account{kA, "n", i, 1}, domain::RecordPos{0, i}});
    }
    return 0;
  });
  int messages = 0;
  EXPECT_EQ(read_until_closed(*ws, messages), 1008);
  EXPECT_LE(messages, 256);
  // The server is healthy and forgot the connection.
  EXPECT_EQ(request(s.port(), http::verb::get, "/healthz").status, 200u);
  for (int i = 0; i < 100; ++i) {
    if (s.on_io([&] { return s.server != nullptr; }) &&
        request(s.port(), http::verb::get, "/metrics").res.body().find("xbanku_ws_connections 0") !=
            std::string::npos) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "the WebSocket was not released";
}

TEST(WebSocket, SlowReaderUnderSustainedPushIsCutOff) {
  ApiConfig cfg;
  cfg.ws_send_queue = 1024;
  cfg.read_timeout = std::chrono::seconds(2);
  TestServer s(cfg);
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());
  ws->next_layer().set_option(asio::socket_base::receive_buffer_size(4096));
  send(*ws, {{"id", 1}, {"op", "subscribe"}, {"accounts", "*"}});
  ASSERT_TRUE(receive(*ws).at("ok").as_bool());
  // Updates arrive in many small batches, so the writer drains into the kernel's buffers until
  // they are full; then the queue fills and the server gives up on the client.
  const std::string name(200, 'n');
  for (int batch = 0; batch < 400; ++batch) {
    s.on_io([&] {
      for (int i = 0; i < 100; ++i) {
        s.feed.push(app::AccountUpdate{domain::Account{kA, name, i, 1},
                                       domain::RecordPos{0, batch * 100 + i}});
      }
      return 0;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // write deadline passes
  int messages = 0;
  const int code = read_until_closed(*ws, messages);
  EXPECT_TRUE(code == 1008 || code == 0) << code;
  EXPECT_LT(messages, 40000);
  EXPECT_EQ(request(s.port(), http::verb::get, "/healthz").status, 200u);
}

TEST(WebSocket, StopClosesWithGoingAway) {
  TestServer s;
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());
  send(*ws, {{"id", 1}, {"op", "get"}, {"account", kA}});
  receive(*ws);
  asio::post(s.ioc, [&] { s.server->stop(); });
  int messages = 0;
  EXPECT_EQ(read_until_closed(*ws, messages), 1001);
  s.thread.join();
  EXPECT_TRUE(s.run_returned);
}

}  // namespace
}  // namespace xbanku::api::testing
