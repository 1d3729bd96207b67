#pragma once
// Account updates from the other instances (DESIGN §4 over §8). While a local WebSocket client
// subscribes, the relay follows every other owner's /ws (each sends only what it projects
// itself, see cluster::PeerFeed) and publishes those updates here too, so that a subscriber
// sees the changes of every partition whichever instance it is connected to. Updates a new
// owner replays after taking a partition over are dropped.
// Thread-safety: single-executor.

#include "xbanku/app/membership.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/app/wait_group.hpp"
#include "xbanku/cluster/peer_feed.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xbanku::app {

class UpdateRelay {
 public:
  // `wanted`: whether any local client subscribes now; `publish`: hands an update to them.
  UpdateRelay(boost::asio::any_io_executor ex, Membership& membership, std::int32_t partitions,
              std::function<bool()> wanted, std::function<void(const AccountUpdate&)> publish);

  // Opens and closes the feeds as subscribers and owners come and go, until stop().
  boost::asio::awaitable<void> run();
  void stop() { stopping_ = true; }

  // One frame from a peer's /ws (public for tests).
  void on_frame(std::string_view frame);

 private:
  void start_feed(const std::string& url);

  boost::asio::any_io_executor ex_;
  Membership& membership_;
  std::int32_t partitions_;
  std::function<bool()> wanted_;
  std::function<void(const AccountUpdate&)> publish_;
  std::map<std::string, std::shared_ptr<cluster::PeerFeed>> feeds_;  // by peer URL
  WaitGroup feed_tasks_;
  // Per partition: the highest offset relayed, and the accounts already published at it.
  std::map<std::int32_t, std::pair<std::int64_t, std::vector<std::string>>> high_;
  bool stopping_ = false;
};

}  // namespace xbanku::app
