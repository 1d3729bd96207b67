// The forwarding client's pure parts, and one real round trip against a local Beast server
// that answers like an instance would (no xbanku process needed).
#include "xbanku/cluster/peer_client.hpp"

#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

namespace xbanku::cluster {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

TEST(PeerUrl, Splits) {
  std::string host, port;
  EXPECT_TRUE(split_peer_url("http://127.0.0.1:8080", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, "8080");
  EXPECT_TRUE(split_peer_url("http://node-1.local:9/", host, port));
  EXPECT_EQ(host, "node-1.local");
  EXPECT_TRUE(split_peer_url("https://h:1", host, port));
  EXPECT_EQ(host, "h");
  const auto tls = parse_peer_url("https://node-2:8443/");
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->port, "8443");
  EXPECT_FALSE(parse_peer_url("http://node-2:8080")->tls);
  EXPECT_FALSE(split_peer_url("ftp://h:1", host, port));
  EXPECT_FALSE(split_peer_url("https://h", host, port));
  EXPECT_FALSE(split_peer_url("http://h", host, port));
  EXPECT_FALSE(split_peer_url("http://h:", host, port));
  EXPECT_FALSE(split_peer_url("http://h:123456", host, port));
  EXPECT_FALSE(split_peer_url("http://h/x:80", host, port));
  EXPECT_FALSE(split_peer_url("http://:80", host, port));
}

TEST(PercentEncode, KeepsOnlyUnreserved) {
  EXPECT_EQ(percent_encode("abc-XYZ_0.9~"), "abc-XYZ_0.9~");
  EXPECT_EQ(percent_encode("a/b?c=d&e f%"), "a%2Fb%3Fc%3Dd%26e%20f%25");
}

// A one-connection server: answers every request with the hop count it saw, keep-alive, and
// closes after `requests` answers.
asio::awaitable<void> serve(tcp::acceptor& acceptor, int requests) {
  beast::tcp_stream stream(co_await acceptor.async_accept(asio::use_awaitable));
  beast::flat_buffer buffer;
  for (int i = 0; i < requests; ++i) {
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, asio::use_awaitable);
    http::response<http::string_body> res{http::status::ok, 11};
    res.set("X-Served-By", "peer");
    res.body() = std::string(req[kHopsHeader]) + " " + std::string(req.target());
    res.keep_alive(true);
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::use_awaitable);
  }
  stream.socket().close();
}

TEST(PeerClient, ForwardsWithTheHopCountAndReusesTheConnection) {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  asio::co_spawn(io, serve(acceptor, 2), asio::detached);
  PeerClient client(io.get_executor());
  std::vector<std::string> bodies;
  boost::system::error_code third;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 2; ++i) {
          auto r = co_await client.get(url, "/accounts/x?n=" + std::to_string(i), 1, 2s);
          if (r) {
            EXPECT_EQ(r->served_by, "peer");
            bodies.push_back(r->body);
          }
        }
        // The server accepted one connection only and closed it: the pooled one fails, the fresh
        // retry is refused or finds nobody accepting — a clean error, not a hang.
        auto r = co_await client.get(url, "/x", 1, 1s);
        third = r ? boost::system::error_code{} : r.error();
      },
      asio::detached);
  io.run_for(10s);
  EXPECT_EQ(bodies, (std::vector<std::string>{"1 /accounts/x?n=0", "1 /accounts/x?n=1"}));
  EXPECT_TRUE(third == errc::timeout || third == errc::peer_unreachable) << third.message();
}

// A keep-alive server that closes every connection open at the moment it is told to (as a
// peer's idle timeout does), and keeps accepting new ones.
struct ClosingServer {
  explicit ClosingServer(asio::io_context& io)
      : acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}), close_all(io) {
    close_all.expires_at(std::chrono::steady_clock::time_point::max());
  }
  asio::awaitable<void> run() {
    for (;;) {
      auto socket = co_await acceptor.async_accept(asio::use_awaitable);
      ++accepted;
      asio::co_spawn(acceptor.get_executor(), connection(std::move(socket)), asio::detached);
    }
  }
  static asio::awaitable<void> answer(beast::tcp_stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      co_await http::async_read(stream, buffer, req, asio::use_awaitable);
      http::response<http::string_body> res{http::status::ok, 11};
      res.body() = "ok";
      res.keep_alive(true);
      res.prepare_payload();
      co_await http::async_write(stream, res, asio::use_awaitable);
    }
  }
  asio::awaitable<void> connection(tcp::socket socket) {
    using namespace boost::asio::experimental::awaitable_operators;
    beast::tcp_stream stream(std::move(socket));
    co_await (answer(stream) || close_all.async_wait(asio::as_tuple(asio::use_awaitable)));
    beast::error_code ec;
    stream.socket().close(ec);
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  }
  tcp::acceptor acceptor;
  asio::steady_timer close_all;  // cancelled: every open connection closes
  int accepted = 0;
};

// Found by the independent checker: with several pooled connections closed by the peer, the
// retry took another dead pooled connection, and forwarding failed until the pool drained.
TEST(PeerClient, ARequestAfterThePeerClosedItsPooledConnectionsSucceeds) {
  asio::io_context io;
  ClosingServer server(io);
  asio::co_spawn(io, server.run(), asio::detached);
  PeerClient client(io.get_executor());
  int first_round = 0;
  std::vector<unsigned> after;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Four requests at once: four connections, all pooled afterwards.
        auto one = [&]() -> asio::awaitable<void> {
          auto r = co_await client.get(server.url(), "/x", 1, 2s);
          if (r && r->status == 200) ++first_round;
        };
        using namespace boost::asio::experimental::awaitable_operators;
        co_await (one() && one() && one() && one());
        server.close_all.cancel();
        asio::steady_timer pause(io, 100ms);
        co_await pause.async_wait(asio::use_awaitable);
        for (int i = 0; i < 3; ++i) {
          auto r = co_await client.get(server.url(), "/x", 1, 2s);
          after.push_back(r ? r->status : 0u);
        }
        io.stop();
      },
      asio::detached);
  io.run_for(10s);
  EXPECT_EQ(first_round, 4);
  EXPECT_EQ(server.accepted, 5);  // four, then one fresh connection reused by the last two
  EXPECT_EQ(after, (std::vector<unsigned>{200, 200, 200}));
}

TEST(PeerClient, NobodyListeningIsPeerUnreachable) {
  asio::io_context io;
  unsigned short port = 0;
  {
    tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  PeerClient client(io.get_executor());
  boost::system::error_code ec;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await client.get("http://127.0.0.1:" + std::to_string(port), "/", 1, 2s);
        ec = r ? boost::system::error_code{} : r.error();
      },
      asio::detached);
  io.run_for(5s);
  EXPECT_EQ(ec, errc::peer_unreachable);
}

}  // namespace
}  // namespace xbanku::cluster
