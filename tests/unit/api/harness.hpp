#pragma once
// A Server on 127.0.0.1:<ephemeral> with fake ports, run on its own io_context thread, plus
// small synchronous Beast clients to drive it. XBANKU_TEST_API_THREADS=N runs every such server's
// plain sessions on N session threads beside the core: the api_unit_test_threads entry.

#include "fakes.hpp"
#include "xbanku/api/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <memory>
#include <thread>
#include <utility>

namespace xbanku::api::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

class TestServer {
 public:
  explicit TestServer(ApiConfig cfg = {}, ServerSecurity security = {}) {
    if (const char* n = std::getenv("XBANKU_TEST_API_THREADS")) {
      cfg.session_threads = static_cast<unsigned>(std::stoul(n));
    }
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    bank.served_by = "";
    server = std::make_unique<Server>(ioc.get_executor(), cfg, bank, bank, feed, health, registry,
                                      std::move(security));
    server->inspect(inspector);
    const auto ec = server->listen();
    if (ec) throw std::runtime_error("listen: " + ec.message());
    asio::co_spawn(ioc, server->run(), [this](std::exception_ptr e) {
      run_failed = static_cast<bool>(e);
      run_returned = true;
    });
    thread = std::thread([this] { ioc.run(); });
  }
  ~TestServer() { shutdown(); }

  // Stops the server and waits for run() and the io_context to finish.
  void shutdown() {
    if (!thread.joinable()) return;
    asio::post(ioc, [this] { server->stop(); });
    thread.join();
  }

  // Runs f on the io thread and returns its result.
  template <typename F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(ioc, [&task] { task(); });
    return fut.get();
  }

  [[nodiscard]] std::uint16_t port() const { return server->port(); }

  asio::io_context ioc;
  FakeBank bank;
  FakeFeed feed;
  FakeHealth health;
  FakeInspector inspector;
  metrics::Registry registry;
  std::unique_ptr<Server> server;
  std::thread thread;
  bool run_returned = false;
  bool run_failed = false;
};

struct HttpReply {
  unsigned status = 0;
  http::response<http::string_body> res;
  json::value body;  // parsed when the body is JSON
  std::string header(std::string_view name) const {
    auto it = res.find(name);
    return it == res.end() ? std::string() : std::string(it->value());
  }
};

// One request on a fresh connection.
inline HttpReply request(std::uint16_t port, http::verb verb, std::string target,
                         std::string body = {},
                         std::vector<std::pair<std::string, std::string>> headers = {},
                         std::string content_type = "application/json") {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty() || verb == http::verb::post) {
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
  }
  for (auto& [k, v] : headers) req.set(k, v);
  http::write(socket, req);
  beast::flat_buffer buffer;
  HttpReply r;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  http::read(socket, buffer, parser);
  r.res = parser.release();
  r.status = r.res.result_int();
  boost::system::error_code ec;
  r.body = json::parse(r.res.body(), ec);
  return r;
}

// A WebSocket client of the test server (synchronous; Beast checks that text frames are UTF-8).
using Ws = beast::websocket::stream<tcp::socket>;

inline std::unique_ptr<Ws> connect_ws(asio::io_context& ioc, std::uint16_t port) {
  auto ws = std::make_unique<Ws>(ioc);
  ws->next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  ws->handshake("127.0.0.1", "/ws");
  ws->text(true);
  return ws;
}

inline json::value receive(Ws& ws) {
  beast::flat_buffer b;
  ws.read(b);
  return json::parse(beast::buffers_to_string(b.data()));
}

inline std::string error_code_of(const HttpReply& r) {
  if (const auto* o = r.body.if_object()) {
    if (const auto* e = o->if_contains("error"); e && e->is_object()) {
      if (const auto* c = e->as_object().if_contains("code"); c && c->is_string())
        return std::string(c->get_string());
    }
  }
  return {};
}

}  // namespace xbanku::api::testing
