#include "xbanku/log/consumer.hpp"

#include "kafka_conf.hpp"
#include "rdkafka_holders.hpp"
#include "xbanku/common/error.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace xbanku::log {

static_assert(kOffsetBeginning == RD_KAFKA_OFFSET_BEGINNING);
namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::steady_clock;

struct ConsumerCore {
  asio::any_io_executor ex;
  std::string topic;
  std::size_t max_batch = 10000;
  RebalanceHandler handler;
  std::chrono::milliseconds close_timeout{10000};

  KafkaPtr rk;
  QueuePtr queue;  // the consumer queue; the main queue is forwarded into it
  std::unique_ptr<QueueWaker> waker;
  std::vector<rd_kafka_message_t*> buf;

  std::vector<std::int32_t> assigned;
  PartitionListPtr last_assign;  // the offsets of the latest assign, to redo it (see drain)
  bool rebalanced_in_drain = false;
  bool assigned_in_drain = false;
  std::exception_ptr handler_error;
  bool closed = false;

  ~ConsumerCore() { release(); }

  // Detaches librdkafka from the eventfd and destroys the client off-thread, without the
  // blocking consumer close (close() did it, or the caller chose not to).
  void release() noexcept {
    if (!rk) return;
    closed = true;
    if (queue) QueueWaker::detach(queue.get());
    if (waker) waker->close();
    rk.get_deleter().flags = RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE;
    destroy_off_thread(std::move(last_assign), std::move(queue), std::move(rk));
  }

  static std::vector<std::int32_t> partitions_of(const rd_kafka_topic_partition_list_t* l) {
    std::vector<std::int32_t> out;
    for (int i = 0; l != nullptr && i < l->cnt; ++i) out.push_back(l->elems[i].partition);
    std::sort(out.begin(), out.end());
    return out;
  }

  bool assign(const rd_kafka_topic_partition_list_t* list) {
    if (const auto err = rd_kafka_assign(rk.get(), list); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::error("kafka consumer {}: assign failed: {}", topic, rd_kafka_err2str(err));
      return false;
    }
    assigned = partitions_of(list);
    return true;
  }

  // Served by rd_kafka_consume_batch_queue() on the executor (RD_KAFKA_OP_REBALANCE ops sit on
  // the consumer queue, and batch consumption runs their callbacks before continuing).
  static void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<ConsumerCore*>(opaque)->rebalance(err, parts);
  }

  void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) noexcept {
    rebalanced_in_drain = true;
    const auto ps = partitions_of(parts);
    try {
      if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        spdlog::info("kafka consumer {}: assigned partitions [{}]", topic, fmt::join(ps, ","));
        std::map<std::int32_t, std::int64_t> offsets;
        if (handler.on_assign) offsets = handler.on_assign(ps);
        for (int i = 0; i < parts->cnt; ++i) {
          auto it = offsets.find(parts->elems[i].partition);
          parts->elems[i].offset = it != offsets.end() ? it->second : RD_KAFKA_OFFSET_BEGINNING;
        }
        last_assign.reset(rd_kafka_topic_partition_list_copy(parts));
        assigned_in_drain = true;
        assign(parts);
        return;
      }
      if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        spdlog::error("kafka consumer {}: rebalance error {}", topic, rd_kafka_err2str(err));
      } else {
        spdlog::info("kafka consumer {}: revoking partitions [{}]{}", topic, fmt::join(ps, ","),
                     rd_kafka_assignment_lost(rk.get()) ? " (assignment lost)" : "");
      }
      if (handler.on_revoke) handler.on_revoke(ps);
    } catch (...) {
      // Exceptions cannot cross librdkafka's C frames: keep it for next() to rethrow.
      spdlog::error("kafka consumer {}: rebalance handler threw", topic);
      if (!handler_error) handler_error = std::current_exception();
    }
    last_assign.reset();
    assign(nullptr);
  }

  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<ConsumerCore*>(opaque);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("kafka consumer {}: offset commit failed: {}", self->topic,
                   rd_kafka_err2str(err));
      return;
    }
    for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i) {
      if (offsets->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::warn("kafka consumer {}: commit of partition {} failed: {}", self->topic,
                     offsets->elems[i].partition, rd_kafka_err2str(offsets->elems[i].err));
      }
    }
  }

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    spdlog::warn("kafka consumer {}: {}: {}", static_cast<ConsumerCore*>(opaque)->topic,
                 rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  }

  // Takes what is queued now (never waits) into `batch`.
  boost::system::result<void> drain(Poll& batch) {
    rebalanced_in_drain = assigned_in_drain = false;
    const auto n = rd_kafka_consume_batch_queue(queue.get(), 0, buf.data(), buf.size());
    if (n < 0) {
      spdlog::error("kafka consumer {}: poll failed: {}", topic,
                    rd_kafka_err2str(rd_kafka_last_error()));
      return make_error_code(errc::log_error);
    }
    std::vector<MessagePtr> got;
    got.reserve(static_cast<std::size_t>(n));
    for (ssize_t i = 0; i < n; ++i) got.emplace_back(buf[static_cast<std::size_t>(i)]);
    if (handler_error) std::rethrow_exception(std::exchange(handler_error, nullptr));
    if (rebalanced_in_drain && n > 0) {
      // The batch interleaves records fetched before a revoke with the rebalance: returning
      // them would hand out records of partitions already revoked (or re-assigned at another
      // offset). Drop them; if an assign happened, redo it so fetching restarts at the offsets
      // the caller gave, which nothing was delivered past.
      spdlog::debug("kafka consumer {}: dropped {} record(s) straddling a rebalance", topic, n);
      if (assigned_in_drain && last_assign) assign(last_assign.get());
      return {};
    }
    batch.owned_.reserve(batch.owned_.size() + got.size());
    batch.records_.reserve(batch.records_.size() + got.size());
    for (auto& m : got) {
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
        std::string what = rd_kafka_message_errstr(m.get());
        spdlog::warn("kafka consumer {}: partition {} offset {}: {}", topic, m->partition,
                     m->offset, what);
        batch.errors_.push_back(
            {m->partition, m->offset, fmt::format("{}: {}", rd_kafka_err2name(m->err), what)});
        continue;
      }
      rd_kafka_timestamp_type_t tstype;
      const auto ts = rd_kafka_message_timestamp(m.get(), &tstype);
      batch.records_.push_back(
          {m->partition, m->offset,
           std::string_view(static_cast<const char*>(m->key), m->key != nullptr ? m->key_len : 0),
           std::string_view(static_cast<const char*>(m->payload),
                            m->payload != nullptr ? m->len : 0),
           ts});
      batch.owned_.emplace_back(m.release(), [](void* p) {
        rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(p));
      });
    }
    return {};
  }

  static asio::awaitable<boost::system::result<Poll>> next(std::shared_ptr<ConsumerCore> self,
                                                           std::chrono::milliseconds max_wait) {
    const auto deadline = steady_clock::now() + max_wait;
    Poll batch;
    bool waited = false;
    for (;;) {
      if (self->closed) co_return make_error_code(errc::shutting_down);
      if (auto r = self->drain(batch); !r) co_return r.error();
      if (!batch.empty() || !batch.errors_.empty()) {
        // While catching up records are always queued, so without this the caller's loop
        // (poll, fold, commit, poll...) never suspended and starved every other handler on
        // the executor: /readyz and queries took seconds to answer during a catch-up.
        if (!waited) co_await asio::post(self->ex, asio::use_awaitable);
        co_return batch;
      }
      const auto now = steady_clock::now();
      if (now >= deadline) co_return batch;
      const auto ec = co_await self->waker->wait(deadline - now);
      if (ec == asio::error::operation_aborted) co_return make_error_code(errc::shutting_down);
      waited = true;
    }
  }

  std::optional<std::int64_t> high_watermark(std::int32_t partition) const {
    if (!rk) return std::nullopt;
    std::int64_t lo = -1;
    std::int64_t hi = -1;
    const auto err = rd_kafka_get_watermark_offsets(rk.get(), topic.c_str(), partition, &lo, &hi);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0) return std::nullopt;
    return hi;
  }

  static asio::awaitable<void> close(std::shared_ptr<ConsumerCore> self) {
    if (self->closed || !self->rk) co_return;
    const ErrorPtr err{rd_kafka_consumer_close_queue(self->rk.get(), self->queue.get())};
    if (err) {
      spdlog::error("kafka consumer {}: close failed: {}", self->topic,
                    rd_kafka_error_string(err.get()));
    } else {
      // Serve the queue (the revoke callback, the LeaveGroup) until librdkafka is done.
      const auto deadline = steady_clock::now() + self->close_timeout;
      while (!rd_kafka_consumer_closed(self->rk.get())) {
        Poll discard;
        (void)self->drain(discard);
        const auto now = steady_clock::now();
        if (now >= deadline) {
          spdlog::warn("kafka consumer {}: close did not finish within {} ms", self->topic,
                       self->close_timeout.count());
          break;
        }
        const auto ec = co_await self->waker->wait(
            std::min<steady_clock::duration>(deadline - now, std::chrono::milliseconds(100)));
        if (ec == asio::error::operation_aborted) break;
      }
    }
    self->assigned.clear();
    self->release();
    spdlog::info("kafka consumer {}: closed", self->topic);
  }

  static boost::system::result<std::shared_ptr<ConsumerCore>> open(
      asio::any_io_executor ex, const KafkaConfig& kcfg, std::string topic, std::string group,
      const KafkaSettings& extra, std::size_t max_batch, RebalanceHandler handler,
      std::chrono::milliseconds close_timeout) {
    auto core = std::make_shared<ConsumerCore>();
    core->ex = ex;
    core->topic = std::move(topic);
    core->max_batch = std::max<std::size_t>(1, max_batch);
    core->buf.resize(core->max_batch);
    core->handler = std::move(handler);
    core->close_timeout = close_timeout;

    KafkaSettings settings{
        {"group.id", std::move(group)},
        // Offsets live in the view store, next to the state they describe.
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        // Eager "range", NOT cooperative-sticky: librdkafka 2.0.2's cooperative-sticky assignor
        // has rebalance-loop and lost-assignment bugs (fixed only in 2.6.1 and 2.10). Range
        // also keeps the same partitions together for every topic.
        {"partition.assignment.strategy", "range"},
        {"enable.partition.eof", "false"},
        // Low latency for read-your-writes, large fetches for replay throughput.
        {"fetch.wait.max.ms", "10"},
        // Memory: a consumed message pins its whole fetch response (librdkafka does not copy
        // payloads), so the fetch sizes and the prefetch queue's byte bound (default 64 MiB)
        // were most of the client's share of the peak RSS. 16 MiB of queue is still over
        // 100,000 typical records ahead of the projector. (8 MiB and 1 MiB per partition
        // measured 30-50% slower catch-up on 1M records.)
        {"fetch.max.bytes", "16777216"},
        {"max.partition.fetch.bytes", "2097152"},
        {"queued.min.messages", "100000"},
        {"queued.max.messages.kbytes", "16384"},
    };
    settings.insert(settings.end(), extra.begin(), extra.end());
    auto conf = make_conf(kcfg, settings);
    if (!conf) return conf.error();
    rd_kafka_conf_set_opaque(conf->get(), core.get());
    rd_kafka_conf_set_rebalance_cb(conf->get(), &on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf->get(), &on_commit);
    rd_kafka_conf_set_error_cb(conf->get(), &on_error);
    auto rk = make_kafka(RD_KAFKA_CONSUMER, std::move(*conf));
    if (!rk) return rk.error();
    core->rk = std::move(*rk);
    // One queue for everything (messages, rebalances, errors, commit results), drained on the
    // executor by rd_kafka_consume_batch_queue, which serves the callbacks it meets.
    if (const auto err = rd_kafka_poll_set_consumer(core->rk.get()); err) {
      spdlog::error("kafka consumer {}: poll_set_consumer: {}", core->topic, rd_kafka_err2str(err));
      return make_error_code(errc::log_error);
    }
    core->queue.reset(rd_kafka_queue_get_consumer(core->rk.get()));
    auto waker = QueueWaker::open(ex);
    if (!waker) return make_error_code(errc::log_error);
    core->waker = std::move(*waker);
    core->waker->attach(core->queue.get());
    return core;
  }
};

// --- Consumer -------------------------------------------------------------------------------

boost::system::result<std::unique_ptr<Consumer>> Consumer::create(asio::any_io_executor ex,
                                                                  const ConsumerConfig& cfg,
                                                                  RebalanceHandler handler) {
  if (cfg.group.empty() || cfg.topic.empty()) {
    spdlog::error("kafka consumer: group and topic are required");
    return make_error_code(errc::invalid_config);
  }
  KafkaSettings extra{{"session.timeout.ms", std::to_string(cfg.session_timeout.count())},
                      {"heartbeat.interval.ms", std::to_string(std::clamp<std::int64_t>(
                                                    cfg.session_timeout.count() / 3, 100, 3000))}};
  if (!cfg.instance_id.empty()) extra.emplace_back("group.instance.id", cfg.instance_id);
  auto core = ConsumerCore::open(std::move(ex), cfg.kafka, cfg.topic, cfg.group, extra,
                                 cfg.max_batch, std::move(handler), cfg.session_timeout);
  if (!core) return core.error();
  PartitionListPtr topics{rd_kafka_topic_partition_list_new(1)};
  rd_kafka_topic_partition_list_add(topics.get(), cfg.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (const auto err = rd_kafka_subscribe((*core)->rk.get(), topics.get()); err) {
    spdlog::error("kafka consumer {}: subscribe failed: {}", cfg.topic, rd_kafka_err2str(err));
    return make_error_code(errc::log_error);
  }
  return std::unique_ptr<Consumer>(new Consumer(std::move(*core)));
}

Consumer::Consumer(std::shared_ptr<ConsumerCore> core) : core_(std::move(core)) {}

Consumer::~Consumer() {
  if (!core_->closed) {
    spdlog::warn(
        "kafka consumer {}: destroyed without close(); the group notices after the "
        "session timeout",
        core_->topic);
  }
  core_->release();
}

asio::awaitable<boost::system::result<Poll>> Consumer::next(std::chrono::milliseconds max_wait) {
  return ConsumerCore::next(core_, max_wait);
}

asio::awaitable<error_code> Consumer::commit(const std::map<std::int32_t, std::int64_t>& offsets) {
  if (core_->closed) co_return make_error_code(errc::shutting_down);
  if (offsets.empty()) co_return error_code{};
  PartitionListPtr list{rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()))};
  for (const auto& [p, o] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), core_->topic.c_str(), p)->offset = o;
  }
  // async=1: returns at once; the result is logged by on_commit when the queue is served.
  if (const auto err = rd_kafka_commit(core_->rk.get(), list.get(), 1); err) {
    spdlog::warn("kafka consumer {}: commit not sent: {}", core_->topic, rd_kafka_err2str(err));
    co_return make_error_code(errc::log_error);
  }
  co_return error_code{};
}

std::vector<std::int32_t> Consumer::assignment() const {
  return core_->assigned;
}

std::optional<std::int64_t> Consumer::high_watermark(std::int32_t partition) const {
  return core_->high_watermark(partition);
}

std::map<std::int32_t, std::int64_t> Consumer::lag(
    const std::map<std::int32_t, std::int64_t>& next_offsets) const {
  std::map<std::int32_t, std::int64_t> out;
  for (const auto p : core_->assigned) {
    const auto hi = core_->high_watermark(p);
    if (!hi) continue;
    const auto it = next_offsets.find(p);
    const std::int64_t next = it != next_offsets.end() ? it->second : 0;
    out[p] = std::max<std::int64_t>(0, *hi - next);
  }
  return out;
}

asio::awaitable<void> Consumer::close() {
  return ConsumerCore::close(core_);
}

std::vector<RecordHeader> Poll::headers(std::size_t index) const {
  // owned_ and records_ are filled together (errors own no message), so they align.
  std::vector<RecordHeader> out;
  if (index >= owned_.size()) return out;
  auto* m = static_cast<rd_kafka_message_t*>(owned_[index].get());
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == nullptr) {
    return out;
  }
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    out.push_back({name, value == nullptr
                             ? std::string_view{}
                             : std::string_view(static_cast<const char*>(value), size)});
  }
  return out;
}

// --- PartitionReader ------------------------------------------------------------------------

boost::system::result<std::unique_ptr<PartitionReader>> PartitionReader::create(
    asio::any_io_executor ex, const KafkaConfig& cfg, std::string topic,
    const std::map<std::int32_t, std::int64_t>& start_offsets, std::size_t max_batch) {
  // librdkafka's assign() needs a group id, but without subscribe() no group is joined.
  auto core = ConsumerCore::open(std::move(ex), cfg, topic, cfg.client_id + "-reader", {},
                                 max_batch, {}, std::chrono::milliseconds(2000));
  if (!core) return core.error();
  PartitionListPtr list{rd_kafka_topic_partition_list_new(static_cast<int>(start_offsets.size()))};
  for (const auto& [p, o] : start_offsets) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = o;
  }
  if (!(*core)->assign(list.get())) return make_error_code(errc::log_error);
  return std::unique_ptr<PartitionReader>(new PartitionReader(std::move(*core)));
}

PartitionReader::PartitionReader(std::shared_ptr<ConsumerCore> core) : core_(std::move(core)) {}

PartitionReader::~PartitionReader() {
  core_->release();
}

asio::awaitable<boost::system::result<Poll>> PartitionReader::next(
    std::chrono::milliseconds max_wait) {
  return ConsumerCore::next(core_, max_wait);
}

std::optional<std::int64_t> PartitionReader::high_watermark(std::int32_t partition) const {
  return core_->high_watermark(partition);
}

asio::awaitable<void> PartitionReader::close() {
  // No group to leave: stop fetching and release the client.
  if (core_->rk && !core_->closed) core_->assign(nullptr);
  core_->release();
  co_return;
}

}  // namespace xbanku::log
