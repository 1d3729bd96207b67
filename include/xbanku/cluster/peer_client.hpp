#pragma once
// HTTP/1.1 GETs to other instances (query forwarding, DESIGN §8), awaited on the service's
// io_context. Every request has a deadline covering connect, write and read. Idle keep-alive
// connections are pooled per peer, so forwarding does not pay a TCP handshake per request;
// a pooled connection the peer closed meanwhile is retried once on a fresh one.
// Thread-safety: single-executor, like the rest of the service.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::cluster {

// The hop counter of a forwarded request. A request that arrives with it set was forwarded by
// another instance; it is answered locally and never forwarded again (no loops).
inline constexpr std::string_view kHopsHeader = "X-Xbanku-Hops";

struct PeerResponse {
  unsigned status = 0;
  std::string body;
  std::string served_by;  // X-Served-By
  bool stale = false;     // X-Stale: true
};

// `s` with every byte but RFC 3986's unreserved ones as %XX (for a path segment or query value).
[[nodiscard]] std::string percent_encode(std::string_view s);

// "http://host:port" or "http://host:port/"; false otherwise.
[[nodiscard]] bool split_peer_url(std::string_view url, std::string& host, std::string& port);

class PeerClient {
 public:
  explicit PeerClient(boost::asio::any_io_executor ex);
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  // GET `target` (path + query) from the instance at `url`, sending kHopsHeader = `hops`.
  // Errors: errc::timeout past `timeout`, errc::peer_unreachable when the peer cannot be
  // reached or answers garbage, errc::invalid_config for a malformed url.
  [[nodiscard]] boost::asio::awaitable<boost::system::result<PeerResponse>> get(
      std::string url, std::string target, int hops, std::chrono::milliseconds timeout);

 private:
  struct Pool;
  boost::asio::any_io_executor ex_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace xbanku::cluster
