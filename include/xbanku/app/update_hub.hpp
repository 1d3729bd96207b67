#pragma once
// The account updates WebSocket subscribers see (DESIGN §4 over §8). The projector publishes
// every change it commits here; while any client (not another instance) subscribes, the hub
// also follows every other owner's /ws (each sends only what it projects itself, see
// cluster::PeerFeed) and publishes those updates too, so a subscriber sees the changes of every
// partition whichever instance it is connected to. Updates a new owner replays after taking a
// partition over are dropped.
// Thread-safety: single-executor.

#include "xbanku/app/membership.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/cluster/peer_feed.hpp"
#include "xbanku/common/task_group.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xbanku::app {

struct UpdateHubConfig {
  std::int32_t partitions = 1;
  std::chrono::milliseconds tick{250};           // how often subscribers and owners are looked at
  std::chrono::milliseconds feed_connect{2000};  // connect + handshake bound of a peer feed
  std::chrono::milliseconds reconnect_pause{1000};  // a failed feed is retried at most this often
  cluster::PeerClientConfig peer;                   // TLS and credential of the feeds
};

class UpdateHub final : public UpdateFeed {
 public:
  UpdateHub(boost::asio::any_io_executor ex, const Directory& directory, UpdateHubConfig config);

  // UpdateFeed
  [[nodiscard]] std::uint64_t subscribe(Listener listener) override;
  void unsubscribe(std::uint64_t token) override;
  void client_subscriptions(std::ptrdiff_t delta) override;

  // Hands an update to every listener (a local commit, or one relayed from a peer).
  void publish(const AccountUpdate& update);
  // An update of a partition another instance projects, folded here by a standby replica or
  // relayed from the owner's feed: published once, whichever comes first (relayed: not sent on
  // to other instances).
  void publish_replica(AccountUpdate update);
  [[nodiscard]] bool has_listeners() const noexcept { return !listeners_.empty(); }

  // Opens and closes the peer feeds as subscribers and owners come and go, until stop().
  boost::asio::awaitable<void> run();
  void stop() { stopping_ = true; }

  // One frame from a peer's /ws (public for tests).
  void on_frame(std::string_view frame);

 private:
  void start_feed(const std::string& url);

  boost::asio::any_io_executor ex_;
  const Directory& directory_;
  UpdateHubConfig config_;
  std::map<std::uint64_t, Listener> listeners_;
  std::uint64_t next_token_ = 0;
  std::ptrdiff_t client_subscriptions_ = 0;
  std::map<std::string, std::shared_ptr<cluster::PeerFeed>> feeds_;  // by peer URL
  TaskGroup feed_tasks_;
  // Per partition: the highest offset relayed, and the accounts already published at it.
  std::map<std::int32_t, std::pair<std::int64_t, std::vector<std::string>>> high_;
  bool stopping_ = false;
};

}  // namespace xbanku::app
