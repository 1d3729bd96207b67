// The Kafka module against a real broker (support/services.hpp): produce/consume round trip with
// ordering and placement, delivery failure without a broker, group rebalance, assignment at
// caller-supplied offsets, and the group-less PartitionReader.

#include "support/services.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/domain/partitioner.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/log/consumer.hpp"
#include "xbanku/log/producer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using xbanku::errc;
using xbanku::log::Consumer;
using xbanku::log::ConsumerConfig;
using xbanku::log::KafkaConfig;
using xbanku::log::PartitionReader;
using xbanku::log::Producer;
using xbanku::log::RebalanceHandler;
using xbanku::test::kBrokers;
using Clock = std::chrono::steady_clock;

// Fails the test and leaves the coroutine (gtest's ASSERT_* cannot co_return).
#define CO_REQUIRE(cond, msg)                \
  do {                                       \
    if (!(cond)) {                           \
      ADD_FAILURE() << #cond << ": " << msg; \
      co_return;                             \
    }                                        \
  } while (0)

std::string unique(std::string_view prefix) {
  static std::mt19937_64 rng{std::random_device{}()};
  return std::string(prefix) + "-" + std::to_string(rng() % 1'000'000'000);
}

KafkaConfig broker() {
  KafkaConfig cfg;
  cfg.brokers = kBrokers;
  cfg.client_id = "xbanku-log-test";
  cfg.request_timeout = 5s;
  return cfg;
}

// Runs `make()`'s coroutine to completion on a fresh io_context, within `limit`.
template <class F>
void run(F make, std::chrono::seconds limit) {
  asio::io_context ctx;
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(ctx, make(ctx.get_executor()), [&](std::exception_ptr e) {
    done = true;
    error = e;
  });
  ctx.run_for(limit);
  ASSERT_TRUE(done) << "the test did not finish within " << limit.count() << " s";
  if (error) std::rethrow_exception(error);
}

asio::awaitable<void> sleep_for(Clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Creates a fresh topic, failing loudly when no broker answers (integration tests never skip).
asio::awaitable<bool> make_topic(asio::any_io_executor ex, const std::string& topic, int parts) {
  const auto ec = co_await xbanku::log::ensure_topic(ex, broker(), topic, parts);
  if (ec) {
    ADD_FAILURE() << "cannot create topic " << topic << " on the Kafka broker at " << kBrokers
                  << " (" << ec.message() << "); start it with `scripts/services.sh up`";
    co_return false;
  }
  // KRaft propagates new topics asynchronously; wait until metadata shows every partition.
  for (int i = 0; i < 50; ++i) {
    const auto n = co_await xbanku::log::partition_count(ex, broker(), topic);
    if (n && *n == parts) co_return true;
    co_await sleep_for(100ms);
  }
  ADD_FAILURE() << "topic " << topic << " never showed " << parts << " partitions";
  co_return false;
}

std::string key_of(int k) {
  return "acc-" + std::to_string(k);
}

// (a) 1,000 keyed records from concurrent coroutines come back exactly once, in order per key,
// each key in the murmur2 partition.
TEST(LogIntegration, ProduceConsumeExactlyOnceInOrderPerKey) {
  run(
      [](asio::any_io_executor ex) -> asio::awaitable<void> {
        const auto topic = unique("xbanku-log-a");
        CO_REQUIRE(co_await make_topic(ex, topic, 3), "no topic");
        constexpr int kKeys = 50;
        constexpr int kRecords = 1000;

        auto producer = Producer::create(ex, broker());
        CO_REQUIRE(producer, producer.error().message());
        int finished = 0;
        int failed = 0;
        std::size_t max_in_flight = 0;
        for (int i = 0; i < kRecords; ++i) {
          // Spawned in order, each coroutine calls produce before its first suspension, so the
          // produce order per key is the sequence order; all 1,000 are in flight together.
          asio::co_spawn(
              ex,
              [&, i]() -> asio::awaitable<void> {
                const auto key = key_of(i % kKeys);
                const auto value = key + ":" + std::to_string(i / kKeys);
                auto d = co_await (*producer)->send(topic, key, value);
                if (!d) {
                  ++failed;
                  ADD_FAILURE() << "send " << i << ": " << d.error().message();
                } else {
                  EXPECT_EQ(d->partition, xbanku::domain::partition_for_key(key, 3)) << key;
                }
                ++finished;
              },
              asio::detached);
          max_in_flight = std::max(max_in_flight, (*producer)->in_flight());
        }
        const auto deadline = Clock::now() + 15s;
        while (finished < kRecords && Clock::now() < deadline) co_await sleep_for(5ms);
        CO_REQUIRE(finished == kRecords, "only " << finished << " sends completed");
        CO_REQUIRE(failed == 0, failed << " sends failed");
        EXPECT_GE(max_in_flight, 256u);
        EXPECT_FALSE(co_await (*producer)->flush(5s));
        EXPECT_EQ((*producer)->in_flight(), 0u);

        int assigns = 0;
        RebalanceHandler handler{[&](const std::vector<std::int32_t>& parts) {
                                   ++assigns;
                                   std::map<std::int32_t, std::int64_t> offsets;
                                   for (auto p : parts) offsets[p] = xbanku::log::kOffsetBeginning;
                                   return offsets;
                                 },
                                 [](const std::vector<std::int32_t>&) {}};
        ConsumerConfig ccfg{broker(), unique("xbanku-log-a-group"), topic, "", 6000ms, 5000};
        auto consumer = Consumer::create(ex, ccfg, handler);
        CO_REQUIRE(consumer, consumer.error().message());

        std::map<std::string, int> next_seq;
        std::set<std::pair<std::int32_t, std::int64_t>> seen;
        std::map<std::int32_t, std::int64_t> next_offsets;
        int received = 0;
        const auto consume_deadline = Clock::now() + 20s;
        while (received < kRecords && Clock::now() < consume_deadline) {
          auto batch = co_await (*consumer)->next(200ms);
          CO_REQUIRE(batch, batch.error().message());
          EXPECT_TRUE(batch->errors().empty());
          for (const auto& r : *batch) {
            ++received;
            EXPECT_TRUE(seen.emplace(r.partition, r.offset).second)
                << "duplicate " << r.partition << "@" << r.offset;
            const std::string key(r.key);
            EXPECT_EQ(r.partition, xbanku::domain::partition_for_key(key, 3)) << key;
            const auto value = std::string(r.value);
            const auto colon = value.rfind(':');
            CO_REQUIRE(colon != std::string::npos && value.substr(0, colon) == key, value);
            EXPECT_EQ(std::stoi(value.substr(colon + 1)), next_seq[key]) << "order of " << key;
            next_seq[key] = std::stoi(value.substr(colon + 1)) + 1;
            EXPECT_GT(r.timestamp_ms, 0);
            next_offsets[r.partition] = r.offset + 1;
          }
        }
        EXPECT_EQ(received, kRecords);
        EXPECT_EQ(next_seq.size(), static_cast<std::size_t>(kKeys));
        for (const auto& [key, n] : next_seq) EXPECT_EQ(n, kRecords / kKeys) << key;
        EXPECT_GE(assigns, 1);
        EXPECT_EQ((*consumer)->assignment(), (std::vector<std::int32_t>{0, 1, 2}));
        EXPECT_FALSE(co_await (*consumer)->commit(next_offsets));
        for (const auto& [p, lag] : (*consumer)->lag(next_offsets)) EXPECT_EQ(lag, 0) << p;
        co_await (*consumer)->close();
        auto after = co_await (*consumer)->next(10ms);
        EXPECT_EQ(after.error(), make_error_code(errc::shutting_down));
      },
      55s);
}

// (b) Without a broker, a send fails as "not written" within the delivery timeout, no hang.
TEST(LogIntegration, UnreachableBrokerFailsAsUnavailable) {
  run(
      [](asio::any_io_executor ex) -> asio::awaitable<void> {
        KafkaConfig cfg;
        cfg.brokers = "127.0.0.1:1";
        cfg.delivery_timeout = 1000ms;
        auto producer = Producer::create(ex, cfg);
        CO_REQUIRE(producer, producer.error().message());
        const auto start = Clock::now();
        auto d = co_await (*producer)->send("xbanku-log-nowhere", "k", "v");
        const auto elapsed = Clock::now() - start;
        CO_REQUIRE(!d, "delivered without a broker?");
        EXPECT_EQ(d.error(), make_error_code(errc::log_unavailable)) << d.error().message();
        EXPECT_LT(elapsed, 1600ms);
        EXPECT_GE(elapsed, 400ms);
        std::printf("unreachable broker: failed after %lld ms\n",
                    static_cast<long long>(
                        std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
        EXPECT_EQ((*producer)->in_flight(), 0u);
      },
      10s);
}

// (c) A second member splits the partitions; both sides see the rebalance callbacks.
TEST(LogIntegration, SecondMemberTriggersRebalance) {
  run(
      [](asio::any_io_executor ex) -> asio::awaitable<void> {
        const auto topic = unique("xbanku-log-c");
        CO_REQUIRE(co_await make_topic(ex, topic, 3), "no topic");
        const auto group = unique("xbanku-log-c-group");
        struct Seen {
          int assigns = 0;
          int revokes = 0;
          std::vector<std::int32_t> last_assigned;
        } a_seen, b_seen;
        auto handler = [](Seen& s) {
          return RebalanceHandler{[&s](const std::vector<std::int32_t>& parts) {
                                    ++s.assigns;
                                    s.last_assigned = parts;
                                    return std::map<std::int32_t, std::int64_t>{};
                                  },
                                  [&s](const std::vector<std::int32_t>&) { ++s.revokes; }};
        };
        ConsumerConfig ccfg{broker(), group, topic, "", 6000ms, 1000};
        auto a = Consumer::create(ex, ccfg, handler(a_seen));
        CO_REQUIRE(a, a.error().message());
        auto deadline = Clock::now() + 15s;
        while ((*a)->assignment().size() != 3 && Clock::now() < deadline) {
          CO_REQUIRE(co_await (*a)->next(100ms), "poll a");
        }
        CO_REQUIRE((*a)->assignment().size() == 3, "a never got all 3 partitions");

        auto b = Consumer::create(ex, ccfg, handler(b_seen));
        CO_REQUIRE(b, b.error().message());
        // Both members must keep polling for the group to settle.
        deadline = Clock::now() + 20s;
        while (Clock::now() < deadline &&
               !((*a)->assignment().size() + (*b)->assignment().size() == 3 &&
                 !(*a)->assignment().empty() && !(*b)->assignment().empty())) {
          CO_REQUIRE(co_await (*a)->next(50ms), "poll a");
          CO_REQUIRE(co_await (*b)->next(50ms), "poll b");
        }
        const auto pa = (*a)->assignment();
        const auto pb = (*b)->assignment();
        EXPECT_EQ(pa.size() + pb.size(), 3u);
        EXPECT_FALSE(pa.empty());
        EXPECT_FALSE(pb.empty());
        std::set<std::int32_t> all(pa.begin(), pa.end());
        all.insert(pb.begin(), pb.end());
        EXPECT_EQ(all, (std::set<std::int32_t>{0, 1, 2}));
        EXPECT_GE(a_seen.revokes, 1);
        EXPECT_GE(a_seen.assigns, 2);
        EXPECT_GE(b_seen.assigns, 1);
        EXPECT_EQ(b_seen.last_assigned, pb);
        co_await (*b)->close();
        EXPECT_GE(b_seen.revokes, 1);  // close() revokes through the handler
        co_await (*a)->close();
      },
      50s);
}

// (d) The assignment starts where on_assign says; PartitionReader and end_offsets agree.
TEST(LogIntegration, AssignStartsAtCallerOffsetsAndReaderReplays) {
  run(
      [](asio::any_io_executor ex) -> asio::awaitable<void> {
        const auto topic = unique("xbanku-log-d");
        CO_REQUIRE(co_await make_topic(ex, topic, 1), "no topic");
        auto producer = Producer::create(ex, broker());
        CO_REQUIRE(producer, producer.error().message());
        for (int i = 0; i < 20; ++i) {
          const xbanku::log::Header h{"n", std::to_string(i)};
          auto d = co_await (*producer)->send(topic, "k", "v" + std::to_string(i), {&h, 1});
          CO_REQUIRE(d, d.error().message());
          EXPECT_EQ(d->offset, i);
        }
        auto ends = co_await xbanku::log::end_offsets(ex, broker(), topic);
        CO_REQUIRE(ends, ends.error().message());
        EXPECT_EQ(*ends, (std::map<std::int32_t, std::int64_t>{{0, 20}}));

        RebalanceHandler handler{[](const std::vector<std::int32_t>&) {
                                   return std::map<std::int32_t, std::int64_t>{{0, 10}};
                                 },
                                 {}};
        ConsumerConfig ccfg{broker(), unique("xbanku-log-d-group"), topic, "", 6000ms, 5000};
        auto consumer = Consumer::create(ex, ccfg, handler);
        CO_REQUIRE(consumer, consumer.error().message());
        std::vector<std::int64_t> offsets;
        auto deadline = Clock::now() + 15s;
        while (offsets.size() < 10 && Clock::now() < deadline) {
          auto batch = co_await (*consumer)->next(200ms);
          CO_REQUIRE(batch, batch.error().message());
          for (const auto& r : *batch) {
            offsets.push_back(r.offset);
            EXPECT_EQ(r.value, "v" + std::to_string(r.offset));
          }
        }
        CO_REQUIRE(!offsets.empty(), "nothing consumed");
        EXPECT_EQ(offsets.front(), 10);
        EXPECT_EQ(offsets.size(), 10u);
        EXPECT_EQ((*consumer)->high_watermark(0), 20);
        co_await (*consumer)->close();

        // Replay from offset 5 to the end, without a group.
        auto reader = PartitionReader::create(ex, broker(), topic, {{0, 5}});
        CO_REQUIRE(reader, reader.error().message());
        std::int64_t next = 5;
        deadline = Clock::now() + 10s;
        while (next < (*ends)[0] && Clock::now() < deadline) {
          auto batch = co_await (*reader)->next(200ms);
          CO_REQUIRE(batch, batch.error().message());
          for (const auto& r : *batch) {
            EXPECT_EQ(r.offset, next);
            next = r.offset + 1;
          }
        }
        EXPECT_EQ(next, 20);
        co_await (*reader)->close();
      },
      40s);
}

// Topic administration: creating twice is fine; a missing topic is an error, not a creation.
TEST(LogIntegration, EnsureTopicIsIdempotent) {
  run(
      [](asio::any_io_executor ex) -> asio::awaitable<void> {
        const auto topic = unique("xbanku-log-e");
        CO_REQUIRE(co_await make_topic(ex, topic, 2), "no topic");
        EXPECT_FALSE(co_await xbanku::log::ensure_topic(ex, broker(), topic, 2));
        auto n = co_await xbanku::log::partition_count(ex, broker(), topic);
        CO_REQUIRE(n, n.error().message());
        EXPECT_EQ(*n, 2);
        auto missing =
            co_await xbanku::log::partition_count(ex, broker(), unique("xbanku-log-none"));
        EXPECT_FALSE(missing);
      },
      20s);
}

}  // namespace
