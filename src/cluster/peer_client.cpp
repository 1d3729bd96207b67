#include "xbanku/cluster/peer_client.hpp"

#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <charconv>
#include <deque>
#include <list>
#include <map>
#include <variant>
#include <vector>

namespace xbanku::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t kMaxBody = 8 * 1024 * 1024;  // a page of 1000 accounts is far smaller
constexpr auto kToken = asio::as_tuple(asio::use_awaitable);

using Plain = beast::tcp_stream;
using Tls = beast::ssl_stream<beast::tcp_stream>;
// One connection to a peer; TLS streams are held by pointer (they cannot be moved into a pool
// cheaply otherwise).
using Stream = std::variant<std::unique_ptr<Plain>, std::unique_ptr<Tls>>;

beast::tcp_stream& lowest(Stream& s) {
  return std::visit([](auto& p) -> beast::tcp_stream& { return beast::get_lowest_layer(*p); }, s);
}

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

std::optional<PeerUrl> parse_peer_url(std::string_view url) {
  PeerUrl out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  if (url.ends_with('/')) url.remove_suffix(1);
  const auto colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == url.size()) return std::nullopt;
  const auto p = url.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  if (url.substr(0, colon).find('/') != std::string_view::npos) return std::nullopt;
  out.host = std::string(url.substr(0, colon));
  out.port = std::string(p);
  return out;
}

bool split_peer_url(std::string_view url, std::string& host, std::string& port) {
  auto parsed = parse_peer_url(url);
  if (!parsed) return false;
  host = std::move(parsed->host);
  port = std::move(parsed->port);
  return true;
}

// A pooled connection idle longer than this is closed rather than reused: the peer's server
// closes keep-alive connections after its idle timeout (30 s by default), and a request on a
// connection it is closing would fail.
constexpr auto kMaxIdle = std::chrono::seconds(10);

struct PeerClient::Pool {
  struct Idle {
    Stream stream;
    std::chrono::steady_clock::time_point since;
  };
  struct Peer {
    std::vector<Idle> idle;  // most recently used last
    std::size_t in_flight = 0;
    std::list<asio::steady_timer*> waiting;  // requests waiting for a slot, oldest first
  };
  std::map<std::string, Peer, std::less<>> peers;  // by URL
};

PeerClient::PeerClient(asio::any_io_executor ex, PeerClientConfig config)
    : ex_(std::move(ex)), config_(std::move(config)), pool_(std::make_unique<Pool>()) {}
PeerClient::~PeerClient() = default;

asio::awaitable<boost::system::result<PeerResponse>> PeerClient::get(
    std::string url, std::string target, int hops, std::chrono::milliseconds timeout) {
  const auto parsed = parse_peer_url(url);
  if (!parsed) co_return make_error_code(errc::invalid_config);
  if (parsed->tls && !config_.tls) co_return make_error_code(errc::peer_unreachable);
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  // A slot first: no more than max_in_flight_per_peer requests to one peer at a time.
  auto& peer = pool_->peers[url];
  while (peer.in_flight >= config_.max_in_flight_per_peer) {
    asio::steady_timer slot(ex_, deadline);
    struct Waiting {  // leaves the queue however the wait ends (cancellation included)
      std::list<asio::steady_timer*>& queue;
      std::list<asio::steady_timer*>::iterator it;
      ~Waiting() { queue.erase(it); }
    } waiting{peer.waiting, peer.waiting.insert(peer.waiting.end(), &slot)};
    auto [ec] = co_await slot.async_wait(kToken);
    if (!ec) co_return make_error_code(errc::timeout);  // the deadline passed first
  }
  ++peer.in_flight;
  struct Slot {
    Pool::Peer& peer;
    ~Slot() {
      --peer.in_flight;
      if (!peer.waiting.empty()) peer.waiting.front()->cancel();
    }
  } slot{peer};

  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, parsed->host);
  req.set(kHopsHeader, std::to_string(hops));
  if (config_.sign) req.set(kPeerHeader, config_.sign("GET", target));
  req.keep_alive(true);

  // Connections idle too long are closed unused (see kMaxIdle).
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(peer.idle, [&](const Pool::Idle& i) { return now - i.since > kMaxIdle; });

  // Two tries: a pooled connection may still have been closed by the peer (it restarted, or
  // its idle timeout is shorter); the second try is always on a fresh connection, and the
  // other pooled ones, as old or older, are dropped with it. A fresh connection that fails is
  // not retried.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<Stream> stream;
    bool pooled = false;
    if (attempt == 0 && !peer.idle.empty()) {
      stream.emplace(std::move(peer.idle.back().stream));
      peer.idle.pop_back();
      pooled = true;
    } else {
      if (parsed->tls) {
        stream.emplace(std::make_unique<Tls>(ex_, *config_.tls));
      } else {
        stream.emplace(std::make_unique<Plain>(ex_));
      }
      auto& tcp_stream = lowest(*stream);
      tcp::resolver resolver(ex_);
      tcp_stream.expires_at(deadline);
      // Resolving a numeric host answers at once; a name goes through Asio's resolver thread.
      auto [rerr, endpoints] = co_await resolver.async_resolve(parsed->host, parsed->port, kToken);
      if (rerr) co_return make_error_code(errc::peer_unreachable);
      auto [cerr, ep] = co_await tcp_stream.async_connect(endpoints, kToken);
      if (cerr == beast::error::timeout) co_return make_error_code(errc::timeout);
      if (cerr) co_return make_error_code(errc::peer_unreachable);
      tcp_stream.socket().set_option(tcp::no_delay(true));
      if (auto* tls = std::get_if<std::unique_ptr<Tls>>(&*stream)) {
        // The peer's certificate must name the host we asked for, and chain to --tls-ca.
        if (!SSL_set_tlsext_host_name((*tls)->native_handle(), parsed->host.c_str())) {
          co_return make_error_code(errc::peer_unreachable);
        }
        (*tls)->set_verify_mode(asio::ssl::verify_peer);
        (*tls)->set_verify_callback(asio::ssl::host_name_verification(parsed->host));
        auto [herr] = co_await (*tls)->async_handshake(asio::ssl::stream_base::client, kToken);
        if (herr == beast::error::timeout) co_return make_error_code(errc::timeout);
        if (herr) co_return make_error_code(errc::peer_unreachable);
      }
    }
    lowest(*stream).expires_at(deadline);
    error_code werr = co_await std::visit(
        [&](auto& s) -> asio::awaitable<error_code> {
          auto [ec, n] = co_await http::async_write(*s, req, kToken);
          co_return ec;
        },
        *stream);
    if (werr == beast::error::timeout) co_return make_error_code(errc::timeout);
    if (werr) {
      if (pooled) {
        peer.idle.clear();
        continue;
      }
      co_return make_error_code(errc::peer_unreachable);
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    error_code rerr = co_await std::visit(
        [&](auto& s) -> asio::awaitable<error_code> {
          auto [ec, n] = co_await http::async_read(*s, buffer, parser, kToken);
          co_return ec;
        },
        *stream);
    if (rerr == beast::error::timeout) co_return make_error_code(errc::timeout);
    if (rerr) {
      // Nothing read on a pooled connection: the peer closed it while idle; try a fresh one.
      if (pooled && (rerr == http::error::end_of_stream || rerr == asio::error::connection_reset ||
                     rerr == asio::ssl::error::stream_truncated)) {
        peer.idle.clear();
        continue;
      }
      co_return make_error_code(errc::peer_unreachable);
    }
    auto res = parser.release();
    PeerResponse out;
    out.status = res.result_int();
    out.body = std::move(res.body());
    if (auto it = res.find("X-Served-By"); it != res.end())
      out.served_by = std::string(it->value());
    if (auto it = res.find("X-Stale"); it != res.end()) out.stale = it->value() == "true";
    if (auto it = res.find("X-Served-Role"); it != res.end())
      out.served_role = std::string(it->value());
    if (auto it = res.find("X-Replica-Lag"); it != res.end()) {
      std::int64_t lag = 0;
      const auto v = it->value();
      if (std::from_chars(v.data(), v.data() + v.size(), lag).ec == std::errc{})
        out.replica_lag = lag;
    }
    if (res.keep_alive() && peer.idle.size() < config_.idle_per_peer) {
      lowest(*stream).expires_never();
      peer.idle.push_back({std::move(*stream), std::chrono::steady_clock::now()});
    }
    co_return out;
  }
  co_return make_error_code(errc::peer_unreachable);
}

}  // namespace xbanku::cluster
