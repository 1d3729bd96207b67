#pragma once
// The QueryService of a running instance (DESIGN §3, §8): a query for one partition is
// answered here when this instance serves it (assigned and caught up), else forwarded to the
// owner announced on `<topic>.members` — unless it was itself forwarded. If no owner answers,
// the local copy answers marked stale; without one, 503: a partition between owners never
// gives a wrong "not found". Listings merge the owners' pages; a command id, which does not
// name its partition, is looked up at every owner.
// Thread-safety: single-executor, like the rest of the service.

#include "xbanku/app/membership.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/metrics/registry.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace xbanku::app {

// Which partitions this instance projects (given by the group) and serves (caught up since).
struct Ownership {
  std::set<std::int32_t> assigned;
  std::set<std::int32_t> serving;
};

// Waits up to the given time for a command's outcome to be projected here; nullopt if it is not.
using OutcomeWait = std::function<boost::asio::awaitable<std::optional<domain::Outcome>>(
    const std::string& command_id, std::chrono::milliseconds wait)>;

// What the queries read; all owned by the service and outliving the queries.
struct QueryDeps {
  view::Store& store;
  Membership& membership;
  cluster::PeerClient& peers;
  const Ownership& ownership;
  domain::Placement placement;
  std::string self;  // this instance's name (X-Served-By)
  OutcomeWait wait_for_outcome;
  metrics::Registry& registry;
};

// How long a query forwarded to a partition's owner may take.
inline constexpr std::chrono::milliseconds kForwardTimeout{2000};

class ClusterQueries : public QueryService {
 public:
  // A cross-partition transfer's outcome stays `pending` in the source's record; this gives
  // where it ended as far as this instance's store knows (refunded, completed, or pending).
  [[nodiscard]] virtual domain::Outcome resolve(domain::Outcome o) const = 0;
  // Counts one request sent to another instance (xbanku_forwarded_requests_total).
  virtual void count_forward(bool ok) = 0;
};

[[nodiscard]] std::unique_ptr<ClusterQueries> make_cluster_queries(QueryDeps deps);

}  // namespace xbanku::app
