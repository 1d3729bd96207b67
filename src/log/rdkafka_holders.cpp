#include "rdkafka_holders.hpp"

#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>

namespace xbanku::log {
namespace asio = boost::asio;
using boost::system::error_code;

boost::system::result<KafkaPtr> make_kafka(rd_kafka_type_t type, ConfPtr conf) {
  char errstr[512] = {};
  // rd_kafka_new takes ownership of the conf only on success.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) {
    spdlog::error("kafka: cannot create a {}: {}",
                  type == RD_KAFKA_PRODUCER ? "producer" : "consumer", errstr);
    return make_error_code(errc::log_error);
  }
  (void)conf.release();
  return KafkaPtr{rk};
}

namespace {
struct JoinedPool {
  asio::thread_pool pool{2};
  // join() (not the destructor's stop()) so that queued destroys still run at exit.
  ~JoinedPool() { pool.join(); }
};
}  // namespace

asio::thread_pool& blocking_pool() {
  static JoinedPool p;
  return p.pool;
}

boost::system::result<std::unique_ptr<QueueWaker>> QueueWaker::open(asio::any_io_executor ex) {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    const error_code ec(errno, boost::system::system_category());
    spdlog::error("kafka: eventfd failed: {}", ec.message());
    return ec;
  }
  return std::unique_ptr<QueueWaker>(new QueueWaker(asio::posix::stream_descriptor(ex, fd)));
}

QueueWaker::QueueWaker(asio::posix::stream_descriptor sd) : sd_(std::move(sd)) {}

QueueWaker::~QueueWaker() {
  close();
}

void QueueWaker::attach(rd_kafka_queue_t* q) {
  // An eventfd only accepts 8-byte writes; librdkafka writes this payload as-is.
  static constexpr std::uint64_t one = 1;
  rd_kafka_queue_io_event_enable(q, sd_.native_handle(), &one, sizeof one);
}

void QueueWaker::detach(rd_kafka_queue_t* q) noexcept {
  rd_kafka_queue_io_event_enable(q, -1, nullptr, 0);
}

// Reading (not async_wait): Asio registers descriptors edge-triggered and does not attempt a
// wait speculatively, so a signal written while no wait was pending would be lost (and
// librdkafka writes only once until the queue is served). A read is attempted at once and
// consumes the eventfd counter, which is the drain.
asio::awaitable<error_code> QueueWaker::wait() {
  if (!sd_.is_open()) co_return asio::error::operation_aborted;
  std::uint64_t v = 0;
  auto [ec, n] =
      co_await sd_.async_read_some(asio::buffer(&v, sizeof v), asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

asio::awaitable<error_code> QueueWaker::wait(std::chrono::steady_clock::duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  if (!sd_.is_open()) co_return asio::error::operation_aborted;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  std::uint64_t v = 0;
  // If the timer wins, a signal may be consumed unseen: callers drain their queue before every
  // wait, so that costs nothing.
  auto r = co_await (
      sd_.async_read_some(asio::buffer(&v, sizeof v), asio::as_tuple(asio::use_awaitable)) ||
      timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 1) co_return make_error_code(errc::timeout);
  co_return std::get<0>(std::get<0>(r));
}

void QueueWaker::close() noexcept {
  error_code ignored;
  sd_.close(ignored);
}

}  // namespace xbanku::log
