#pragma once
// Test support for TLS (DESIGN §9): a throwaway CA and a certificate for 127.0.0.1 made with
// the `openssl` command, and blocking HTTPS and WSS clients that verify the server against
// that CA (host name included), as any careful client would.

#include "support/child_process.hpp"
#include "support/http_client.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace xbanku::test {

struct TestCa {
  std::string ca;    // the CA certificate (PEM): what clients and peers trust
  std::string cert;  // the server certificate for 127.0.0.1 and localhost, signed by the CA
  std::string key;   // its private key
  std::string error;

  // Makes all three in `dir` with openssl (P-256 keys, valid for a day).
  static TestCa create(const std::string& dir) {
    std::filesystem::create_directories(dir);
    TestCa t{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key", {}};
    const std::string ext = dir + "/san.ext";
    std::ofstream(ext) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    const std::vector<std::vector<std::string>> steps{
        {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", dir + "/ca.key", "-out", t.ca,
         "-days", "1", "-subj", "/CN=xbanku test CA"},
        {"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", t.key, "-out", dir + "/server.csr", "-subj", "/CN=127.0.0.1"},
        {"/usr/bin/openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", t.ca, "-CAkey",
         dir + "/ca.key", "-CAcreateserial", "-out", t.cert, "-days", "1", "-extfile", ext},
    };
    for (const auto& step : steps) {
      const auto r = run(step, dir + "/openssl.log", std::chrono::seconds(30));
      if (r.exit_code != 0) {
        t.error = "openssl failed (scripts/install-deps.sh installs it): " + r.output;
        return t;
      }
    }
    return t;
  }

  [[nodiscard]] std::vector<std::string> flags() const {
    return {"--tls-cert", cert, "--tls-key", key, "--tls-ca", ca};
  }
};

inline std::shared_ptr<boost::asio::ssl::context> client_context(const std::string& ca_file) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->load_verify_file(ca_file);
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

// One HTTPS request on a fresh connection, verifying the server against `ca_file`.
inline HttpResponse https_request(unsigned short port, const std::string& ca_file,
                                  boost::beast::http::verb method, const std::string& target,
                                  const std::string& body = {},
                                  const std::map<std::string, std::string>& headers = {}) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace ssl = boost::asio::ssl;
  HttpResponse out;
  try {
    boost::asio::io_context io;
    auto ctx = client_context(ca_file);
    beast::ssl_stream<beast::tcp_stream> stream(io, *ctx);
    // No SNI: RFC 6066 leaves IP literals out of it; the certificate names IP:127.0.0.1.
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(15));
    beast::get_lowest_layer(stream).connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    stream.handshake(ssl::stream_base::client);
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (method == http::verb::post) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

// A WSS client: verified handshake, then one JSON text frame at a time.
class WssClient {
 public:
  WssClient(unsigned short port, const std::string& ca_file, const std::string& token)
      : ctx_(client_context(ca_file)), ws_(io_, *ctx_) {
    namespace beast = boost::beast;
    namespace ssl = boost::asio::ssl;
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.expires_after(std::chrono::seconds(10));
    tcp.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    ws_.next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    ws_.next_layer().handshake(ssl::stream_base::client);
    ws_.set_option(
        beast::websocket::stream_base::decorator([token](beast::websocket::request_type& req) {
          req.set(beast::http::field::authorization, "Bearer " + token);
        }));
    ws_.handshake("127.0.0.1", "/ws");
    tcp.expires_never();
    ws_.text(true);
  }
  void send(const std::string& text) { ws_.write(boost::asio::buffer(text)); }
  // The next frame, or an empty object after `timeout`. A read still pending at the timeout
  // stays pending for the next call (cancelling it would close the WebSocket); a synchronous
  // read would ignore any timeout.
  boost::json::object next(std::chrono::milliseconds timeout) {
    if (!pending_) {
      pending_ = true;
      buffer_.clear();
      ws_.async_read(buffer_, [this](boost::beast::error_code e, std::size_t) {
        pending_ = false;
        ec_ = e;
      });
    }
    io_.restart();
    io_.run_for(timeout);
    if (pending_ || ec_) return {};
    boost::system::error_code parse_ec;
    auto v = boost::json::parse(boost::beast::buffers_to_string(buffer_.data()), parse_ec);
    return !parse_ec && v.is_object() ? v.as_object() : boost::json::object{};
  }

 private:
  boost::asio::io_context io_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>> ws_;
  boost::beast::flat_buffer buffer_;
  bool pending_ = false;
  boost::beast::error_code ec_;
};

}  // namespace xbanku::test
