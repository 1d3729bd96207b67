#include "xbanku/cluster/peer_feed.hpp"

#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace xbanku::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {
constexpr auto kToken = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxFrame = 1024 * 1024;
}  // namespace

struct PeerFeed::Impl {
  explicit Impl(asio::any_io_executor ex) : ws(ex) {}
  websocket::stream<beast::tcp_stream> ws;
  bool stopped = false;
};

PeerFeed::PeerFeed(asio::any_io_executor ex, std::string url)
    : url_(std::move(url)), impl_(std::make_unique<Impl>(std::move(ex))) {}
PeerFeed::~PeerFeed() = default;

void PeerFeed::stop() {
  impl_->stopped = true;
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
}

asio::awaitable<boost::system::error_code> PeerFeed::run(
    std::function<void(std::string_view)> on_frame, std::chrono::milliseconds connect_timeout) {
  std::string host, port;
  if (!split_peer_url(url_, host, port)) co_return make_error_code(errc::invalid_config);
  auto& ws = impl_->ws;
  auto& lowest = beast::get_lowest_layer(ws);
  tcp::resolver resolver(lowest.get_executor());
  lowest.expires_after(connect_timeout);
  auto [rerr, endpoints] = co_await resolver.async_resolve(host, port, kToken);
  if (rerr || impl_->stopped) co_return make_error_code(errc::peer_unreachable);
  auto [cerr, ep] = co_await lowest.async_connect(endpoints, kToken);
  if (cerr == beast::error::timeout) co_return make_error_code(errc::timeout);
  if (cerr || impl_->stopped) co_return make_error_code(errc::peer_unreachable);
  lowest.socket().set_option(tcp::no_delay(true));

  ws.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(kHopsHeader, "1"); }));
  ws.read_message_max(kMaxFrame);
  auto [herr] = co_await ws.async_handshake(host + ":" + port, "/ws", kToken);
  if (herr == beast::error::timeout) co_return make_error_code(errc::timeout);
  if (herr || impl_->stopped) co_return make_error_code(errc::peer_unreachable);
  // From here the websocket's own timeouts apply: pings, and a peer silent for 30 s is gone.
  lowest.expires_never();
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
  timeouts.idle_timeout = std::chrono::seconds(30);
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.text(true);

  static constexpr std::string_view kSubscribe = R"({"id":"peer","op":"subscribe","accounts":"*"})";
  auto [werr, written] = co_await ws.async_write(asio::buffer(kSubscribe), kToken);
  if (werr) co_return make_error_code(errc::peer_unreachable);

  beast::flat_buffer buffer;
  while (!impl_->stopped) {
    auto [ec, n] = co_await ws.async_read(buffer, kToken);
    if (ec) break;
    on_frame(std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()));
    buffer.consume(buffer.size());
  }
  co_return impl_->stopped ? boost::system::error_code{} : make_error_code(errc::peer_unreachable);
}

}  // namespace xbanku::cluster
