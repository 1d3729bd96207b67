#pragma once
// Command handling (DESIGN §3, §8): the CommandService the API calls. A command is produced by
// whichever instance receives it; its read-your-writes wait runs here when this instance
// projects the record's partition, else at the partition's owner (a forwarded wait), and it
// follows the partition if the partition moves. A key the view already holds in the command's
// own partition answers its first outcome before anything is written; any other key is written
// and the fold decides (README, "Idempotency keys, transfer ids and placement").
// Thread-safety: single-executor.

#include "xbanku/app/membership.hpp"
#include "xbanku/app/outcome_waits.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/app/projector.hpp"
#include "xbanku/cluster/peer_api.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>

namespace xbanku::log {
class Producer;
}

namespace xbanku::app {

struct CommandsConfig {
  std::string topic;
  std::chrono::milliseconds wait{5000};  // the read-your-writes bound (then 504 pending)
};

class Commands final : public CommandService {
 public:
  Commands(boost::asio::any_io_executor ex, CommandsConfig config, log::Producer& producer,
           const view::Store& store, OutcomeWaits& waits, const Ownership& ownership,
           const Directory& directory, cluster::PeerApi& peers, domain::Placement placement);

  boost::asio::awaitable<CommandReply> execute(domain::Event event, bool wait) override;
  // New commands are refused (errc::shutting_down); those in flight finish.
  void stop() noexcept { stopping_ = true; }

 private:
  boost::asio::awaitable<std::optional<domain::Outcome>> wait_for_projection(
      OutcomeWaits::Ticket& ticket, std::int32_t partition, const std::string& command_id,
      const std::string& principal, std::string& served_by);

  boost::asio::any_io_executor ex_;
  CommandsConfig config_;
  log::Producer& producer_;
  const view::Store& store_;
  OutcomeWaits& waits_;
  const Ownership& ownership_;
  const Directory& directory_;
  cluster::PeerApi& peers_;
  domain::Placement placement_;
  bool stopping_ = false;
};

}  // namespace xbanku::app
