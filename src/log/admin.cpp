#include "xbanku/log/admin.hpp"

#include "kafka_conf.hpp"
#include "rdkafka_holders.hpp"
#include "xbanku/common/error.hpp"

#include <spdlog/spdlog.h>

#include <thread>

namespace xbanku::log {
namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::steady_clock;

namespace {

constexpr auto kMargin = std::chrono::seconds(1);

bool is_unavailable(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
}

boost::system::result<KafkaPtr> admin_client(const KafkaConfig& cfg) {
  // A metadata request must not create the topic it asks about.
  auto conf = make_conf(cfg, {{"allow.auto.create.topics", "false"}});
  if (!conf) return conf.error();
  return make_kafka(RD_KAFKA_PRODUCER, std::move(*conf));
}

// Runs on the blocking pool: the number of partitions of `topic`.
boost::system::result<int> blocking_partition_count(rd_kafka_t* rk, const std::string& topic,
                                                    std::chrono::milliseconds timeout) {
  const TopicPtr rkt{rd_kafka_topic_new(rk, topic.c_str(), nullptr)};
  if (!rkt) return make_error_code(errc::log_error);
  const rd_kafka_metadata_t* md = nullptr;
  const auto err = rd_kafka_metadata(rk, 0, rkt.get(), &md, static_cast<int>(timeout.count()));
  const MetadataPtr owned{md};
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::error("kafka: metadata for '{}' failed: {}", topic, rd_kafka_err2str(err));
    return make_error_code(is_unavailable(err) ? errc::log_unavailable : errc::log_error);
  }
  if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const auto terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN;
    spdlog::error("kafka: topic '{}': {}", topic, rd_kafka_err2str(terr));
    return make_error_code(errc::log_error);
  }
  return md->topics[0].partition_cnt;
}

// Blocking: until every partition of a new topic answers a watermark query from its leader
// (bounded by request_timeout).
error_code wait_for_leaders(const KafkaConfig& cfg, const std::string& topic, int partitions) {
  auto rk = admin_client(cfg);
  if (!rk) return rk.error();
  const auto deadline = steady_clock::now() + cfg.request_timeout;
  for (std::int32_t p = 0; p < partitions; ++p) {
    for (;;) {
      std::int64_t lo = 0;
      std::int64_t hi = 0;
      const auto err =
          rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), p, &lo, &hi, 1000);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (steady_clock::now() >= deadline) {
        spdlog::error("kafka: new topic {}[{}] has no leader yet: {}", topic, p,
                      rd_kafka_err2str(err));
        return make_error_code(errc::timeout);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a blocking-pool thread
    }
  }
  return {};
}

}  // namespace

asio::awaitable<error_code> ensure_topic(asio::any_io_executor ex, KafkaConfig cfg,
                                         std::string_view topic_sv, int partitions,
                                         std::map<std::string, std::string> topic_config) {
  const std::string topic(topic_sv);
  auto rk = admin_client(cfg);
  if (!rk) co_return rk.error();
  QueuePtr q{rd_kafka_queue_new(rk->get())};
  auto waker = QueueWaker::open(ex);
  if (!waker) {
    destroy_off_thread(std::move(q), std::move(*rk));
    co_return make_error_code(errc::log_error);
  }
  (*waker)->attach(q.get());
  // Whatever happens below, the client goes away off-thread, after librdkafka lets go of the fd.
  struct Cleanup {
    QueuePtr& q;
    KafkaPtr& rk;
    ~Cleanup() {
      QueueWaker::detach(q.get());
      destroy_off_thread(std::move(q), std::move(rk));
    }
  } cleanup{q, *rk};

  char errstr[512] = {};
  NewTopicPtr nt{rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, errstr, sizeof errstr)};
  if (!nt) {
    spdlog::error("kafka: cannot create topic '{}': {}", topic, errstr);
    co_return make_error_code(errc::log_error);
  }
  for (const auto& [name, value] : topic_config) {
    if (const auto err = rd_kafka_NewTopic_set_config(nt.get(), name.c_str(), value.c_str()); err) {
      spdlog::error("kafka: topic '{}' config '{}'='{}': {}", topic, name, value,
                    rd_kafka_err2str(err));
      co_return make_error_code(errc::invalid_config);
    }
  }
  const AdminOptionsPtr opts{rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS)};
  const int timeout_ms = static_cast<int>(cfg.request_timeout.count());
  if (rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeout_ms, errstr, sizeof errstr) ||
      rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeout_ms, errstr, sizeof errstr)) {
    spdlog::error("kafka: admin options: {}", errstr);
    co_return make_error_code(errc::invalid_config);
  }
  rd_kafka_NewTopic_t* topics[] = {nt.get()};
  rd_kafka_CreateTopics(rk->get(), topics, 1, opts.get(), q.get());

  const auto deadline = steady_clock::now() + cfg.request_timeout + kMargin;
  bool created = false;
  for (;;) {
    const EventPtr ev{rd_kafka_queue_poll(q.get(), 0)};
    if (ev && rd_kafka_event_type(ev.get()) == RD_KAFKA_EVENT_CREATETOPICS_RESULT) {
      if (const auto err = rd_kafka_event_error(ev.get()); err) {
        spdlog::error("kafka: creating topic '{}' failed: {}", topic,
                      rd_kafka_event_error_string(ev.get()));
        co_return make_error_code(is_unavailable(err) ? errc::log_unavailable : errc::log_error);
      }
      const auto* res = rd_kafka_event_CreateTopics_result(ev.get());
      std::size_t n = 0;
      const auto** results = rd_kafka_CreateTopics_result_topics(res, &n);
      for (std::size_t i = 0; i < n; ++i) {
        const auto err = rd_kafka_topic_result_error(results[i]);
        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* msg = rd_kafka_topic_result_error_string(results[i]);
          spdlog::error("kafka: creating topic '{}' failed: {}", topic,
                        msg != nullptr ? msg : rd_kafka_err2str(err));
          co_return make_error_code(is_unavailable(err) ? errc::log_unavailable : errc::log_error);
        }
        spdlog::info("kafka: created topic '{}' with {} partitions", topic, partitions);
        created = true;
      }
      if (!created) co_return error_code{};
      // The controller answers before the broker leads the new partitions; until it does, a
      // produce fails with NOT_LEADER (which librdkafka 2.0.2's idempotent producer handles
      // badly, see producer.cpp) and watermark queries fail. Return once they are led.
      // (A result, not a bare error_code: Asio would take that for the completion's error.)
      auto wait = [cfg, topic, partitions]() -> boost::system::result<void> {
        if (auto ec = wait_for_leaders(cfg, topic, partitions)) return ec;
        return {};
      };
      const auto led = co_await run_blocking(std::move(wait));
      co_return led ? error_code{} : led.error();
    }
    if (ev) {
      spdlog::debug("kafka: ignoring admin event {}", rd_kafka_event_name(ev.get()));
      continue;
    }
    const auto now = steady_clock::now();
    if (now >= deadline) {
      spdlog::error("kafka: creating topic '{}' timed out", topic);
      co_return make_error_code(errc::timeout);
    }
    (void)co_await (*waker)->wait(deadline - now);
  }
}

asio::awaitable<boost::system::result<int>> partition_count(asio::any_io_executor, KafkaConfig cfg,
                                                            std::string_view topic) {
  // A named lambda, not a temporary inside co_await: GCC 12 destroys such temporaries twice.
  auto query = [cfg = std::move(cfg), t = std::string(topic)]() -> boost::system::result<int> {
    auto rk = admin_client(cfg);
    if (!rk) return rk.error();
    return blocking_partition_count(rk->get(), t, cfg.request_timeout);
  };
  co_return co_await run_blocking(std::move(query));
}

asio::awaitable<boost::system::result<std::map<std::int32_t, std::int64_t>>> end_offsets(
    asio::any_io_executor, KafkaConfig cfg, std::string_view topic) {
  using Result = boost::system::result<std::map<std::int32_t, std::int64_t>>;
  auto query = [cfg = std::move(cfg), t = std::string(topic)]() -> Result {
    auto rk = admin_client(cfg);
    if (!rk) return rk.error();
    const auto n = blocking_partition_count(rk->get(), t, cfg.request_timeout);
    if (!n) return n.error();
    std::map<std::int32_t, std::int64_t> out;
    for (std::int32_t p = 0; p < *n; ++p) {
      std::int64_t lo = 0;
      std::int64_t hi = 0;
      const auto err = rd_kafka_query_watermark_offsets(
          rk->get(), t.c_str(), p, &lo, &hi, static_cast<int>(cfg.request_timeout.count()));
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::error("kafka: watermarks of {}[{}]: {}", t, p, rd_kafka_err2str(err));
        return make_error_code(is_unavailable(err) ? errc::log_unavailable : errc::log_error);
      }
      out[p] = hi;
    }
    return out;
  };
  co_return co_await run_blocking(std::move(query));
}

}  // namespace xbanku::log
