#include "xbanku/app/console.hpp"

#include "xbanku/app/kafka_settings.hpp"
#include "xbanku/app/projection.hpp"
#include "xbanku/app/verify_mirror.hpp"
#include "xbanku/common/clock.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/common/runner.hpp"
#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/console_line.hpp"
#include "xbanku/domain/uuid.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/log/cluster.hpp"
#include "xbanku/log/consumer.hpp"
#include "xbanku/log/producer.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <thread>

namespace xbanku::app {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

// A scratch store that removes itself: the console consumer's and verify's rebuilt view.
class ScratchStore {
 public:
  explicit ScratchStore(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ~ScratchStore() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;

  bool open() {
    auto s = view::Store::open({.dir = dir_, .mirror_debts = false});  // nothing to mirror
    if (!s) return false;
    store = std::move(*s);
    return true;
  }
  std::unique_ptr<view::Store> store;

 private:
  std::filesystem::path dir_;
};

std::filesystem::path scratch_dir(std::string_view what) {
  return std::filesystem::temp_directory_path() / fmt::format("xbanku-{}-{}", what, ::getpid());
}

// Reads partitions [0, ends) from the beginning and folds every record with offset < ends[p]
// (or forever with `follow`) through the projector's code path into `store`.
awaitable<boost::system::error_code> replay(const Config& config, view::Store& store,
                                            std::int32_t partitions,
                                            std::map<std::int32_t, std::int64_t> ends, bool follow,
                                            const FoldObserver& observer) {
  auto ex = co_await asio::this_coro::executor;
  std::map<std::int32_t, std::int64_t> start;
  for (const auto& [p, end] : ends) {
    if (end > 0 || follow) start[p] = log::kOffsetBeginning;
  }
  if (start.empty()) co_return boost::system::error_code{};
  auto reader =
      log::PartitionReader::create(ex, kafka_settings(config, "console"), config.topic, start);
  if (!reader) co_return reader.error();

  Projection projection(store, domain::Placement{partitions});
  std::vector<log::Record> raw;
  boost::system::error_code result;
  auto done = [&] {
    if (follow || result) return static_cast<bool>(result);
    for (const auto& [p, end] : ends) {
      auto next = projection.next_offset(p);
      if (!next) {
        result = next.error();
        return true;
      }
      if (*next < end) return false;
    }
    return true;
  };
  auto last_progress = std::chrono::steady_clock::now();
  while (!done()) {
    auto poll = co_await (*reader)->next(200ms);
    if (!poll) {
      result = poll.error();
      break;
    }
    raw.clear();
    for (const auto& r : poll->records()) {
      if (!follow && r.offset >= ends[r.partition]) continue;
      raw.push_back(r);  // a view into `poll`, which lives until the fold below
    }
    if (raw.empty()) {
      // The log is shorter than the offsets we were asked to reach (deleted records?).
      if (std::chrono::steady_clock::now() - last_progress > 15s && !follow) {
        spdlog::error("replay: no progress for 15 s; the log ends before the expected offsets");
        result = errc::timeout;
        break;
      }
      continue;
    }
    last_progress = std::chrono::steady_clock::now();
    auto vb = store.begin();
    if (auto folded = projection.fold(vb, raw, observer); !folded) {
      result = folded.error();
      break;
    }
    if (auto ec = store.commit(vb)) {
      result = ec;
      break;
    }
  }
  co_await (*reader)->close();
  co_return result;
}

// ---- --act=producer ----

awaitable<int> console_producer(const Config& config) {
  auto ex = co_await asio::this_coro::executor;
  const auto kafka = kafka_settings(config, "console");
  if (auto ec = co_await log::ensure_topic(ex, kafka, config.topic, config.partitions)) {
    std::fprintf(stderr, "xbanku: cannot create or find topic %s on %s: %s\n", config.topic.c_str(),
                 config.brokers.c_str(), ec.message().c_str());
    co_return 1;
  }
  auto producer = log::Producer::create(ex, kafka);
  if (!producer) co_return 1;

  // Standard input may be a file, a pipe or a terminal; a plain thread reads it (epoll cannot
  // watch regular files) and hands lines to the io thread through a channel.
  using Lines =
      asio::experimental::concurrent_channel<void(boost::system::error_code, std::string)>;
  Lines lines(ex, 16);
  const bool interactive = ::isatty(STDIN_FILENO) != 0;
  std::jthread reader([&lines, interactive] {
    std::string line;
    while (true) {
      if (interactive) {
        std::fputs("-> ", stdout);
        std::fflush(stdout);
      }
      if (!std::getline(std::cin, line)) break;
      auto sent = lines.async_send({}, line, asio::use_future);
      try {
        sent.get();
      } catch (const std::exception&) {
        return;  // channel closed
      }
    }
    try {
      lines.async_send(asio::error::eof, std::string{}, asio::use_future).get();
    } catch (const std::exception&) {
    }
  });

  int failures = 0;
  while (true) {
    auto [ec, line] = co_await lines.async_receive(asio::as_tuple(use_awaitable));
    if (ec) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto event = domain::parse_console_line(line);
    if (!event) {
      std::printf("%s\n", event.error().c_str());
      std::fflush(stdout);
      continue;
    }
    event->command_id = domain::new_uuid();
    event->ts = now_ms();
    const auto json = domain::encode(*event);
    std::printf("Message: %s\n", json.c_str());
    std::fflush(stdout);
    auto delivery = co_await (*producer)->send(config.topic, event->acc_id, json);
    if (delivery) {
      std::printf("Message is stored in partition %d, offset %lld\n", delivery->partition,
                  static_cast<long long>(delivery->offset));
    } else {
      ++failures;
      std::printf("Message was not stored: %s\n", delivery.error().message().c_str());
    }
    std::fflush(stdout);
  }
  lines.close();
  if (auto ec = co_await (*producer)->flush(5s)) spdlog::warn("flush: {}", ec.message());
  co_return failures == 0 ? 0 : 1;
}

// ---- --act=consumer ----

std::string describe(const domain::Outcome& o) {
  std::string s(domain::to_string(o.status));
  if (o.reason != domain::Reason::none) s += fmt::format(" {}", domain::to_string(o.reason));
  if (o.account) s += fmt::format(" (balance {})", o.account->balance);
  return s;
}

awaitable<int> console_consumer(const Config& config) {
  auto ex = co_await asio::this_coro::executor;
  auto ends = co_await log::end_offsets(ex, kafka_settings(config, "console"), config.topic);
  if (!ends) {
    std::fprintf(stderr, "xbanku: cannot read topic %s on %s: %s\n", config.topic.c_str(),
                 config.brokers.c_str(), ends.error().message().c_str());
    co_return 1;
  }
  ScratchStore scratch(scratch_dir("consumer"));
  if (!scratch.open()) co_return 1;

  auto print = [](const log::Record& r, const domain::Outcome& o, bool duplicate) {
    std::printf("partition %d, offset %lld: %.*s => %s\n", r.partition,
                static_cast<long long>(r.offset), static_cast<int>(r.value.size()), r.value.data(),
                duplicate ? "duplicate (ignored)" : describe(o).c_str());
    std::fflush(stdout);
  };
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  if (config.follow) {
    // --follow ends on Ctrl-C; the io_context stops and the balances are not printed.
    signals.async_wait([ex](auto, int) { static_cast<asio::io_context&>(ex.context()).stop(); });
  }
  const auto partitions = static_cast<std::int32_t>(ends->size());
  if (auto ec = co_await replay(config, *scratch.store, partitions, *ends, config.follow, print)) {
    std::fprintf(stderr, "xbanku: replay failed: %s\n", ec.message().c_str());
    co_return 1;
  }
  signals.cancel();
  std::printf("Balances:\n");
  auto ec = scratch.store->for_each_account([](const domain::Account& a) {
    std::printf("  %s  %s  balance %lld\n", a.id.c_str(), a.name.c_str(),
                static_cast<long long>(a.balance));
  });
  std::fflush(stdout);
  co_return ec ? 1 : 0;
}

// ---- --act=verify ----

awaitable<int> verify(const Config& config) {
  auto ex = co_await asio::this_coro::executor;
  auto live = view::Store::open({.dir = config.data_dir});
  if (!live) {
    std::printf("verify: cannot open the live store in %s (is the service still running?)\n",
                config.data_dir.c_str());
    co_return 2;
  }
  auto offsets = (*live)->next_offsets();
  if (!offsets) co_return 2;
  auto partitions =
      co_await log::partition_count(ex, kafka_settings(config, "console"), config.topic);
  if (!partitions) {
    std::printf("verify: cannot read topic %s: %s\n", config.topic.c_str(),
                partitions.error().message().c_str());
    co_return 2;
  }
  if (auto built = (*live)->partition_count(); !built || (*built && **built != *partitions)) {
    std::printf("verify: the view was built from %s partitions; topic %s has %d\n",
                built ? std::to_string(**built).c_str() : "an unreadable count of",
                config.topic.c_str(), *partitions);
    co_return 1;
  }

  // Replay exactly what the live store has consumed, partition by partition.
  ScratchStore scratch(scratch_dir("verify"));
  if (!scratch.open()) co_return 2;
  if (auto ec = co_await replay(config, *scratch.store, *partitions, *offsets, false, {})) {
    std::printf("verify: replay failed: %s\n", ec.message().c_str());
    co_return 1;
  }
  std::set<std::int32_t> owned;
  for (const auto& [p, next] : *offsets) owned.insert(p);
  const auto scope = view::CompareScope::partitions(owned, domain::Placement{*partitions});
  const auto differences = view::compare(**live, *scratch.store, scope, 1000);
  for (const auto& d : differences) std::printf("%s\n", d.c_str());
  std::size_t mirror_differences = 0;
  if (!config.redis_url.empty())
    mirror_differences = co_await compare_mirror(config, **live, *offsets, *partitions);

  std::string parts;
  for (const auto& [p, next] : *offsets)
    parts += fmt::format("{}{}:{}", parts.empty() ? "" : " ", p, next);
  std::printf("verify: replayed partitions [%s]; %zu view differences, %zu mirror differences\n",
              parts.c_str(), differences.size(), mirror_differences);
  const bool ok = differences.empty() && mirror_differences == 0;
  std::printf("verify: %s\n", ok ? "OK" : "MISMATCH");
  std::fflush(stdout);
  co_return ok ? 0 : 1;
}

// Every console mode first makes sure the cluster answers, so that a wrong password, an
// untrusted certificate or an unreachable broker ends it at once with one line saying which.
awaitable<int> reachable_then(const Config& config, awaitable<int> (*mode)(const Config&)) {
  if (!config.kafka_properties.empty())
    spdlog::info("kafka: client properties: {}", config.kafka_properties_described);
  if (auto why = co_await log::check_cluster(kafka_settings(config, "console"))) {
    spdlog::critical("cannot connect to Kafka at {}: {}", config.brokers, *why);
    co_return 1;
  }
  co_return co_await mode(config);
}

}  // namespace

int run_console_producer(const Config& config) {
  return run_to_completion([&config] { return reachable_then(config, &console_producer); });
}
int run_console_consumer(const Config& config) {
  return run_to_completion([&config] { return reachable_then(config, &console_consumer); });
}
int run_verify(const Config& config) {
  return run_to_completion([&config] { return reachable_then(config, &verify); });
}

}  // namespace xbanku::app
