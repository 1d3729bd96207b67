// `xbanku --act=serve`: builds the components, wires them together, and stops them in order.
// Nothing here decides anything about commands, queries or the log: see serve.hpp.
#include "xbanku/app/serve.hpp"

#include "xbanku/api/config.hpp"
#include "xbanku/api/server.hpp"
#include "xbanku/app/commands.hpp"
#include "xbanku/app/inspector.hpp"
#include "xbanku/app/kafka_settings.hpp"
#include "xbanku/app/membership.hpp"
#include "xbanku/app/mirror_source.hpp"
#include "xbanku/app/outbox_sender.hpp"
#include "xbanku/app/outcome_waits.hpp"
#include "xbanku/app/projector.hpp"
#include "xbanku/app/queries.hpp"
#include "xbanku/app/security.hpp"
#include "xbanku/app/update_hub.hpp"
#include "xbanku/cluster/peer_api.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/common/runner.hpp"
#include "xbanku/common/task_group.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/log/cluster.hpp"
#include "xbanku/log/producer.hpp"
#include "xbanku/metrics/registry.hpp"
#include "xbanku/mirror/mirror.hpp"
#include "xbanku/mirror/redis_config.hpp"
#include "xbanku/mirror/redis_connection.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>

namespace xbanku::app {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using namespace std::chrono_literals;

constexpr auto kShutdownFlush = 5s;  // producer flush bound on a clean stop

// The topic, its dead-letter topic and `<topic>.members` exist before anyone produces.
awaitable<boost::system::result<std::int32_t>> prepare_topics(const Config& config) {
  auto ex = co_await asio::this_coro::executor;
  const auto kafka = kafka_settings(config, "admin");
  if (auto ec = co_await log::ensure_topic(ex, kafka, config.topic, config.partitions)) {
    spdlog::critical("cannot create or find topic {} on {}: {}", config.topic, config.brokers,
                     ec.message());
    co_return ec;
  }
  if (auto ec = co_await log::ensure_topic(ex, kafka, config.topic + ".dlq", 1)) {
    spdlog::critical("cannot create or find topic {}.dlq: {}", config.topic, ec.message());
    co_return ec;
  }
  // One record per instance survives compaction: its latest announcement.
  std::map<std::string, std::string> compacted{{"cleanup.policy", "compact"},
                                               {"segment.ms", "3600000"}};
  const auto members_created =
      co_await log::ensure_topic(ex, kafka, members_topic(config.topic), 1, compacted);
  if (auto ec = members_created) {
    spdlog::critical("cannot create or find topic {}: {}", members_topic(config.topic),
                     ec.message());
    co_return ec;
  }
  auto partitions = co_await log::partition_count(ex, kafka, config.topic);
  if (!partitions) {
    spdlog::critical("cannot read the partition count of {}: {}", config.topic,
                     partitions.error().message());
    co_return partitions.error();
  }
  co_return *partitions;
}

// Every account's partition is a hash over the partition count: a view built from a topic
// with another count would fold records into the wrong partitions' state.
boost::system::error_code check_partition_count(view::Store& store, std::int32_t partitions,
                                                const Config& config) {
  auto stored = store.partition_count();
  if (!stored) {
    spdlog::critical("cannot read the view's partition count in {}", config.data_dir);
    return stored.error();
  }
  if (!*stored) return store.set_partition_count(partitions);
  if (**stored != partitions) {
    spdlog::critical(
        "topic {} has {} partitions but the view in {} was built from {}: accounts would be "
        "folded into the wrong partitions' state; to grow a topic, see README 'Growing a topic'",
        config.topic, partitions, config.data_dir, **stored);
    return make_error_code(errc::invalid_config);
  }
  return {};
}

// /readyz: the projector's readiness, unless the cluster cannot be reached right now.
class ServeHealth final : public Health {
 public:
  ServeHealth(const Health& projector, const log::ClusterWatch& kafka)
      : projector_(projector), kafka_(kafka) {}
  [[nodiscard]] bool ready() const override { return kafka_.reachable() && projector_.ready(); }
  [[nodiscard]] std::string describe() const override {
    if (kafka_.reachable()) return projector_.describe();
    return fmt::format(R"({{"ready":false,"reason":"log_unavailable","detail":{},"projector":{}}})",
                       boost::json::serialize(boost::json::string(kafka_.last_error())),
                       projector_.describe());
  }

 private:
  const Health& projector_;
  const log::ClusterWatch& kafka_;
};

awaitable<int> serve(const Config& config) {
  auto ex = co_await asio::this_coro::executor;
  if (!config.kafka_properties.empty())
    spdlog::info("kafka: client properties: {}", config.kafka_properties_described);
  // Fail fast: a wrong password, an untrusted certificate or no broker ends start-up here with
  // one line, instead of librdkafka retrying in the background while nothing works.
  if (auto why = co_await log::check_cluster(kafka_settings(config, "admin"))) {
    spdlog::critical("cannot connect to Kafka at {}: {}", config.brokers, *why);
    co_return 1;
  }
  const auto partitions = co_await prepare_topics(config);
  if (!partitions) co_return 1;
  const domain::Placement placement{*partitions};
  auto store = view::Store::open({.dir = config.data_dir,
                                  .memtable_bytes = config.view_memtable_mb << 20,
                                  .account_cache_entries = config.view_account_cache,
                                  .mirror_debts = !config.redis_url.empty()});
  if (!store) {
    spdlog::critical("cannot open the view store in {}", config.data_dir);
    co_return 1;
  }
  if (check_partition_count(**store, *partitions, config)) co_return 1;

  // Listen first: with --listen host:0 the advertised URL needs the port the kernel chose.
  api::ApiConfig api_config;
  api_config.listen_host = config.listen_host;
  api_config.listen_port = config.listen_port;
  api_config.instance_id = config.instance_id;
  api_config.allowed_hosts = config.allowed_hosts;
  api_config.access_log = config.access_log;
  api_config.max_connections = config.max_connections;
  api_config.max_connections_per_address = config.max_connections_per_address;
  api_config.rate_per_connection = config.rate_per_connection;
  api_config.burst_per_connection = std::max(1.0, 2 * config.rate_per_connection);
  api_config.rate_per_principal = config.rate_per_principal;
  api_config.burst_per_principal = std::max(1.0, 2 * config.rate_per_principal);
  api_config.max_client_wait = config.max_client_wait;
  api_config.session_threads = config.threads;
  auto acceptor = api::bind(ex, api_config);
  if (!acceptor) {
    spdlog::critical("cannot listen on {}:{}: {}", config.listen_host, config.listen_port,
                     acceptor.error().message());
    co_return 1;
  }
  const auto port = acceptor->local_endpoint().port();
  std::string url = config.advertise;
  if (url.ends_with(":0")) url = url.substr(0, url.size() - 1) + std::to_string(port);
  const std::string self =
      config.instance_id.empty() ? url.substr(url.find("//") + 2) : config.instance_id;
  auto security = load_security(config, self);
  if (!security) {
    spdlog::critical("xbanku: {}", security.error());
    co_return 1;
  }
  if (config.auth == Auth::none) {
    spdlog::warn(
        "no authentication is configured: every client of {}:{} acts as an administrator. That "
        "is why the service only listens on a loopback address (protected mode); to serve a "
        "network, add --auth=jwt (README 'Security')",
        config.listen_host, port);
  }
  spdlog::info("security: {}", security->describe);
  cluster::PeerClientConfig peer_client{.tls = security->client_tls,
                                        .sign = security->sign_request};

  auto producer = log::Producer::create(ex, kafka_settings(config, "producer"));
  if (!producer) {
    spdlog::critical("cannot create the Kafka producer: {}", producer.error().message());
    co_return 1;
  }
  std::unique_ptr<mirror::Mirror> mirror;
  // The partitions this instance projects, once the projector exists: a refill of Redis writes
  // only their accounts, since another instance's view of the others may be newer than ours.
  const Ownership* owned = nullptr;
  if (!config.redis_url.empty()) {
    auto redis = mirror::parse_redis_url(config.redis_url, nullptr, config.redis_password);
    if (!redis) co_return 1;  // parse_config checked it already
    // Refused credentials are a configuration error: stop with one line. An unreachable Redis
    // is an outage the mirror rides out (DESIGN §7): go on, it catches up later.
    {
      mirror::RedisConnection probe(ex, *redis);
      if (auto ec = co_await probe.connect()) {
        if (probe.auth_rejected()) {
          spdlog::critical("cannot mirror to Redis at {}:{}: authentication refused{}: {}",
                           redis->host, redis->port,
                           redis->username.empty() ? "" : " for user " + redis->username,
                           probe.last_error());
          co_return 1;
        }
        spdlog::warn("redis mirror: {}:{} not reachable at start-up ({}); mirroring when it is",
                     redis->host, redis->port, probe.last_error());
      }
    }
    mirror = std::make_unique<mirror::Mirror>(
        ex, *redis, view_mirror_source(**store, owned, placement),
        mirror::MirrorOptions{.marker_prefix = "xbanku:mirror-filled:" + config.topic + ":"});
  }

  metrics::Registry registry;
  Membership membership(ex, kafka_settings(config, "members"), members_topic(config.topic), self,
                        url, **producer, security->announcements, &registry);
  OutcomeWaits waits(ex, **store, placement);
  PositionWaits positions(ex, **store, &registry);
  UpdateHub hub(ex, membership, {.partitions = *partitions, .peer = peer_client});
  auto peers = cluster::make_http_peer_api(ex, {.client = peer_client}, registry);
  OutboxSender outbox(ex, **store, **producer, config.topic, registry, owned, placement);

  log::ConsumerConfig consumer;
  consumer.kafka = kafka_settings(config, "projector");
  consumer.group = config.group;
  consumer.topic = config.topic;
  consumer.instance_id = config.instance_id;
  consumer.session_timeout = config.session_timeout;
  ProjectorHooks hooks;
  hooks.committed = [&](const view::Batch& batch, const FoldResult& folded) {
    if (hub.has_listeners()) {
      for (const auto& [account, pos] : batch.changed()) hub.publish(AccountUpdate{account, pos});
    }
    waits.committed(folded.command_ids);
    positions.committed();
    if (mirror) mirror->notify();
    outbox.notify();
  };
  hooks.assignment = [&](const std::set<std::int32_t>& assigned) {
    membership.announce({assigned.begin(), assigned.end()});
  };
  hooks.revoked = [&](const std::vector<std::int32_t>& revoked) { waits.moved(revoked); };
  hooks.leaving = [&]() -> awaitable<void> { co_await membership.announce_now({}); };
  hooks.shadow_committed = [&](const view::Batch& batch, const FoldResult& folded) {
    waits.committed(folded.command_ids);
    positions.committed();
    if (hub.has_listeners()) {
      for (const auto& [account, pos] : batch.changed())
        hub.publish_replica(AccountUpdate{account, pos, true});
    }
  };
  hooks.promoted = [&](const std::vector<std::int32_t>& promoted) {
    if (mirror) mirror->refill(promoted);
    outbox.notify();  // what the shadow held is now this instance's to send
  };
  Projector projector(ex,
                      {.self = self,
                       .consumer = consumer,
                       .admin = kafka_settings(config, "admin"),
                       .standby_replicas = config.standby_replicas,
                       .standby = kafka_settings(config, "standby"),
                       .max_read_lag = config.max_read_lag},
                      **store, **producer, config.topic, placement, registry, std::move(hooks));
  owned = &projector.ownership();
  Commands commands(ex, {config.topic, config.command_wait}, **producer, **store, waits,
                    projector.ownership(), membership, *peers, placement);
  auto queries = make_queries(
      {**store, membership, *peers, projector.ownership(), waits, placement, &positions});
  // GET /cluster and /dlq read through it (and other members' progress through its own peer
  // client); it outlives the server.
  cluster::PeerClient inspector_peers(ex, peer_client);
  ServiceInspector inspector(ex,
                             {.kafka = kafka_settings(config, "inspector"),
                              .topic = config.topic,
                              .partitions = *partitions},
                             membership, projector, &inspector_peers);
  log::ClusterWatch kafka_watch(ex, kafka_settings(config, "watch"));
  ServeHealth health(projector, kafka_watch);
  api::Server server(ex, api_config, commands, *queries, hub, health, registry,
                     {security->authenticator.get(), security->server_tls});
  server.adopt(std::move(*acceptor));
  server.inspect(inspector);
  if (auto ec = projector.start()) {
    spdlog::critical("cannot start the projector: {}", ec.message());
    co_return 1;
  }

  // Stopping, in order. First the front door: the server stops accepting and gives in-flight
  // requests their grace period, while the projector keeps running so that their
  // read-your-writes waits complete. Then, once any task has ended (the server after a signal,
  // or a failing loop), everything else: the projector finishes its batch, commits, retracts
  // and leaves the group; the outbox and the mirror end their round.
  bool stopping = false;
  bool task_failed = false;
  asio::steady_timer gauges(ex);
  auto stop_all = [&] {
    server.stop();
    if (stopping) return;
    stopping = true;
    commands.stop();
    projector.stop();
    outbox.stop();
    membership.stop();
    hub.stop();
    waits.stop();  // waits answer 504 pending: their records are durable
    positions.stop();
    if (mirror) mirror->stop();
    kafka_watch.stop();
    gauges.cancel();
  };
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("received signal {}: shutting down", signo);
    server.stop();
  });

  spdlog::info(
      "xbanku serving on {}://{}:{} (topic {}, {} partitions, group {}, data {}{})",
      security->server_tls ? "https" : "http", config.listen_host, port, config.topic, *partitions,
      config.group, config.data_dir,
      config.redis_url.empty() ? "" : ", mirror " + mirror::redact_redis_url(config.redis_url));

  TaskGroup tasks(ex);
  // Whichever task ends first stops the rest; one that throws (a bug) makes the exit code 1.
  auto supervise = [&](std::string name, awaitable<void> task) {
    tasks.spawn(
        [](std::string n, awaitable<void> t, bool& failed, auto& stop) -> awaitable<void> {
          try {
            co_await std::move(t);
          } catch (const std::exception& e) {
            spdlog::critical("{} failed: {}", n, e.what());
            failed = true;
          }
          stop();
        }(name, std::move(task), task_failed, stop_all),
        name);
  };
  supervise("http server", server.run());
  supervise("projector", projector.run());
  supervise("outbox sender", outbox.run());
  supervise("membership", membership.run());
  supervise("update hub", hub.run());
  tasks.spawn(kafka_watch.run(), "kafka watch");
  if (mirror) {
    supervise("redis mirror", mirror->run());
    auto& lag =
        registry.gauge("xbanku_mirror_lag", "Accounts whose latest state Redis does not have yet");
    tasks.spawn(
        [](mirror::Mirror& m, metrics::Gauge& g, asio::steady_timer& t,
           const bool& stop) -> awaitable<void> {
          while (!stop) {
            g.set(static_cast<double>(m.lag()));
            t.expires_after(1s);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
          }
        }(*mirror, lag, gauges, stopping),
        "mirror gauge");
  }

  co_await tasks.wait();
  signals.cancel();
  if (auto ec = co_await (*producer)->flush(kShutdownFlush)) {
    spdlog::warn("shutdown: producer flush: {}", ec.message());
  }
  spdlog::info("xbanku stopped");
  co_return projector.failed() || task_failed ? 1 : 0;
}

}  // namespace

int run_serve(const Config& config) {
  return run_to_completion([&config] { return serve(config); });
}

}  // namespace xbanku::app
