#pragma once
// Test support: a blocking HTTP/1.1 client on Beast with a deadline, for integration tests that
// talk to a real `xbanku` process. One connection per request keeps it simple.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <string>

namespace xbanku::test {

struct HttpResponse {
  int status = 0;  // 0 = no answer (connection refused, timeout)
  std::string body;
  std::map<std::string, std::string> headers;
  std::string error;

  [[nodiscard]] boost::json::value json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value{} : v;
  }
};

inline HttpResponse http_request(const std::string& host, unsigned short port,
                                 boost::beast::http::verb method, const std::string& target,
                                 const std::string& body = {},
                                 const std::map<std::string, std::string>& headers = {},
                                 std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  HttpResponse out;
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host), port));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, host);
    bool has_type = false;
    for (const auto& [k, v] : headers) {
      req.set(k, v);
      if (beast::iequals(k, "content-type")) has_type = true;
    }
    if (!body.empty() || method == http::verb::post) {
      if (!has_type) req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
    beast::error_code ec;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace xbanku::test

namespace xbanku::test {

// A keep-alive HTTP/1.1 client for tests that send thousands of requests; reconnects once
// when the server closed the connection. `headers` go with every request (a bearer token).
class KeepAliveClient {
 public:
  KeepAliveClient(std::string host, unsigned short port,
                  std::map<std::string, std::string> headers = {})
      : host_(std::move(host)), port_(port), headers_(std::move(headers)), stream_(io_) {}

  HttpResponse request(boost::beast::http::verb method, const std::string& target,
                       const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {}) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      HttpResponse out;
      try {
        namespace http = boost::beast::http;
        if (!connected_) {
          stream_.expires_after(std::chrono::seconds(10));
          stream_.connect(
              boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host_), port_));
          connected_ = true;
        }
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, host_);
        for (const auto& [k, v] : headers_) req.set(k, v);
        for (const auto& [k, v] : headers) req.set(k, v);
        if (method == http::verb::post) {
          req.set(http::field::content_type, "application/json");
          req.body() = body;
          req.prepare_payload();
        }
        stream_.expires_after(std::chrono::seconds(15));
        http::write(stream_, req);
        http::response<http::string_body> res;
        http::read(stream_, buffer_, res);
        out.status = static_cast<int>(res.result_int());
        out.body = res.body();
        for (const auto& f : res)
          out.headers[std::string(f.name_string())] = std::string(f.value());
        if (!res.keep_alive()) reset();
        return out;
      } catch (const std::exception& e) {
        reset();
        out.error = e.what();
        if (attempt == 1) return out;
      }
    }
    return {};
  }
  HttpResponse get(const std::string& target,
                   const std::map<std::string, std::string>& headers = {}) {
    return request(boost::beast::http::verb::get, target, {}, headers);
  }

 private:
  void reset() {
    boost::beast::error_code ec;
    stream_.socket().close(ec);
    buffer_.clear();
    connected_ = false;
  }
  std::string host_;
  unsigned short port_;
  std::map<std::string, std::string> headers_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace xbanku::test
