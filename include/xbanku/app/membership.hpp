#pragma once
// Who owns which partition, as this instance knows it (DESIGN §8). Membership announces the
// partitions this instance owns on the compacted topic `<topic>.members` after every rebalance
// and on a clean stop, and tails that topic into a cluster::MemberTable. Components that route
// (queries, commands, the update hub) see it through the Directory interface, so that tests can
// give them any cluster they like.
// Thread-safety: single-executor, like the rest of the service.

#include "xbanku/cluster/members.hpp"
#include "xbanku/common/task_group.hpp"
#include "xbanku/log/kafka_config.hpp"
#include "xbanku/metrics/registry.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace xbanku::log {
class Producer;
}

namespace xbanku::app {

class Directory {
 public:
  virtual ~Directory() = default;
  // The instance serving `partition` as last announced, if any claims it.
  [[nodiscard]] virtual std::optional<cluster::Owner> owner(std::int32_t partition) const = 0;
  // The owner of each partition [0, partitions), by index.
  [[nodiscard]] virtual std::vector<std::optional<cluster::Owner>> by_partition(
      std::int32_t partitions) const = 0;
  // This instance's name (its announcements' key, X-Served-By).
  [[nodiscard]] virtual const std::string& self() const = 0;
  // Every instance that has announced (GET /cluster); none by default (test directories).
  [[nodiscard]] virtual std::vector<cluster::Owner> members() const { return {}; }
};

// `<topic>.members`
[[nodiscard]] std::string members_topic(std::string_view topic);

// With a cluster secret, announcements carry a MAC (cluster::signed_payload) and unsigned or
// forged ones are ignored; without one (protected mode, loopback only) every one counts.
struct AnnouncementAuth {
  std::function<std::string(std::string_view payload)> sign;
  std::function<bool(std::string_view payload, std::string_view mac)> verify;
  [[nodiscard]] bool enabled() const { return static_cast<bool>(sign); }
};

class Membership final : public Directory {
 public:
  // `self` names this instance; `url` is how peers reach it.
  Membership(boost::asio::any_io_executor ex, log::KafkaConfig kafka, std::string topic,
             std::string self, std::string url, log::Producer& producer, AnnouncementAuth auth = {},
             metrics::Registry* registry = nullptr);

  // Tails `<topic>.members` from its beginning until stop(); read errors are retried. Returns
  // once the announcements still being sent are done.
  boost::asio::awaitable<void> run();
  void stop();

  // Announces `partitions` (the latest call wins; sent in the background with retries).
  void announce(std::vector<std::int32_t> partitions);
  // The last announcement, awaited (a clean stop retracts this instance's claims before leaving).
  boost::asio::awaitable<void> announce_now(std::vector<std::int32_t> partitions);

  [[nodiscard]] std::optional<cluster::Owner> owner(std::int32_t partition) const override {
    return table_.owner(partition);
  }
  [[nodiscard]] std::vector<std::optional<cluster::Owner>> by_partition(
      std::int32_t partitions) const override {
    return table_.by_partition(partitions);
  }
  [[nodiscard]] const std::string& self() const override { return self_; }
  [[nodiscard]] std::vector<cluster::Owner> members() const override { return table_.members(); }

 private:
  boost::asio::awaitable<void> send_latest();
  [[nodiscard]] cluster::Announcement announcement() const;

  boost::asio::any_io_executor ex_;
  log::KafkaConfig kafka_;
  std::string topic_;
  std::string self_;
  std::string url_;
  log::Producer& producer_;
  AnnouncementAuth auth_;
  metrics::Counter* rejected_ = nullptr;  // unsigned or forged announcements ignored
  cluster::MemberTable table_;
  std::vector<std::int32_t> latest_;  // what to announce
  std::uint64_t generation_ = 0;      // bumped by announce(); a sender stops when outdated
  bool stopping_ = false;
  boost::asio::steady_timer wake_;   // the reader's pause between retries
  boost::asio::steady_timer retry_;  // the senders' back-off; stop() and announce() cut it short
  TaskGroup senders_;
};

}  // namespace xbanku::app
