#pragma once
// Follows another instance's account updates (DESIGN §4 over §8): a WebSocket to its /ws (WSS
// for an https:// peer), marked as an instance's (kHopsHeader, and the peer credential when
// the cluster has a secret) so that it sends only what it projects itself, with one
// `subscribe "*"`. Each text frame goes to the callback. Bounded connect and handshakes; a
// silent peer is detected by WebSocket pings.
// Thread-safety: single-executor.

#include "xbanku/cluster/peer_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace xbanku::cluster {

class PeerFeed {
 public:
  // `config`: the same TLS context and signer as the PeerClient's.
  PeerFeed(boost::asio::any_io_executor ex, std::string url, const PeerClientConfig& config);
  ~PeerFeed();
  PeerFeed(const PeerFeed&) = delete;
  PeerFeed& operator=(const PeerFeed&) = delete;

  // Connects, subscribes and calls `on_frame` for every frame until stop() or a failure
  // (errc::peer_unreachable, errc::timeout), which it returns. Call once.
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> run(
      std::function<void(std::string_view)> on_frame, std::chrono::milliseconds connect_timeout);
  // Ends run() soon (closes the socket). Idempotent.
  void stop();
  [[nodiscard]] const std::string& url() const noexcept { return url_; }

 private:
  struct Impl;
  std::string url_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xbanku::cluster
