#pragma once
// This instance's view of the group (DESIGN §8): it announces the partitions it owns on the
// compacted topic `<topic>.members` after every rebalance and on a clean stop, and tails that
// topic to know every partition's owner (cluster::MemberTable).
// Thread-safety: single-executor, like the rest of the service.

#include "xbanku/app/config.hpp"
#include "xbanku/app/wait_group.hpp"
#include "xbanku/cluster/members.hpp"
#include "xbanku/log/kafka_config.hpp"
#include "xbanku/log/producer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xbanku::app {

// `<topic>.members`
[[nodiscard]] std::string members_topic(const Config& config);

class Membership {
 public:
  // `self` names this instance (X-Served-By, the announcement key); `url` is how peers reach it.
  Membership(boost::asio::any_io_executor ex, log::KafkaConfig kafka, std::string topic, std::string self,
             std::string url, log::Producer& producer);

  // Tails `<topic>.members` from its beginning until stop(); read errors are retried. Returns
  // once the announcements still being sent are done.
  boost::asio::awaitable<void> run();
  void stop();

  // Announces `partitions` (the latest call wins; sent in the background with retries).
  void announce(std::vector<std::int32_t> partitions);
  // The last announcement, awaited (a clean stop retracts this instance's claims before leaving).
  boost::asio::awaitable<void> announce_now(std::vector<std::int32_t> partitions);

  [[nodiscard]] std::optional<cluster::Owner> owner(std::int32_t partition) const { return table_.owner(partition); }
  [[nodiscard]] std::vector<cluster::Owner> owners(std::int32_t partitions) const { return table_.owners(partitions); }
  [[nodiscard]] const std::string& self() const noexcept { return self_; }

 private:
  boost::asio::awaitable<void> send_latest();

  boost::asio::any_io_executor ex_;
  log::KafkaConfig kafka_;
  std::string topic_;
  std::string self_;
  std::string url_;
  log::Producer& producer_;
  cluster::MemberTable table_;
  std::vector<std::int32_t> latest_;  // what to announce
  std::uint64_t generation_ = 0;      // bumped by announce(); a sender stops when outdated
  bool stopping_ = false;
  boost::asio::steady_timer wake_;   // the reader's pause between retries
  boost::asio::steady_timer retry_;  // the senders' back-off; stop() and announce() cut it short
  WaitGroup senders_;
};

}  // namespace xbanku::app
