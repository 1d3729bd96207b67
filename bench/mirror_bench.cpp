// Redis mirror throughput: one pipelined batch of 1,000 accounts through RedisConnection
// (hiredis async driven by Asio), against the baseline of the same 1,000 HSETs pipelined through
// plain synchronous hiredis (redisAppendCommandArgv + redisGetReply) in the same run.
// Needs a Redis on 127.0.0.1: port XBANKU_TEST_REDIS_PORT (scripts/test.sh's own), else 6379
// (db 9, random key prefix, deleted afterwards).

#include "xbanku/common/error.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/mirror/redis_connection.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using xbanku::domain::Account;
using xbanku::mirror::RedisConfig;
using xbanku::mirror::RedisConnection;

constexpr std::size_t kBatch = 1000;
constexpr int kDb = 9;

std::vector<Account> bench_accounts() {
  std::random_device rd;
  const std::string prefix = fmt::format("xbanku-mirror-bench-{:08x}:", rd());
  std::vector<Account> out;
  for (std::size_t i = 0; i < kBatch; ++i)
    out.push_back(Account{.id = fmt::format("{}{:06}", prefix, i),
                          .name = fmt::format("Customer number {}", i),
                          .balance = static_cast<std::int64_t>(i) * 1013,
                          .version = 1});
  return out;
}

using SyncContext = std::unique_ptr<redisContext, decltype(&redisFree)>;

std::uint16_t redis_port() {
  const char* p = std::getenv("XBANKU_TEST_REDIS_PORT");
  return static_cast<std::uint16_t>(p != nullptr && *p != '\0' ? std::atoi(p) : 6379);
}

SyncContext sync_connect(std::string* why) {
  const timeval tv{2, 0};
  SyncContext c(redisConnectWithTimeout("127.0.0.1", redis_port(), tv), &redisFree);
  if (!c || c->err != 0) {
    *why = fmt::format("Redis on 127.0.0.1:{} is unreachable: {}", redis_port(),
                       c ? c->errstr : "no memory");
    return SyncContext(nullptr, &redisFree);
  }
  auto* r = static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", kDb));
  const bool ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
  if (r != nullptr) freeReplyObject(r);
  if (!ok) {
    *why = "SELECT failed";
    return SyncContext(nullptr, &redisFree);
  }
  return c;
}

void cleanup(redisContext* c, const std::vector<Account>& accounts) {
  for (const auto& a : accounts) redisAppendCommand(c, "DEL %b", a.id.data(), a.id.size());
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK) break;
    freeReplyObject(r);
  }
}

void BM_MirrorPipelineHset1000(benchmark::State& state) {
  std::string why;
  auto sync = sync_connect(&why);
  if (!sync) return state.SkipWithError(why.c_str());
  const auto accounts = bench_accounts();

  asio::io_context io;
  RedisConfig config;
  config.port = redis_port();
  config.db = kDb;
  RedisConnection conn(io.get_executor(), config);
  // Runs the io_context until `task` finishes (the connection keeps a read wait pending, so
  // io.run() alone would never return).
  auto drive = [&](auto make) {
    std::optional<boost::system::error_code> result;
    asio::co_spawn(io, make(), [&](std::exception_ptr e, boost::system::error_code ec) {
      if (e) std::rethrow_exception(e);
      result = ec;
    });
    while (!result && io.run_one() != 0) {
    }
    return result.value_or(make_error_code(xbanku::errc::timeout));
  };
  if (auto ec = drive([&] { return conn.connect(); }))
    return state.SkipWithError(
        fmt::format("connect: {} ({})", ec.message(), conn.last_error()).c_str());

  for (auto _ : state) {
    if (auto ec = drive([&] { return conn.pipeline_hset(accounts); })) {
      state.SkipWithError(
          fmt::format("pipeline: {} ({})", ec.message(), conn.last_error()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  cleanup(sync.get(), accounts);
}
BENCHMARK(BM_MirrorPipelineHset1000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline: the same commands, one pipeline, synchronous hiredis on a blocking socket.
void BM_BaselineSyncHiredisPipeline1000(benchmark::State& state) {
  std::string why;
  auto sync = sync_connect(&why);
  if (!sync) return state.SkipWithError(why.c_str());
  const auto accounts = bench_accounts();

  for (auto _ : state) {
    for (const auto& a : accounts) {
      char balance[24];
      const auto end = std::to_chars(balance, balance + sizeof balance, a.balance).ptr;
      const char* argv[8] = {"HSET", a.id.data(),   "Id",      a.id.data(),
                             "Name", a.name.data(), "Balance", balance};
      const std::size_t lens[8] = {4, a.id.size(),   2, a.id.size(),
                                   4, a.name.size(), 7, static_cast<std::size_t>(end - balance)};
      if (redisAppendCommandArgv(sync.get(), 8, argv, lens) != REDIS_OK)
        return state.SkipWithError("redisAppendCommandArgv failed");
    }
    for (std::size_t i = 0; i < kBatch; ++i) {
      void* r = nullptr;
      if (redisGetReply(sync.get(), &r) != REDIS_OK) return state.SkipWithError(sync->errstr);
      const bool error = static_cast<redisReply*>(r)->type == REDIS_REPLY_ERROR;
      freeReplyObject(r);
      if (error) return state.SkipWithError("error reply");
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  cleanup(sync.get(), accounts);
}
BENCHMARK(BM_BaselineSyncHiredisPipeline1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
