// --act=verify: the Redis mirror against the live view, where this view is current.
#include "xbanku/app/verify_mirror.hpp"

#include "xbanku/app/kafka_settings.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/mirror/redis_config.hpp"
#include "xbanku/mirror/redis_connection.hpp"

#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace xbanku::app {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// The partitions this view has folded to the log's end, and the others as "p q r".
struct Currency {
  std::set<std::int32_t> current;
  std::string behind;
};

Currency currency(const std::map<std::int32_t, std::int64_t>& next_offsets,
                  const std::map<std::int32_t, std::int64_t>& ends) {
  Currency c;
  for (const auto& [p, next] : next_offsets) {
    const auto end = ends.find(p);
    if (end != ends.end() && next >= end->second) {
      c.current.insert(p);
    } else {
      c.behind += fmt::format("{}{}", c.behind.empty() ? "" : " ", p);
    }
  }
  return c;
}

}  // namespace

awaitable<std::size_t> compare_mirror(const Config& config, const view::Store& live,
                                      const std::map<std::int32_t, std::int64_t>& next_offsets,
                                      std::int32_t partitions) {
  auto ex = co_await asio::this_coro::executor;
  auto ends = co_await log::end_offsets(ex, kafka_settings(config, "console"), config.topic);
  if (!ends) {
    std::printf("mirror: not compared, cannot read the log's end offsets: %s\n",
                ends.error().message().c_str());
    co_return 1;
  }
  const auto [current, behind] = currency(next_offsets, *ends);
  if (!behind.empty())
    std::printf("mirror: partitions [%s] skipped: this view is behind the log there\n",
                behind.c_str());
  const auto scope = view::CompareScope::partitions(current, domain::Placement{partitions});

  auto redis_config = mirror::parse_redis_url(config.redis_url, nullptr, config.redis_password);
  if (!redis_config) co_return 1;
  mirror::RedisConnection redis(ex, *redis_config);
  if (auto ec = co_await redis.connect()) {
    std::printf("mirror: cannot connect to Redis at %s: %s: %s\n",
                mirror::redact_redis_url(config.redis_url).c_str(), ec.message().c_str(),
                redis.last_error().c_str());
    co_return 1;
  }
  std::vector<domain::Account> accounts;
  if (auto ec = live.for_each_account([&](const domain::Account& a) {
        if (scope.account(a.id)) accounts.push_back(a);
      })) {
    std::printf("mirror: cannot read the live store: %s\n", ec.message().c_str());
    co_return 1;
  }
  std::size_t differences = 0;
  for (const auto& a : accounts) {
    auto got = co_await redis.hgetall(a.id);
    if (!got) {
      std::printf("mirror: %s: Redis error %s\n", a.id.c_str(), got.error().message().c_str());
      ++differences;
    } else if (!got->has_value()) {
      std::printf("mirror: %s: missing in Redis\n", a.id.c_str());
      ++differences;
    } else if ((*got)->name != a.name || (*got)->balance != a.balance) {
      std::printf("mirror: %s: Redis has name '%s' balance %lld, view has name '%s' balance %lld\n",
                  a.id.c_str(), (*got)->name.c_str(), static_cast<long long>((*got)->balance),
                  a.name.c_str(), static_cast<long long>(a.balance));
      ++differences;
    }
  }
  std::printf("mirror: %zu accounts compared with Redis\n", accounts.size());
  co_return differences;
}

}  // namespace xbanku::app
