#include "xbanku/cluster/peer_client.hpp"

#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <optional>

namespace xbanku::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kIdlePerPeer = 16;           // pooled keep-alive connections per peer
constexpr std::size_t kMaxBody = 8 * 1024 * 1024;  // a page of 1000 accounts is far smaller

}  // namespace

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '.' || u == '_' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

bool split_peer_url(std::string_view url, std::string& host, std::string& port) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) return false;
  url.remove_prefix(scheme.size());
  if (url.ends_with('/')) url.remove_suffix(1);
  const auto colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == url.size()) return false;
  const auto p = url.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos) return false;
  if (url.substr(0, colon).find('/') != std::string_view::npos) return false;
  host = std::string(url.substr(0, colon));
  port = std::string(p);
  return true;
}

struct PeerClient::Pool {
  std::map<std::string, std::vector<beast::tcp_stream>, std::less<>> idle;
};

PeerClient::PeerClient(asio::any_io_executor ex)
    : ex_(std::move(ex)), pool_(std::make_unique<Pool>()) {}
PeerClient::~PeerClient() = default;

asio::awaitable<boost::system::result<PeerResponse>> PeerClient::get(
    std::string url, std::string target, int hops, std::chrono::milliseconds timeout) {
  std::string host, port;
  if (!split_peer_url(url, host, port)) co_return make_error_code(errc::invalid_config);
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(kHopsHeader, std::to_string(hops));
  req.keep_alive(true);

  // Two tries: a pooled connection may have been closed by the peer's idle timeout; a fresh
  // one is tried once more. A fresh connection that fails is not retried.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<beast::tcp_stream> stream;
    bool pooled = false;
    if (auto it = pool_->idle.find(url); it != pool_->idle.end() && !it->second.empty()) {
      stream.emplace(std::move(it->second.back()));
      it->second.pop_back();
      pooled = true;
    } else {
      stream.emplace(ex_);
      tcp::resolver resolver(ex_);
      stream->expires_at(deadline);
      // Resolving a numeric host answers at once; a name goes through Asio's resolver thread.
      auto [rerr, endpoints] =
          co_await resolver.async_resolve(host, port, asio::as_tuple(asio::use_awaitable));
      if (rerr) co_return make_error_code(errc::peer_unreachable);
      auto [cerr, ep] =
          co_await stream->async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
      if (cerr == beast::error::timeout) co_return make_error_code(errc::timeout);
      if (cerr) co_return make_error_code(errc::peer_unreachable);
      stream->socket().set_option(tcp::no_delay(true));
    }
    stream->expires_at(deadline);
    auto [werr, written] =
        co_await http::async_write(*stream, req, asio::as_tuple(asio::use_awaitable));
    if (werr == beast::error::timeout) co_return make_error_code(errc::timeout);
    if (werr) {
      if (pooled) continue;
      co_return make_error_code(errc::peer_unreachable);
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    auto [rerr, read] =
        co_await http::async_read(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (rerr == beast::error::timeout) co_return make_error_code(errc::timeout);
    if (rerr) {
      // Nothing read on a pooled connection: the peer closed it while idle; try a fresh one.
      if (pooled && (rerr == http::error::end_of_stream || rerr == asio::error::connection_reset))
        continue;
      co_return make_error_code(errc::peer_unreachable);
    }
    auto res = parser.release();
    PeerResponse out;
    out.status = res.result_int();
    out.body = std::move(res.body());
    if (auto it = res.find("X-Served-By"); it != res.end())
      out.served_by = std::string(it->value());
    if (auto it = res.find("X-Stale"); it != res.end()) out.stale = it->value() == "true";
    if (res.keep_alive()) {
      auto& idle = pool_->idle[url];
      if (idle.size() < kIdlePerPeer) {
        stream->expires_never();
        idle.push_back(std::move(*stream));
      }
    }
    co_return out;
  }
  co_return make_error_code(errc::peer_unreachable);
}

}  // namespace xbanku::cluster
