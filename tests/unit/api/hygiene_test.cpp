// Input hygiene and idempotency-key binding at the API (issue 11): every case is a precise
// 400/422 naming the problem, and nothing reaches the command port.
#include "harness.hpp"
#include "xbanku/api/json_input.hpp"
#include "xbanku/domain/uuid.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/serialize.hpp>

namespace xbanku::api::testing {
namespace {

using http::verb;
namespace websocket = beast::websocket;

const std::string kA = "0b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a10";
const std::string kB = "1b7e6f0e-6a55-4d3e-9a4c-4f5d2d3f7a11";

std::string message_of(const HttpReply& r) {
  return std::string(r.body.at("error").at("message").as_string());
}

std::size_t received(TestServer& s) {
  return s.on_io([&] { return s.bank.received.size(); });
}

TEST(JsonInput, FindsDuplicateKeysAtAnyDepth) {
  EXPECT_TRUE(parse_client_json(R"({"a":1,"b":{"a":2}})", "the body"));
  auto r = parse_client_json(R"({"amount":1,"amount":1000000})", "the body");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "field \"amount\" appears more than once in the body");
  r = parse_client_json(R"({"x":[{"k":1,"k":2}]})", "the message");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("\"k\""), std::string::npos);
  // Escaped forms of one key are one key.
  EXPECT_FALSE(parse_client_json(R"({"amount":1,"am\u006funt":2})", "the body"));
  r = parse_client_json("{nope", "the body");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("not valid JSON"), std::string::npos);
  // Thousands of keys: sorted once, not compared pairwise.
  std::string many = "{";
  for (int i = 0; i < 5000; ++i) many += "\"k" + std::to_string(i) + "\":0,";
  many += "\"k17\":1}";
  r = parse_client_json(many, "the body");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("\"k17\""), std::string::npos);
}

TEST(JsonInput, QuotesClientTextOnACodePointBoundary) {
  const std::string text = "a" + std::string(40, '\0');  // filled below
  std::string accents = "a";
  for (int i = 0; i < 40; ++i) accents += "\xC3\xA9";  // é: 2 bytes each, byte 64 is mid-é
  const std::string quoted = quote_client_text(accents, 64);
  EXPECT_EQ(quoted.substr(0, 63), accents.substr(0, 63));
  EXPECT_EQ(quoted.substr(63), "\u2026");
  EXPECT_TRUE(domain::utf8_length(quoted));
  EXPECT_EQ(quote_client_text("short"), "short");
}

TEST(ApiHygiene, DuplicateKeysInABodyAre400NamingTheField) {
  TestServer s;
  auto r = request(s.port(), verb::post, "/accounts", R"({"name":"A","name":"B"})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(error_code_of(r), "bad_request");
  EXPECT_NE(message_of(r).find("\"name\""), std::string::npos) << message_of(r);
  r = request(s.port(), verb::post, "/transfers",
              R"({"from":")" + kA + R"(","to":")" + kB + R"(","amount":1,"amount":100000})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(message_of(r).find("\"amount\""), std::string::npos);
  EXPECT_EQ(received(s), 0u);
}

TEST(ApiHygiene, NamesWithControlOrBidiCharactersAre400) {
  TestServer s;
  const std::pair<std::string, std::string> cases[] = {
      {"{\"name\":\"Cole\\u0000Bittel\"}", "control"},
      {"{\"name\":\"Cole\\u0007\"}", "control"},
      {"{\"name\":\"Cole\\u0085x\"}", "control"},  // C1 (NEL)
      {"{\"name\":\"evil\\u202Egnp.exe\"}", "bidirectional"},
      {"{\"name\":\"x\\u2066y\"}", "bidirectional"},
      {"{\"name\":\"   \"}", "1 to 200"},
  };
  for (const auto& [body, why] : cases) {
    auto r = request(s.port(), verb::post, "/accounts", body);
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_EQ(error_code_of(r), "invalid_name") << body;
    EXPECT_NE(message_of(r).find("\"name\""), std::string::npos) << message_of(r);
    EXPECT_NE(message_of(r).find(why), std::string::npos) << message_of(r);
  }
  EXPECT_EQ(received(s), 0u);
  // Plain Unicode is fine, inner spaces too.
  EXPECT_EQ(request(s.port(), verb::post, "/accounts", R"({"name":"Zoë 日本 Ünal"})").status, 201u);
}

TEST(ApiHygiene, AKeyReusedForAnotherRequestIs422AndNothingRuns) {
  TestServer s;
  ASSERT_EQ(
      request(s.port(), verb::post, "/accounts", R"({"name":"A","id":")" + kA + R"("})").status,
      201u);
  ASSERT_EQ(
      request(s.port(), verb::post, "/accounts", R"({"name":"B","id":")" + kB + R"("})").status,
      201u);
  auto r = request(s.port(), verb::post, "/accounts/" + kA + "/deposit", R"({"amount":100})",
                   {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(r.status, 200u) << r.res.body();
  EXPECT_EQ(r.body.at("balance").as_int64(), 100);

  // The same request again: the first outcome, nothing applied twice.
  r = request(s.port(), verb::post, "/accounts/" + kA + "/deposit", R"({"amount":100})",
              {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.at("balance").as_int64(), 100);

  // Other requests under the same key: 422, and none of them is answered with A's account.
  const std::pair<std::string, std::string> others[] = {
      {"/accounts/" + kA + "/deposit", R"({"amount":101})"},
      {"/accounts/" + kB + "/withdraw", R"({"amount":100})"},
      {"/transfers", R"({"from":")" + kB + R"(","to":")" + kA + R"(","amount":100})"},
      {"/accounts", R"({"name":"C"})"},
  };
  for (const auto& [target, body] : others) {
    r = request(s.port(), verb::post, target, body, {{"Idempotency-Key", "k-1"}});
    EXPECT_EQ(r.status, 422u) << target << " " << r.res.body();
    EXPECT_EQ(error_code_of(r), "idempotency_key_reused");
  }
  EXPECT_EQ(s.on_io([&] { return s.bank.accts.at(kA).balance; }), 100);
  EXPECT_EQ(s.on_io([&] { return s.bank.accts.at(kB).balance; }), 0);
  EXPECT_EQ(s.on_io([&] { return s.bank.accts.size(); }), 2u);
}

TEST(ApiHygiene, ARetriedCreateWithAKeyIsTheSameRequest) {
  TestServer s;
  auto first = request(s.port(), verb::post, "/accounts", R"({"name":"Ann"})",
                       {{"Idempotency-Key", "new-ann"}});
  ASSERT_EQ(first.status, 201u) << first.res.body();
  auto again = request(s.port(), verb::post, "/accounts", R"({"name":"Ann"})",
                       {{"Idempotency-Key", "new-ann"}});
  ASSERT_EQ(again.status, 201u) << again.res.body();
  EXPECT_EQ(again.body.at("id"), first.body.at("id"));
  EXPECT_EQ(first.body.at("id").as_string(), domain::keyed_uuid("", "new-ann"));
  // Without a key every create is new.
  auto a = request(s.port(), verb::post, "/accounts", R"({"name":"Ann"})");
  auto b = request(s.port(), verb::post, "/accounts", R"({"name":"Ann"})");
  EXPECT_NE(a.body.at("id"), b.body.at("id"));
}

TEST(WsHygiene, DuplicateKeysLongIdsAndEchoedText) {
  TestServer s;
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());

  ws->write(
      asio::buffer(R"({"id":1,"op":"deposit","account":")" + kA + R"(","amount":1,"amount":500})"));
  auto r = receive(*ws);
  EXPECT_FALSE(r.at("ok").as_bool());
  EXPECT_EQ(r.at("error").at("code").as_string(), "bad_request");
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("\"amount\""),
            std::string::npos);

  const std::string long_id(300, 'x');
  ws->write(
      asio::buffer(json::serialize(json::object{{"id", long_id}, {"op", "get"}, {"account", kA}})));
  r = receive(*ws);
  EXPECT_TRUE(r.at("id").is_null()) << "a long id is not echoed";
  EXPECT_EQ(r.at("error").at("code").as_string(), "bad_request");
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("256"), std::string::npos);

  // An unknown op whose first 64 bytes end inside a character: the reply stays valid UTF-8.
  std::string op = "a";
  for (int i = 0; i < 40; ++i) op += "\xC3\xA9";
  ws->write(asio::buffer(json::serialize(json::object{{"id", 2}, {"op", op}})));
  r = receive(*ws);
  EXPECT_EQ(r.at("error").at("code").as_string(), "unknown_op");

  ws->write(asio::buffer(
      json::serialize(json::object{{"id", 3}, {"op", "create"}, {"name", "a\u202Eb"}})));
  r = receive(*ws);
  EXPECT_EQ(r.at("error").at("code").as_string(), "invalid_name");
  EXPECT_EQ(received(s), 0u);
}

TEST(WsHygiene, KeyReuseIsTheSameErrorOverWebSocket) {
  TestServer s;
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());
  auto send = [&](json::object o) {
    ws->write(asio::buffer(json::serialize(o)));
    return receive(*ws);
  };
  ASSERT_TRUE(
      send({{"id", 1}, {"op", "create"}, {"name", "A"}, {"account", kA}}).at("ok").as_bool());
  ASSERT_TRUE(
      send({{"id", 2}, {"op", "deposit"}, {"account", kA}, {"amount", 5}, {"idempotency_key", "w"}})
          .at("ok")
          .as_bool());
  auto r = send(
      {{"id", 3}, {"op", "deposit"}, {"account", kA}, {"amount", 6}, {"idempotency_key", "w"}});
  EXPECT_FALSE(r.at("ok").as_bool());
  EXPECT_EQ(r.at("error").at("code").as_string(), "idempotency_key_reused");
}

// A client that never reads cannot grow the server by bytes either: big replies (each repeats
// a 250-byte id) hit the byte bound while the message bound is far away.
int replies_before_the_end(std::size_t queue_bytes, int frames) {
  ApiConfig cfg;
  cfg.ws_send_queue = 1000000;  // out of reach: only the byte bound can cut the client
  cfg.ws_send_queue_bytes = queue_bytes;
  TestServer s(cfg);
  asio::io_context ioc;
  auto ws = connect_ws(ioc, s.port());
  const std::string frame =
      json::serialize(json::object{{"id", std::string(250, 'i')}, {"op", "fly"}});
  boost::system::error_code ec;
  for (int i = 0; i < frames && !ec; ++i) ws->write(asio::buffer(frame), ec);
  // The server reads them all and queues the replies that the kernel's buffers cannot take.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  int replies = 0;
  while (true) {
    beast::flat_buffer b;
    ws->read(b, ec);
    if (ec) break;
    ++replies;
    if (replies == frames) break;
  }
  EXPECT_EQ(request(s.port(), verb::get, "/healthz").status, 200u);
  return replies;
}

TEST(WsHygiene, TheSendQueueIsBoundedInBytes) {
  constexpr int kFrames = 20000;  // ~7 MB of replies: more than the kernel's socket buffers
  EXPECT_EQ(replies_before_the_end(std::size_t{1} << 30, kFrames), kFrames)
      << "without a byte bound every reply is delivered";
  EXPECT_LT(replies_before_the_end(64 * 1024, kFrames), kFrames)
      << "with one the client is cut off";
}

}  // namespace
}  // namespace xbanku::api::testing
