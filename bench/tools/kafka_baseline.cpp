// The physical limits the service is measured against (scripts/bench.sh), with the service's
// own librdkafka settings:
//   xbanku_kafka_baseline produce --topic T --records N [--accounts A] [--partitions P]
//       appends a realistic command mix (creates, deposits, withdrawals, transfers over A
//       accounts) with the idempotent producer, many records in flight: raw produce rate;
//   xbanku_kafka_baseline consume --topic T
//       reads every record of every partition to the end, no parsing: raw consume rate;
//   xbanku_kafka_baseline latency --topic T [--rate 1000] [--seconds 10]
//       deposits at a fixed rate, each timed from the producer call to its arrival at a
//       consumer reading the topic's end: raw produce -> consume latency percentiles, the
//       limit of the service's command -> projected answer latency (same client settings).
// Prints one JSON object with the figures on stdout.

#include "xbanku/common/task_group.hpp"
#include "xbanku/domain/codec.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/log/consumer.hpp"
#include "xbanku/log/producer.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string_view>

namespace {

namespace asio = boost::asio;
using namespace xbanku;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string brokers = "127.0.0.1:9092";
  std::string topic;
  std::size_t records = 1'000'000;
  std::size_t accounts = 100'000;
  int partitions = 6;
  std::size_t window = 20'000;
  double rate = 1000;
  double seconds = 10;
};

std::string account_id(std::mt19937_64& rng) {
  return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", rng() & 0xffffffff, rng() & 0xffff,
                     rng() & 0xfff, rng() & 0xfff, rng() & 0xffffffffffffULL);
}

// Creates first, then 40% deposits, 25% withdrawals, 35% transfers over random accounts.
std::vector<domain::Event> workload(const Options& o) {
  std::mt19937_64 rng(1);
  std::vector<std::string> ids;
  std::vector<domain::Event> out;
  out.reserve(o.records);
  for (std::size_t i = 0; i < o.accounts && out.size() < o.records; ++i) {
    ids.push_back(account_id(rng));
    out.push_back({.type = domain::EventType::create,
                   .acc_id = ids.back(),
                   .acc_name = fmt::format("Bench {}", i)});
  }
  std::uniform_int_distribution<std::size_t> pick(0, ids.size() - 1);
  while (out.size() < o.records) {
    const auto k = rng() % 100;
    domain::Event e{.type = k < 40   ? domain::EventType::deposit
                            : k < 65 ? domain::EventType::withdraw
                                     : domain::EventType::transfer,
                    .acc_id = ids[pick(rng)],
                    .amount = static_cast<std::int64_t>(rng() % 5000 + 1)};
    if (e.type == domain::EventType::transfer) e.target_id = ids[pick(rng)];
    out.push_back(std::move(e));
  }
  for (std::size_t i = 0; i < out.size(); ++i) out[i].command_id = fmt::format("bench-{}", i);
  return out;
}

asio::awaitable<void> send_one(log::Producer& p, const std::string& topic, const std::string& key,
                               const std::string& value, std::size_t& failed) {
  // Named result: GCC 12 miscompiles a co_await inside a condition (SIGILL in Release).
  const auto sent = co_await p.send(topic, key, value);
  if (!sent) ++failed;
}

asio::awaitable<int> produce(Options o) {
  auto ex = co_await asio::this_coro::executor;
  log::KafkaConfig cfg;
  cfg.brokers = o.brokers;
  cfg.delivery_timeout = std::chrono::seconds(60);
  if (auto ec = co_await log::ensure_topic(ex, cfg, o.topic, o.partitions)) {
    std::fprintf(stderr, "ensure_topic: %s\n", ec.message().c_str());
    co_return 1;
  }
  const auto events = workload(o);
  std::vector<std::string> values;
  values.reserve(events.size());
  for (const auto& e : events) values.push_back(domain::encode(e));
  auto producer = log::Producer::create(ex, cfg);
  if (!producer) co_return 1;
  std::size_t failed = 0;
  const auto started = Clock::now();
  for (std::size_t start = 0; start < values.size(); start += o.window) {
    TaskGroup group(ex);
    for (std::size_t i = start; i < std::min(values.size(), start + o.window); ++i) {
      group.spawn(send_one(**producer, o.topic, events[i].acc_id, values[i], failed), "send");
    }
    co_await group.wait();
  }
  const double s = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf(R"({"records":%zu,"failed":%zu,"seconds":%.3f,"records_per_s":%.0f})"
              "\n",
              values.size(), failed, s, static_cast<double>(values.size()) / s);
  co_return failed == 0 ? 0 : 1;
}

asio::awaitable<int> consume(Options o) {
  auto ex = co_await asio::this_coro::executor;
  log::KafkaConfig cfg;
  cfg.brokers = o.brokers;
  auto ends = co_await log::end_offsets(ex, cfg, o.topic);
  if (!ends) co_return 1;
  std::map<std::int32_t, std::int64_t> start;
  std::int64_t total = 0;
  for (const auto& [p, end] : *ends) {
    start[p] = log::kOffsetBeginning;
    total += end;
  }
  auto reader = log::PartitionReader::create(ex, cfg, o.topic, start);
  if (!reader) co_return 1;
  std::int64_t seen = 0;
  std::size_t bytes = 0;
  const auto started = Clock::now();
  while (seen < total) {
    auto batch = co_await (*reader)->next(std::chrono::milliseconds(500));
    if (!batch) co_return 1;
    for (const auto& r : batch->records()) bytes += r.value.size();
    seen += static_cast<std::int64_t>(batch->size());
  }
  const double s = std::chrono::duration<double>(Clock::now() - started).count();
  co_await (*reader)->close();
  std::printf(R"({"records":%lld,"bytes":%zu,"seconds":%.3f,"records_per_s":%.0f})"
              "\n",
              static_cast<long long>(seen), bytes, s, static_cast<double>(seen) / s);
  co_return 0;
}

asio::awaitable<void> send_timed(log::Producer& p, const std::string& topic, std::string key,
                                 std::string value, std::size_t& failed) {
  const auto sent = co_await p.send(topic, key, value);  // named: see send_one
  if (!sent) ++failed;
}

// The "lat-<n>" command id of a record this mode wrote, or nullopt.
std::optional<std::size_t> latency_index(std::string_view value) {
  constexpr std::string_view tag = R"("CommandId":"lat-)";
  const auto at = value.find(tag);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t n = 0;
  const char* first = value.data() + at + tag.size();
  const auto [end, ec] = std::from_chars(first, value.data() + value.size(), n);
  if (ec != std::errc{} || end == first) return std::nullopt;
  return n;
}

asio::awaitable<int> latency(Options o) {
  auto ex = co_await asio::this_coro::executor;
  log::KafkaConfig cfg;
  cfg.brokers = o.brokers;
  if (auto ec = co_await log::ensure_topic(ex, cfg, o.topic, o.partitions)) {
    std::fprintf(stderr, "ensure_topic: %s\n", ec.message().c_str());
    co_return 1;
  }
  auto ends = co_await log::end_offsets(ex, cfg, o.topic);
  if (!ends) co_return 1;
  auto reader = log::PartitionReader::create(ex, cfg, o.topic, *ends);  // only what we write now
  if (!reader) co_return 1;
  auto producer = log::Producer::create(ex, cfg);
  if (!producer) co_return 1;

  const auto count = static_cast<std::size_t>(o.rate * o.seconds);
  std::mt19937_64 rng(7);
  std::vector<std::string> accounts;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, std::min(o.accounts, count)); ++i)
    accounts.push_back(account_id(rng));
  std::vector<Clock::time_point> sent_at(count);
  std::vector<double> latencies_ms;
  latencies_ms.reserve(count);
  std::size_t failed = 0;

  // Warm-up: the first fetch and the first produce pay for connections and metadata.
  {
    const std::string warm = domain::encode({.type = domain::EventType::deposit,
                                             .acc_id = accounts[0],
                                             .amount = 1,
                                             .command_id = "warmup"});
    const auto sent = co_await (*producer)->send(o.topic, accounts[0], warm);
    if (!sent) co_return 1;
    for (int i = 0; i < 100; ++i) {
      auto batch = co_await (*reader)->next(std::chrono::milliseconds(100));
      if (!batch) co_return 1;
      if (!batch->empty()) break;
    }
  }

  TaskGroup group(ex);
  bool consumer_done = false;
  asio::co_spawn(
      ex,
      [&]() -> asio::awaitable<void> {
        const auto deadline = Clock::now() + std::chrono::duration<double>(o.seconds + 30);
        while (latencies_ms.size() + failed < count && Clock::now() < deadline) {
          auto batch = co_await (*reader)->next(std::chrono::milliseconds(100));
          if (!batch) break;
          const auto now = Clock::now();
          for (const auto& r : batch->records()) {
            const auto n = latency_index(r.value);
            if (n && *n < count)
              latencies_ms.push_back(
                  std::chrono::duration<double, std::milli>(now - sent_at[*n]).count());
          }
        }
        consumer_done = true;
      },
      asio::detached);

  asio::steady_timer pace(ex);
  const auto start = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    pace.expires_at(start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(i / o.rate)));
    co_await pace.async_wait(asio::use_awaitable);
    domain::Event e{.type = domain::EventType::deposit,
                    .acc_id = accounts[i % accounts.size()],
                    .amount = 1,
                    .command_id = fmt::format("lat-{}", i)};
    sent_at[i] = Clock::now();
    group.spawn(send_timed(**producer, o.topic, e.acc_id, domain::encode(e), failed), "send");
  }
  co_await group.wait();
  while (!consumer_done) {
    pace.expires_after(std::chrono::milliseconds(10));
    co_await pace.async_wait(asio::use_awaitable);
  }
  co_await (*reader)->close();
  if (latencies_ms.empty()) co_return 1;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  // Same percentile rule as bench/ws_load.py.
  const auto pct = [&](double p) {
    return latencies_ms[std::min(
        latencies_ms.size() - 1,
        static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  std::printf(
      R"({"records":%zu,"received":%zu,"failed":%zu,"rate":%.0f,"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f})"
      "\n",
      count, latencies_ms.size(), failed, o.rate, pct(0.5), pct(0.99), pct(0.999),
      latencies_ms.back());
  co_return latencies_ms.size() == count&& failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App cli{"xbanku Kafka baselines"};
  cli.require_subcommand(1);
  auto* prod = cli.add_subcommand("produce", "append a command mix");
  auto* cons = cli.add_subcommand("consume", "read every record, no parsing");
  auto* lat = cli.add_subcommand("latency", "produce -> consume latency at a fixed rate");
  for (auto* sub : {prod, cons, lat}) {
    sub->add_option("--brokers", o.brokers);
    sub->add_option("--topic", o.topic)->required();
  }
  prod->add_option("--records", o.records);
  prod->add_option("--accounts", o.accounts);
  prod->add_option("--partitions", o.partitions);
  lat->add_option("--rate", o.rate)->check(CLI::PositiveNumber);
  lat->add_option("--seconds", o.seconds)->check(CLI::PositiveNumber);
  lat->add_option("--accounts", o.accounts);
  lat->add_option("--partitions", o.partitions);
  CLI11_PARSE(cli, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("baseline"));  // stdout carries the JSON
  asio::io_context io(1);
  int code = 1;
  asio::co_spawn(io,
                 prod->parsed()  ? produce(o)
                 : lat->parsed() ? latency(o)
                                 : consume(o),
                 [&](std::exception_ptr e, int rc) { code = e ? 1 : rc; });
  io.run();
  return code;
}
