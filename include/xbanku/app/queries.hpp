#pragma once
// The QueryService of a running instance (DESIGN §3, §8). Each query for one partition goes
// through cluster::QueryRouting: answered from this instance's view when it serves the
// partition, else by the owner announced on `<topic>.members` (unless the query was itself
// forwarded), else from the local copy marked stale, else 503. Listings merge the owners' pages
// (cluster::plan_listing); a command id, which does not name its partition, is looked up at
// every owner (cluster::CommandLookup).
// A query with min_position is answered only from a view that has applied past the position
// of its partition: this one (waiting up to a bound when it owns or shadows the partition),
// else the owner (asked with the position, it waits alike), else 504 position_not_reached —
// never from an older copy.
// Thread-safety: single-executor, like the service.

#include "xbanku/app/membership.hpp"
#include "xbanku/app/outcome_waits.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/app/position_waits.hpp"
#include "xbanku/app/projector.hpp"
#include "xbanku/cluster/peer_api.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/view/store.hpp"

#include <memory>

namespace xbanku::app {

// What the queries read; all outliving them.
struct QueryDeps {
  const view::Store& store;
  const Directory& directory;
  cluster::PeerApi& peers;
  const Ownership& ownership;
  OutcomeWaits& waits;
  domain::Placement placement;
  PositionWaits* positions = nullptr;  // min_position waits; none: only what is applied now
};

[[nodiscard]] std::unique_ptr<QueryService> make_queries(QueryDeps deps);

}  // namespace xbanku::app
