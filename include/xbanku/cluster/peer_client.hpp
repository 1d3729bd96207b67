#pragma once
// HTTP/1.1 GETs to other instances (query forwarding, DESIGN §8), awaited on the service's
// io_context, over plain TCP or TLS (https:// peers, verified against --tls-ca). Every request
// has a deadline covering the wait for a slot, connect, TLS handshake, write and read. Idle
// keep-alive connections are pooled per peer, so forwarding does not pay a handshake per
// request; a pooled connection the peer closed meanwhile is retried once on a fresh one. At
// most max_in_flight_per_peer requests go to one peer at a time: a burst of queries waits for a
// slot (within its deadline) instead of opening a connection each (DESIGN §9).
// Thread-safety: single-executor, like the rest of the service.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace xbanku::cluster {

// The hop counter of a forwarded request. A request that arrives with it set was forwarded by
// another instance; it is answered locally and never forwarded again (no loops).
inline constexpr std::string_view kHopsHeader = "X-Xbanku-Hops";
// The credential only instances of one cluster hold (auth::peer_credential): a request that
// carries a valid one is an instance's; with authentication on, nothing else is.
inline constexpr std::string_view kPeerHeader = "X-Xbanku-Peer";

struct PeerResponse {
  unsigned status = 0;
  std::string body;
  std::string served_by;                    // X-Served-By
  bool stale = false;                       // X-Stale: true
  std::string served_role;                  // X-Served-Role (owner | standby)
  std::optional<std::int64_t> replica_lag;  // X-Replica-Lag
};

// `s` with every byte but RFC 3986's unreserved ones as %XX (for a path segment or query value).
[[nodiscard]] std::string percent_encode(std::string_view s);

struct PeerUrl {
  bool tls = false;  // https://
  std::string host;
  std::string port;
};
// "http://host:port" or "https://host:port", with an optional trailing "/"; nullopt otherwise.
[[nodiscard]] std::optional<PeerUrl> parse_peer_url(std::string_view url);
// The same, split into host and port; false otherwise.
[[nodiscard]] bool split_peer_url(std::string_view url, std::string& host, std::string& port);

// Signs a request to another instance: the X-Xbanku-Peer value for (method, target).
using PeerSigner = std::function<std::string(std::string_view method, std::string_view target)>;

struct PeerClientConfig {
  // For https:// peers: verifies their certificates (and host names). Null: https peers are
  // unreachable.
  std::shared_ptr<boost::asio::ssl::context> tls;
  // Adds X-Xbanku-Peer to every request; empty without authentication.
  PeerSigner sign;
  std::size_t max_in_flight_per_peer = 32;
  std::size_t idle_per_peer = 16;  // pooled keep-alive connections
};

class PeerClient {
 public:
  explicit PeerClient(boost::asio::any_io_executor ex, PeerClientConfig config = {});
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  // GET `target` (path + query) from the instance at `url`, sending kHopsHeader = `hops`.
  // Errors: errc::timeout past `timeout` (waiting for a slot included), errc::peer_unreachable
  // when the peer cannot be reached, refuses the TLS handshake or answers garbage,
  // errc::invalid_config for a malformed url.
  [[nodiscard]] boost::asio::awaitable<boost::system::result<PeerResponse>> get(
      std::string url, std::string target, int hops, std::chrono::milliseconds timeout);

 private:
  struct Pool;
  boost::asio::any_io_executor ex_;
  PeerClientConfig config_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace xbanku::cluster
