#include "xbanku/cluster/peer_feed.hpp"

#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <variant>

namespace xbanku::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kToken = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxFrame = 1024 * 1024;

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
}  // namespace

struct PeerFeed::Impl {
  asio::any_io_executor ex;
  PeerClientConfig config;
  std::variant<std::monostate, std::unique_ptr<PlainWs>, std::unique_ptr<TlsWs>> ws;
  bool stopped = false;

  beast::tcp_stream* lowest() {
    if (auto* p = std::get_if<std::unique_ptr<PlainWs>>(&ws)) return &beast::get_lowest_layer(**p);
    if (auto* t = std::get_if<std::unique_ptr<TlsWs>>(&ws)) return &beast::get_lowest_layer(**t);
    return nullptr;
  }

  template <class Ws>
  asio::awaitable<error_code> follow(Ws& ws, const PeerUrl& url,
                                     const std::function<void(std::string_view)>& on_frame,
                                     std::chrono::milliseconds connect_timeout) {
    auto& tcp_stream = beast::get_lowest_layer(ws);
    tcp::resolver resolver(ex);
    tcp_stream.expires_after(connect_timeout);
    auto [rerr, endpoints] = co_await resolver.async_resolve(url.host, url.port, kToken);
    if (rerr || stopped) co_return make_error_code(errc::peer_unreachable);
    auto [cerr, ep] = co_await tcp_stream.async_connect(endpoints, kToken);
    if (cerr == beast::error::timeout) co_return make_error_code(errc::timeout);
    if (cerr || stopped) co_return make_error_code(errc::peer_unreachable);
    tcp_stream.socket().set_option(tcp::no_delay(true));
    if constexpr (std::is_same_v<Ws, TlsWs>) {
      auto& tls = ws.next_layer();
      if (!SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str())) {
        co_return make_error_code(errc::peer_unreachable);
      }
      tls.set_verify_mode(asio::ssl::verify_peer);
      tls.set_verify_callback(asio::ssl::host_name_verification(url.host));
      auto [terr] = co_await tls.async_handshake(asio::ssl::stream_base::client, kToken);
      if (terr == beast::error::timeout) co_return make_error_code(errc::timeout);
      if (terr || stopped) co_return make_error_code(errc::peer_unreachable);
    }

    const std::string credential = config.sign ? config.sign("GET", "/ws") : std::string();
    ws.set_option(websocket::stream_base::decorator([credential](websocket::request_type& req) {
      req.set(kHopsHeader, "1");
      if (!credential.empty()) req.set(kPeerHeader, credential);
    }));
    ws.read_message_max(kMaxFrame);
    auto [herr] = co_await ws.async_handshake(url.host + ":" + url.port, "/ws", kToken);
    if (herr == beast::error::timeout) co_return make_error_code(errc::timeout);
    if (herr || stopped) co_return make_error_code(errc::peer_unreachable);
    // From here the websocket's own timeouts apply: pings, and a peer silent for 30 s is gone.
    tcp_stream.expires_never();
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.idle_timeout = std::chrono::seconds(30);
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.text(true);

    static constexpr std::string_view kSubscribe =
        R"({"id":"peer","op":"subscribe","accounts":"*"})";
    auto [werr, written] = co_await ws.async_write(asio::buffer(kSubscribe), kToken);
    if (werr) co_return make_error_code(errc::peer_unreachable);

    beast::flat_buffer buffer;
    while (!stopped) {
      auto [ec, n] = co_await ws.async_read(buffer, kToken);
      if (ec) break;
      on_frame(std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()));
      buffer.consume(buffer.size());
    }
    co_return stopped ? error_code{} : make_error_code(errc::peer_unreachable);
  }
};

PeerFeed::PeerFeed(asio::any_io_executor ex, std::string url, const PeerClientConfig& config)
    : url_(std::move(url)), impl_(std::make_unique<Impl>()) {
  impl_->ex = std::move(ex);
  impl_->config = config;
}
PeerFeed::~PeerFeed() = default;

void PeerFeed::stop() {
  impl_->stopped = true;
  if (auto* lowest = impl_->lowest()) {
    beast::error_code ec;
    lowest->socket().close(ec);
  }
}

asio::awaitable<error_code> PeerFeed::run(std::function<void(std::string_view)> on_frame,
                                          std::chrono::milliseconds connect_timeout) {
  const auto url = parse_peer_url(url_);
  if (!url) co_return make_error_code(errc::invalid_config);
  if (url->tls) {
    if (!impl_->config.tls) co_return make_error_code(errc::peer_unreachable);
    auto& ws = impl_->ws.emplace<std::unique_ptr<TlsWs>>(
        std::make_unique<TlsWs>(impl_->ex, *impl_->config.tls));
    co_return co_await impl_->follow(*ws, *url, on_frame, connect_timeout);
  }
  auto& ws = impl_->ws.emplace<std::unique_ptr<PlainWs>>(std::make_unique<PlainWs>(impl_->ex));
  co_return co_await impl_->follow(*ws, *url, on_frame, connect_timeout);
}

}  // namespace xbanku::cluster
