// UpdateHub: local and relayed account updates to WebSocket subscribers (see the header).
#include "xbanku/app/update_hub.hpp"

#include "xbanku/wire/json.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace xbanku::app {

namespace asio = boost::asio;

UpdateHub::UpdateHub(asio::any_io_executor ex, const Directory& directory, UpdateHubConfig config)
    : ex_(ex), directory_(directory), config_(config), feed_tasks_(ex) {}

std::uint64_t UpdateHub::subscribe(Listener listener) {
  listeners_.emplace(++next_token_, std::move(listener));
  return next_token_;
}

void UpdateHub::unsubscribe(std::uint64_t token) {
  listeners_.erase(token);
}

void UpdateHub::client_subscriptions(std::ptrdiff_t delta) {
  client_subscriptions_ += delta;
}

void UpdateHub::publish(const AccountUpdate& update) {
  // A listener may unsubscribe (close its session) while we iterate.
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    auto current = it++;
    current->second(update);
  }
}

void UpdateHub::start_feed(const std::string& url) {
  auto feed = std::make_shared<cluster::PeerFeed>(ex_, url, config_.peer);
  feeds_[url] = feed;
  feed_tasks_.spawn(
      [](UpdateHub& self, std::shared_ptr<cluster::PeerFeed> f) -> asio::awaitable<void> {
        const auto on_frame = [&self](std::string_view frame) { self.on_frame(frame); };
        const auto ec = co_await f->run(on_frame, self.config_.feed_connect);
        if (ec) {
          spdlog::debug("updates: feed from {} ended: {}", f->url(), ec.message());
          if (!self.stopping_) {
            asio::steady_timer pause(self.ex_, self.config_.reconnect_pause);
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
          }
        }
        if (auto it = self.feeds_.find(f->url()); it != self.feeds_.end() && it->second == f) {
          self.feeds_.erase(it);
        }
      }(*this, feed),
      "peer update feed");
}

void UpdateHub::on_frame(std::string_view frame) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(frame, ec);
  auto update = ec ? std::nullopt : wire::update_from_json(v);
  if (!update) return;  // e.g. the reply to our subscribe request
  publish_replica(AccountUpdate{std::move(update->account), update->pos, true});
}

void UpdateHub::publish_replica(AccountUpdate u) {
  u.relayed = true;
  // A new owner replays its partitions from its own stored offsets, and a standby folds what
  // the owner's feed also sends: drop what was already published (the updates of one record
  // share its offset).
  auto& [high, accounts] = high_[u.pos.partition];
  if (u.pos.offset < high) return;
  if (u.pos.offset > high) {
    high = u.pos.offset;
    accounts.clear();
  } else if (std::find(accounts.begin(), accounts.end(), u.account.id) != accounts.end()) {
    return;
  }
  accounts.push_back(u.account.id);
  publish(u);
}

asio::awaitable<void> UpdateHub::run() {
  asio::steady_timer tick(ex_);
  while (!stopping_) {
    std::set<std::string> wanted;
    if (client_subscriptions_ > 0) {
      for (const auto& owner : directory_.by_partition(config_.partitions)) {
        if (owner && owner->instance != directory_.self()) wanted.insert(owner->url);
      }
    }
    for (auto& [url, feed] : feeds_) {
      if (!wanted.contains(url)) feed->stop();
    }
    for (const auto& url : wanted) {
      if (!feeds_.contains(url)) start_feed(url);
    }
    tick.expires_after(config_.tick);
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  for (auto& [url, feed] : feeds_) feed->stop();
  co_await feed_tasks_.wait();
  spdlog::info("updates: stopped");
}

}  // namespace xbanku::app
