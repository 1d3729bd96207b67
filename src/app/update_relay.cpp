#include "xbanku/app/update_relay.hpp"

#include "xbanku/api/operations.hpp"
#include "xbanku/app/queries.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace xbanku::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
constexpr auto kTick = 250ms;         // how often subscribers and owners are looked at
constexpr auto kReconnectPause = 1s;  // a feed that failed is retried at most once a second
}  // namespace

UpdateRelay::UpdateRelay(asio::any_io_executor ex, Membership& membership, std::int32_t partitions,
                         std::function<bool()> wanted, std::function<void(const AccountUpdate&)> publish)
    : ex_(ex),
      membership_(membership),
      partitions_(partitions),
      wanted_(std::move(wanted)),
      publish_(std::move(publish)),
      feed_tasks_(ex) {}

void UpdateRelay::start_feed(const std::string& url) {
  auto feed = std::make_shared<cluster::PeerFeed>(ex_, url);
  feeds_[url] = feed;
  feed_tasks_.add();
  asio::co_spawn(ex_, [this, feed]() -> asio::awaitable<void> {
    const auto on_frame = [this](std::string_view frame) { this->on_frame(frame); };
    const auto ec = co_await feed->run(on_frame, kForwardTimeout);
    if (ec) {
      spdlog::debug("updates: feed from {} ended: {}", feed->url(), ec.message());
      if (!stopping_) {
        asio::steady_timer pause(ex_, kReconnectPause);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
    if (auto it = feeds_.find(feed->url()); it != feeds_.end() && it->second == feed) feeds_.erase(it);
    feed_tasks_.done();
  }, asio::detached);
}

void UpdateRelay::on_frame(std::string_view frame) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(frame, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* op = o ? o->if_contains("op") : nullptr;
  if (op == nullptr || !op->is_string() || op->get_string() != "update") return;  // e.g. the subscribe reply
  const auto* account = o->if_contains("account");
  const auto* partition = o->if_contains("partition");
  const auto* offset = o->if_contains("offset");
  auto a = account ? api::account_from_json(*account) : std::nullopt;
  if (!a || partition == nullptr || !partition->is_int64() || offset == nullptr || !offset->is_int64()) return;
  AccountUpdate u{std::move(*a), {static_cast<std::int32_t>(partition->get_int64()), offset->get_int64()}, true};
  // A new owner replays its partitions from its own stored offsets: drop what was already
  // published from the old owner (the updates of one record share its offset).
  auto& [high, accounts] = high_[u.pos.partition];
  if (u.pos.offset < high) return;
  if (u.pos.offset > high) {
    high = u.pos.offset;
    accounts.clear();
  } else if (std::find(accounts.begin(), accounts.end(), u.account.id) != accounts.end()) {
    return;
  }
  accounts.push_back(u.account.id);
  publish_(u);
}

asio::awaitable<void> UpdateRelay::run() {
  asio::steady_timer tick(ex_);
  while (!stopping_) {
    std::set<std::string> wanted;
    if (wanted_()) {
      for (const auto& owner : membership_.owners(partitions_)) {
        if (owner.instance != membership_.self()) wanted.insert(owner.url);
      }
    }
    for (auto& [url, feed] : feeds_) {
      if (!wanted.contains(url)) feed->stop();
    }
    for (const auto& url : wanted) {
      if (!feeds_.contains(url)) start_feed(url);
    }
    tick.expires_after(kTick);
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  for (auto& [url, feed] : feeds_) feed->stop();
  co_await feed_tasks_.wait();
  spdlog::info("updates: stopped");
}

}  // namespace xbanku::app
