#pragma once
// The Inspector port (ports.hpp) of a running instance: the members table from the Directory,
// this instance's progress from the Projector, and `<topic>.dlq` read on demand with a
// PartitionReader — bounded in records, in time and in concurrent reads, and never blocking
// the executor (librdkafka only wakes it; see log/consumer.hpp).
// Thread-safety: single-executor, like the rest of the service.

#include "xbanku/app/membership.hpp"
#include "xbanku/app/ports.hpp"
#include "xbanku/app/projector.hpp"
#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/log/kafka_config.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

namespace xbanku::app {

struct InspectorConfig {
  log::KafkaConfig kafka;  // its request_timeout is replaced by `deadline`
  std::string topic;       // the event topic; dead letters are in `<topic>.dlq`, partition 0
  std::int32_t partitions = 0;
  // A GET /dlq answers within this (a slow or absent broker: errc::timeout / log_unavailable).
  std::chrono::milliseconds deadline{3000};
  // Dead-letter reads running at once (each is a librdkafka client); more: log_unavailable.
  int max_reads = 2;
  // How long another member may take to tell its progress (GET /cluster, each in turn).
  std::chrono::milliseconds peer_timeout{1000};
  // A dead letter's value is cut to this many bytes in the answer (truncated_from says so).
  std::size_t max_value_bytes = 4096;
};

class ServiceInspector final : public Inspector {
 public:
  // `peers` (may be null: local progress only) asks the other members for theirs.
  ServiceInspector(boost::asio::any_io_executor ex, InspectorConfig config,
                   const Directory& directory, const Projector& projector,
                   cluster::PeerClient* peers);

  boost::asio::awaitable<ClusterInfo> cluster(bool local_only) override;
  boost::asio::awaitable<boost::system::result<DeadLetterPage>> dead_letters(
      std::int64_t after, std::size_t limit) override;

 private:
  boost::asio::any_io_executor ex_;
  InspectorConfig config_;
  const Directory& directory_;
  const Projector& projector_;
  cluster::PeerClient* peers_;
  int reads_ = 0;
};

// The cluster view from its parts (pure, for tests): `owners` by partition index, `progress`
// of this instance's assigned partitions.
[[nodiscard]] ClusterInfo make_cluster_info(
    const std::string& self, std::int32_t partitions, const std::vector<cluster::Owner>& members,
    const std::vector<std::optional<cluster::Owner>>& owners,
    const std::map<std::int32_t, PartitionInfo>& progress,
    const std::set<std::int32_t>& shadowed_here = {});

// Folds another member's GET /cluster answer (JSON text) into `into`: the progress of the
// partitions `into` says `instance` owns and the answer says it serves. False if unreadable.
bool merge_peer_progress(ClusterInfo& into, const std::string& instance, std::string_view body);

}  // namespace xbanku::app
