#pragma once
// RAII holders for librdkafka handles, the eventfd bridge that lets librdkafka's threads wake the
// io_context, and the small thread pool where the few blocking librdkafka calls run.
// Nothing here blocks the executor; the functions that block say so.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <type_traits>
#include <utility>

namespace xbanku::log {

// --- holders --------------------------------------------------------------------------------
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* p) const noexcept { rd_kafka_conf_destroy(p); }
};
// rd_kafka_destroy joins librdkafka's threads: it BLOCKS. Hand the handle to
// destroy_off_thread() instead of letting a KafkaPtr die on the executor.
struct KafkaDeleter {
  int flags = 0;  // rd_kafka_destroy_flags, e.g. RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE
  void operator()(rd_kafka_t* p) const noexcept { rd_kafka_destroy_flags(p, flags); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* p) const noexcept { rd_kafka_queue_destroy(p); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* p) const noexcept { rd_kafka_topic_destroy(p); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* p) const noexcept {
    rd_kafka_topic_partition_list_destroy(p);
  }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* p) const noexcept { rd_kafka_message_destroy(p); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* p) const noexcept { rd_kafka_error_destroy(p); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* p) const noexcept { rd_kafka_event_destroy(p); }
};
struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* p) const noexcept { rd_kafka_AdminOptions_destroy(p); }
};
struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* p) const noexcept { rd_kafka_NewTopic_destroy(p); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* p) const noexcept { rd_kafka_metadata_destroy(p); }
};

using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using AdminOptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;
using NewTopicPtr = std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// Creates a client from `conf` (consumed, even on failure). Non-blocking: librdkafka starts its
// threads and connects in the background. Logs and returns errc::log_error on failure.
[[nodiscard]] boost::system::result<KafkaPtr> make_kafka(rd_kafka_type_t type, ConfPtr conf);

// --- blocking helpers -----------------------------------------------------------------------
// A process-wide pool of 2 threads for the blocking librdkafka calls (metadata, watermark
// queries, rd_kafka_destroy). It is joined (not abandoned) at exit, so handles are destroyed.
[[nodiscard]] boost::asio::thread_pool& blocking_pool();

// Destroys the handles on the blocking pool, in argument order (queues and topics before the
// client that owns them). Safe from any thread; returns at once.
template <class... Ptrs>
void destroy_off_thread(Ptrs&&... ptrs) {
  boost::asio::post(blocking_pool(), [... p = std::move(ptrs)]() mutable { (p.reset(), ...); });
}

// Runs `f` on the blocking pool and resumes the calling coroutine on its own executor with the
// result. `f` must own (or outlive) everything it touches.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> run_blocking(F f) {
  using R = std::invoke_result_t<F>;
  return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(R)>(
      [](auto handler, F fn) {
        auto ex = boost::asio::get_associated_executor(handler);
        // Keep the io_context alive (run() must not return) while the pool works for it.
        auto work = boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
        boost::asio::post(blocking_pool(), [h = std::move(handler), fn = std::move(fn),
                                            work = std::move(work)]() mutable {
          R r = fn();
          auto w = std::move(work);
          boost::asio::dispatch(
              w, [h = std::move(h), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
        });
      },
      boost::asio::use_awaitable, std::move(f));
}

// --- the wake-up bridge ---------------------------------------------------------------------
// An eventfd that librdkafka writes to when a queue becomes non-empty (its threads do nothing
// else), watched by a stream_descriptor on the executor. Single-executor: use from one thread.
class QueueWaker {
 public:
  // Opens the eventfd; errors (EMFILE…) are returned, not thrown.
  [[nodiscard]] static boost::system::result<std::unique_ptr<QueueWaker>> open(
      boost::asio::any_io_executor ex);
  ~QueueWaker();

  // Makes `q` write to this eventfd when it goes from empty to non-empty (only then: serve the
  // queue once after attaching, and drain it fully or re-drain before each wait). Detach before
  // closing the waker.
  void attach(rd_kafka_queue_t* q);
  // Stops `q` from writing to any fd. Thread-safe (librdkafka locks the queue).
  static void detach(rd_kafka_queue_t* q) noexcept;

  // Waits until librdkafka signals or `timeout` passes; returns {} on a signal, errc::timeout,
  // or operation_aborted after close(). Consumes the signal: drain the queue before each wait.
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> wait(
      std::chrono::steady_clock::duration timeout);
  // Like wait() without a deadline; used by long-lived pollers that close() ends.
  [[nodiscard]] boost::asio::awaitable<boost::system::error_code> wait();
  // Cancels waiters and closes the fd. Detach every queue first.
  void close() noexcept;

 private:
  explicit QueueWaker(boost::asio::posix::stream_descriptor sd);
  boost::asio::posix::stream_descriptor sd_;
};

}  // namespace xbanku::log
