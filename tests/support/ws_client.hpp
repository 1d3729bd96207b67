#pragma once
// Test support: a blocking WebSocket client on Beast for integration tests (one request, one
// reply at a time; subscription updates are skipped while waiting for a reply).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <string>

namespace xbanku::test {

class WsClient {
 public:
  // `token`: sent as Authorization: Bearer on the upgrade (empty: none).
  WsClient(const std::string& host, unsigned short port, const std::string& token = {}) : ws_(io_) {
    auto& tcp = boost::beast::get_lowest_layer(ws_);
    tcp.expires_after(std::chrono::seconds(10));
    tcp.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host), port));
    tcp.expires_never();
    if (!token.empty()) {
      ws_.set_option(boost::beast::websocket::stream_base::decorator(
          [token](boost::beast::websocket::request_type& req) {
            req.set(boost::beast::http::field::authorization, "Bearer " + token);
          }));
    }
    ws_.handshake(host + ":" + std::to_string(port), "/ws");
    ws_.text(true);
  }

  // Sends `request` (which carries an "id") and returns the reply with that id.
  boost::json::object call(const boost::json::object& request) {
    ws_.write(boost::asio::buffer(boost::json::serialize(request)));
    while (true) {
      boost::beast::flat_buffer buffer;
      ws_.read(buffer);
      auto v = boost::json::parse(boost::beast::buffers_to_string(buffer.data()));
      auto& o = v.as_object();
      if (o.contains("id") && o.at("id") == request.at("id")) return o;
    }
  }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
};

}  // namespace xbanku::test
