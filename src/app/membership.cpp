// Membership: announcing this instance's partitions and tailing everyone's (see the header).
#include "xbanku/app/membership.hpp"

#include "xbanku/common/backoff.hpp"
#include "xbanku/common/clock.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/log/consumer.hpp"
#include "xbanku/log/producer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace xbanku::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string members_topic(std::string_view topic) {
  return std::string(topic) + ".members";
}

Membership::Membership(asio::any_io_executor ex, log::KafkaConfig kafka, std::string topic,
                       std::string self, std::string url, log::Producer& producer,
                       AnnouncementAuth auth, metrics::Registry* registry)
    : ex_(ex),
      kafka_(std::move(kafka)),
      topic_(std::move(topic)),
      self_(std::move(self)),
      url_(std::move(url)),
      producer_(producer),
      auth_(std::move(auth)),
      wake_(ex),
      retry_(ex),
      senders_(ex) {
  if (registry != nullptr) {
    rejected_ = &registry->counter("xbanku_member_announcements_rejected_total",
                                   "Announcements on <topic>.members ignored: unsigned or forged");
  }
}

cluster::Announcement Membership::announcement() const {
  cluster::Announcement a{self_, url_, latest_, now_ms(), {}};
  if (auth_.enabled()) a.mac = auth_.sign(cluster::signed_payload(a));
  return a;
}

void Membership::stop() {
  stopping_ = true;
  wake_.cancel();
  retry_.cancel();
}

void Membership::announce(std::vector<std::int32_t> partitions) {
  std::sort(partitions.begin(), partitions.end());
  latest_ = std::move(partitions);
  ++generation_;
  retry_.cancel();  // an older announcement still retrying gives up now
  senders_.spawn(send_latest(), "membership announcement");
}

asio::awaitable<void> Membership::announce_now(std::vector<std::int32_t> partitions) {
  std::sort(partitions.begin(), partitions.end());
  latest_ = std::move(partitions);
  ++generation_;
  const auto a = announcement();
  auto sent = co_await producer_.send(topic_, self_, cluster::encode(a));
  if (!sent) spdlog::warn("membership: final announcement not sent: {}", sent.error().message());
}

// Retries until Kafka takes the announcement or a newer one supersedes it: peers forward to
// whoever announced last, so a lost announcement would leave our partitions unreachable.
asio::awaitable<void> Membership::send_latest() {
  const auto generation = generation_;
  Backoff backoff(200ms, 5s);
  while (generation == generation_ && !stopping_) {
    const auto a = announcement();
    auto sent = co_await producer_.send(topic_, self_, cluster::encode(a));
    if (sent) {
      spdlog::info("membership: announced {} owns [{}]", self_, fmt::join(a.partitions, ","));
      co_return;
    }
    spdlog::warn("membership: announcement not accepted ({}); retrying", sent.error().message());
    if (generation != generation_ || stopping_) break;
    retry_.expires_after(backoff.next());
    co_await retry_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> Membership::run() {
  while (!stopping_) {
    // A fresh reader from the beginning: compaction keeps the topic small (one record per member).
    table_ = {};
    auto reader =
        log::PartitionReader::create(ex_, kafka_, topic_, {{0, log::kOffsetBeginning}}, 1000);
    if (!reader) {
      spdlog::error("membership: cannot read {}: {}", topic_, reader.error().message());
    } else {
      while (!stopping_) {
        auto poll = co_await (*reader)->next(100ms);
        if (!poll) {
          if (poll.error() != errc::shutting_down) {
            spdlog::warn("membership: read failed: {}", poll.error().message());
          }
          break;
        }
        for (const auto& r : poll->records()) {
          auto a = cluster::decode_announcement(r.key, r.value);
          if (a && auth_.enabled() && !auth_.verify(cluster::signed_payload(*a), a->mac)) {
            // Anyone who can write to the topic could otherwise send our queries anywhere.
            spdlog::warn(
                "membership: ignoring an unsigned or forged announcement of '{}' at offset {}",
                a->instance, r.offset);
            if (rejected_ != nullptr) rejected_->inc();
            continue;
          }
          if (!a) {
            spdlog::warn("membership: ignoring a record that is not an announcement at offset {}",
                         r.offset);
            continue;
          }
          table_.apply(std::move(*a), r.offset);
        }
      }
      co_await (*reader)->close();
    }
    if (stopping_) break;
    wake_.expires_after(1s);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_await senders_.wait();
}

}  // namespace xbanku::app
