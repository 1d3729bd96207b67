#pragma once
// Whether the Kafka cluster can be reached with the configured credentials: once at start-up
// (check_cluster: fail fast with one line saying why) and continuously while serving
// (ClusterWatch: /readyz says log_unavailable while it cannot).

#include "xbanku/log/kafka_config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace xbanku::log {

// Asks a broker for the cluster's metadata, within cfg.request_timeout; returns nullopt when
// one answered, else one line saying why not: "authentication failed …" (SASL), "TLS handshake
// failed …" (certificate, protocol), or "no broker answered within N s …" (unreachable, wrong
// port or security.protocol). Authentication and TLS failures end the wait at once: retrying
// cannot fix them. Never blocks the executor (the client runs on the blocking pool).
[[nodiscard]] boost::asio::awaitable<std::optional<std::string>> check_cluster(KafkaConfig cfg);

// One long-lived client that asks for metadata every `period`; reachable() is false from the
// first failed answer until the next good one. Create, co_spawn run(), stop() to end it.
// reachable() and last_error() are thread-safe; the rest runs on the executor.
class ClusterWatch {
 public:
  ClusterWatch(boost::asio::any_io_executor ex, KafkaConfig cfg,
               std::chrono::milliseconds period = std::chrono::seconds(2));
  ~ClusterWatch();
  ClusterWatch(const ClusterWatch&) = delete;
  ClusterWatch& operator=(const ClusterWatch&) = delete;

  [[nodiscard]] boost::asio::awaitable<void> run();
  void stop();
  [[nodiscard]] bool reachable() const noexcept { return reachable_.load(); }
  [[nodiscard]] std::string last_error() const;

 private:
  struct Client;
  KafkaConfig cfg_;
  std::chrono::milliseconds period_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Client> client_;
  std::atomic<bool> reachable_{true};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::string last_error_;
};

}  // namespace xbanku::log
