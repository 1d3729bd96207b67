#include "xbanku/log/cluster.hpp"

#include "kafka_conf.hpp"
#include "rdkafka_holders.hpp"

#include <boost/asio/as_tuple.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace xbanku::log {
namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {

// What librdkafka's error callback reported (it runs inside rd_kafka_poll, on our thread).
struct Seen {
  std::mutex m;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string reason;
  bool hopeless = false;  // authentication or TLS: retrying will not help

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Seen*>(opaque);
    const std::lock_guard lock(self->m);
    if (self->hopeless) return;  // keep the root cause, not the "all brokers down" that follows
    self->err = static_cast<rd_kafka_resp_err_t>(err);
    self->reason = reason != nullptr ? reason : "";
    // Some failures arrive as transport errors; their text still says what happened.
    if (self->reason.find("SSL handshake failed") != std::string::npos ||
        self->reason.find("certificate verify failed") != std::string::npos)
      self->err = RD_KAFKA_RESP_ERR__SSL;
    if (self->reason.find("SASL authentication error") != std::string::npos)
      self->err = RD_KAFKA_RESP_ERR__AUTHENTICATION;
    self->hopeless =
        self->err == RD_KAFKA_RESP_ERR__AUTHENTICATION || self->err == RD_KAFKA_RESP_ERR__SSL;
  }
};

// The probe's own librdkafka lines would repeat the one line check_cluster returns.
void quiet(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  spdlog::debug("librdkafka probe {} ({}): {}", fac, level, buf);
}

boost::system::result<KafkaPtr> probe_client(const KafkaConfig& cfg, Seen* seen) {
  auto conf = make_conf(cfg, {{"allow.auto.create.topics", "false"}});
  if (!conf) return conf.error();
  rd_kafka_conf_set_opaque(conf->get(), seen);
  rd_kafka_conf_set_error_cb(conf->get(), &Seen::on_error);
  rd_kafka_conf_set_log_cb(conf->get(), &quiet);
  return make_kafka(RD_KAFKA_PRODUCER, std::move(*conf));
}

// librdkafka before 2.6.1 computes a SCRAM proof that Kafka 4.x brokers reject
// (confluentinc/librdkafka#4895): with the right password, SCRAM still fails there.
std::string scram_hint(const KafkaConfig& cfg) {
  for (const auto& [name, value] : cfg.properties) {
    if (name == "sasl.mechanism" || name == "sasl.mechanisms") {
      if (value.starts_with("SCRAM") && rd_kafka_version() < 0x020601ff)
        return fmt::format(
            "; if the password is right: librdkafka {}'s SCRAM is refused by Kafka 4.x brokers "
            "(fixed in 2.6.1), use PLAIN over SASL_SSL or a newer librdkafka",
            rd_kafka_version_str());
    }
  }
  return {};
}

std::string explain(const KafkaConfig& cfg, rd_kafka_resp_err_t err, const std::string& reason,
                    std::chrono::milliseconds waited) {
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
    return fmt::format(
        "authentication failed (check sasl.mechanism, sasl.username, sasl.password): {}{}", reason,
        scram_hint(cfg));
  if (err == RD_KAFKA_RESP_ERR__SSL)
    return fmt::format(
        "TLS handshake failed (check ssl.ca.location and the broker's certificate): {}", reason);
  return fmt::format(
      "no broker answered within {} s (unreachable, or a wrong port or "
      "security.protocol){}{}",
      waited.count() / 1000, reason.empty() ? "" : "; last error: ", reason);
}

// Blocking (blocking pool): one metadata round trip, polling for errors meanwhile.
std::optional<std::string> probe(const KafkaConfig& cfg, rd_kafka_t* rk, Seen& seen,
                                 std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, nullptr, &md, 500);
    const MetadataPtr owned{md};
    rd_kafka_poll(rk, 0);  // serves the error callback
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
    const std::lock_guard lock(seen.m);
    if (seen.hopeless || steady_clock::now() >= deadline)
      return explain(cfg, seen.err, seen.reason.empty() ? rd_kafka_err2str(err) : seen.reason,
                     timeout);
  }
}

}  // namespace

asio::awaitable<std::optional<std::string>> check_cluster(KafkaConfig cfg) {
  auto run = [cfg = std::move(cfg)]() -> std::optional<std::string> {
    auto seen = std::make_unique<Seen>();
    auto rk = probe_client(cfg, seen.get());
    if (!rk) return std::string("cannot create a Kafka client (see the line above)");
    auto result = probe(cfg, rk->get(), *seen, cfg.request_timeout);
    rk->reset();  // joins librdkafka's threads before `seen` goes; we are on the blocking pool
    return result;
  };
  co_return co_await run_blocking(std::move(run));
}

// The watch's client and what its callback saw, shared with the blocking pool.
struct ClusterWatch::Client {
  Seen seen;
  KafkaPtr rk;
  ~Client() {
    // Runs on whichever thread drops the last reference: the blocking pool (see stop/run).
    rk.reset();
  }
};

ClusterWatch::ClusterWatch(asio::any_io_executor ex, KafkaConfig cfg,
                           std::chrono::milliseconds period)
    : cfg_(std::move(cfg)), period_(period), timer_(std::move(ex)) {}

ClusterWatch::~ClusterWatch() {
  if (client_) asio::post(blocking_pool(), [c = std::move(client_)]() mutable { c.reset(); });
}

void ClusterWatch::stop() {
  stopping_ = true;
  timer_.cancel();
}

std::string ClusterWatch::last_error() const {
  const std::lock_guard lock(mutex_);
  return last_error_;
}

asio::awaitable<void> ClusterWatch::run() {
  client_ = std::make_shared<Client>();
  auto rk = probe_client(cfg_, &client_->seen);
  if (!rk) co_return;  // make_conf logged why; start-up validated the same settings
  client_->rk = std::move(*rk);
  const auto timeout = std::max(std::chrono::milliseconds(1000), period_);
  while (!stopping_) {
    auto once = [c = client_, cfg = cfg_, timeout]() {
      return probe(cfg, c->rk.get(), c->seen, timeout);
    };
    auto failed = co_await run_blocking(std::move(once));
    {
      const std::lock_guard lock(client_->seen.m);
      client_->seen.err = RD_KAFKA_RESP_ERR_NO_ERROR;  // a fresh round
      client_->seen.reason.clear();
      client_->seen.hopeless = false;
    }
    if (failed && reachable_.exchange(false)) {
      spdlog::error("kafka: cluster at {} unreachable: {}", cfg_.brokers, *failed);
    } else if (!failed && !reachable_.exchange(true)) {
      spdlog::info("kafka: cluster at {} reachable again", cfg_.brokers);
    }
    {
      const std::lock_guard lock(mutex_);
      last_error_ = failed ? *failed : std::string{};
    }
    if (stopping_) break;
    timer_.expires_after(period_);
    (void)co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace xbanku::log
