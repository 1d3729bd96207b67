// The Redis mirror against real redis-servers: the run's shared one (support/services.hpp) (db 9,
// keys under a random prefix, deleted afterwards) and private ones this test starts, stops and
// freezes on free loopback ports to play outages. A missing Redis fails the test; nothing is
// skipped.

#include "support/services.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/mirror/mirror.hpp"
#include "xbanku/mirror/redis_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace xbanku::mirror {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using domain::Account;
using test::kRedisPort;
using Clock = std::chrono::steady_clock;

constexpr const char* kSharedHost = "127.0.0.1";
const std::uint16_t kSharedPort = kRedisPort;  // support/services.hpp
constexpr int kTestDb = 9;

// ---- plain synchronous hiredis, used from the test thread only to set up and to check ----

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class SyncRedis {
 public:
  static std::unique_ptr<SyncRedis> connect(std::uint16_t port, int db, std::string* why) {
    const timeval tv{1, 0};
    std::unique_ptr<redisContext, decltype(&redisFree)> c(
        redisConnectWithTimeout(kSharedHost, port, tv), &redisFree);
    if (!c || c->err != 0) {
      *why = c ? c->errstr : "out of memory";
      return nullptr;
    }
    if (redisSetTimeout(c.get(), tv) != REDIS_OK) {
      *why = "redisSetTimeout failed";
      return nullptr;
    }
    auto self = std::unique_ptr<SyncRedis>(new SyncRedis(std::move(c)));
    auto r = self->command({"SELECT", std::to_string(db)});
    if (!r || r->type == REDIS_REPLY_ERROR) {
      *why = "SELECT failed";
      return nullptr;
    }
    return self;
  }

  Reply command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(c_.get(), static_cast<int>(args.size()), argv.data(), lens.data())));
  }

  // HGETALL as a field → value map (empty when the key is missing).
  std::map<std::string, std::string> hash(const std::string& key) {
    std::map<std::string, std::string> out;
    auto r = command({"HGETALL", key});
    if (!r || r->type != REDIS_REPLY_ARRAY) return out;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2)
      out.emplace(std::string(r->element[i]->str, r->element[i]->len),
                  std::string(r->element[i + 1]->str, r->element[i + 1]->len));
    return out;
  }

  void del(const std::vector<std::string>& keys) {
    for (std::size_t i = 0; i < keys.size(); i += 500) {
      std::vector<std::string> args{"DEL"};
      for (std::size_t j = i; j < std::min(keys.size(), i + 500); ++j) args.push_back(keys[j]);
      (void)command(args);
    }
  }

 private:
  explicit SyncRedis(std::unique_ptr<redisContext, decltype(&redisFree)> c) : c_(std::move(c)) {}
  std::unique_ptr<redisContext, decltype(&redisFree)> c_;
};

std::unique_ptr<SyncRedis> shared_redis_or_fail() {
  std::string why;
  auto r = SyncRedis::connect(kSharedPort, kTestDb, &why);
  if (!r)
    ADD_FAILURE() << "Redis on 127.0.0.1:" << kSharedPort << " is unreachable (" << why
                  << "): start it with `bash scripts/services.sh up redis`";
  return r;
}

// A port nothing listens on (bound, read, released).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A private redis-server (no persistence) that the test can stop, restart and freeze.
class RedisServerProcess {
 public:
  explicit RedisServerProcess(std::uint16_t port) : port_(port) {}
  ~RedisServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;

  // Starts the server and waits (up to 10 s) until it answers PING.
  [[nodiscard]] bool start() {
    const std::string port = std::to_string(port_);
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      const int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", "/tmp",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      std::string why;
      if (SyncRedis::connect(port_, 0, &why)) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void freeze() { ::kill(pid_, SIGSTOP); }  // "slow Redis": accepts TCP, never answers
  void thaw() { ::kill(pid_, SIGCONT); }
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  pid_t pid_ = -1;
};

// ---- the io thread, and a probe proving it is never blocked ----

// Fires every 10 ms on the io thread and records how late it ran: a blocking call anywhere on
// that thread shows up as lateness of about its duration.
class Heartbeat {
 public:
  asio::awaitable<void> run() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto next = Clock::now();
    while (!stop_) {
      next += 10ms;
      timer.expires_at(next);
      co_await timer.async_wait(asio::use_awaitable);
      const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - next);
      max_late_ms_ = std::max<long long>(max_late_ms_, late.count());
      ++beats_;
    }
  }
  void stop() { stop_ = true; }
  [[nodiscard]] long long max_late_ms() const { return max_late_ms_; }
  [[nodiscard]] long beats() const { return beats_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long long> max_late_ms_{0};
  std::atomic<long> beats_{0};
};

// Blocking calls of the kinds we guard against last >= 1 s (the deadlines used here);
// scheduling noise on a busy 2-core machine stays well below this.
constexpr long long kMaxLateMs = 400;

class IoThread {
 public:
  IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {
    heartbeat_done_ = asio::co_spawn(io_, heartbeat_.run(), asio::use_future);
  }
  ~IoThread() {
    heartbeat_.stop();
    heartbeat_done_.wait_for(2s);
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }
  Heartbeat& heartbeat() { return heartbeat_; }

  // Runs `make()` on the io thread and waits for its result (failing the test after `limit`).
  template <typename F>
  auto run(F make, std::chrono::seconds limit = 30s) {
    auto fut = asio::co_spawn(io_, make(), asio::use_future);
    if (fut.wait_for(limit) != std::future_status::ready)
      throw std::runtime_error("io coroutine did not finish in time");
    return fut.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  Heartbeat heartbeat_;
  std::future<void> heartbeat_done_;
  std::thread thread_;
};

std::string random_prefix() {
  std::random_device rd;
  return fmt::format("xbanku-mirror-test-{:08x}{:08x}:", rd(), rd());
}

std::vector<Account> make_accounts(const std::string& prefix, std::size_t n,
                                   std::uint64_t version) {
  std::vector<Account> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Account a;
    a.id = fmt::format("{}{:06}", prefix, i);
    a.name = fmt::format("Customer {} — Zoë", i);
    a.balance = static_cast<std::int64_t>(i * 1'000'003 % 987'654'321) - 1000;
    a.version = version;
    out.push_back(std::move(a));
  }
  // Edge cases: binary-safe names and extreme balances.
  if (n >= 3) {
    out[0].name = std::string("nul\0inside\r\n*3\r\n$4\r\nQUIT", 24);
    out[1].balance = std::numeric_limits<std::int64_t>::max();
    out[2].balance = std::numeric_limits<std::int64_t>::min();
    out[2].name = "";
  }
  return out;
}

void expect_mirrored(SyncRedis& redis, const Account& a) {
  const auto h = redis.hash(a.id);
  ASSERT_EQ(h.size(), 3u) << a.id;
  EXPECT_EQ(h.at("Id"), a.id);
  EXPECT_EQ(h.at("Name"), a.name) << a.id;
  EXPECT_EQ(h.at("Balance"), std::to_string(a.balance)) << a.id;
}

// The owed set the lead implements over RocksDB, in memory: current state + owed versions.
class MemorySource {
 public:
  void put(const Account& a) {
    std::lock_guard lock(m_);
    accounts_[a.id] = a;
    owed_[a.id] = a.version;
  }
  // A change folded while no mirror was configured: no debt, and the view is stale.
  void put_without_debt(const Account& a) {
    std::lock_guard lock(m_);
    accounts_[a.id] = a;
    stale_ = true;
  }
  bool stale() const {
    std::lock_guard lock(m_);
    return stale_;
  }
  MirrorSource source() {
    return MirrorSource{
        .owed =
            [this](std::size_t limit) {
              std::lock_guard lock(m_);
              ++owed_calls_;
              std::vector<Account> out;
              for (auto it = owed_.begin(); it != owed_.end() && out.size() < limit; ++it)
                out.push_back(accounts_.at(it->first));
              return out;
            },
        .mark_mirrored =
            [this](std::span<const std::pair<std::string, std::uint64_t>> done) {
              std::lock_guard lock(m_);
              for (const auto& [id, version] : done) {
                auto it = owed_.find(id);
                if (it != owed_.end() && it->second == version) owed_.erase(it);
              }
              return true;
            },
        .owed_count =
            [this] {
              std::lock_guard lock(m_);
              return owed_.size();
            },
        .partitions = [this] { return mirrored_partitions_; },
        .refill = [this](std::string_view after, std::size_t limit,
                         std::span<const std::int32_t> wanted) -> std::optional<RefillPage> {
          std::lock_guard lock(m_);
          RefillPage page;
          auto it = accounts_.upper_bound(std::string(after));
          for (std::size_t n = 0; it != accounts_.end() && n < limit; ++it, ++n) {
            if (std::find(wanted.begin(), wanted.end(), partition_of(it->first)) != wanted.end())
              page.accounts.push_back(it->second);
            page.next = it->first;
          }
          if (it == accounts_.end()) page.next.reset();
          return page;
        },
        .stale = [this] { return stale(); },
        .refreshed =
            [this] {
              std::lock_guard lock(m_);
              stale_ = false;
              return true;
            },
    };
  }
  // Two partitions here: by the parity of an id's last character (make_accounts: a digit).
  static std::int32_t partition_of(const std::string& id) { return (id.back() - '0') % 2; }
  void mirror_partitions(std::vector<std::int32_t> p) { mirrored_partitions_ = std::move(p); }
  std::size_t owed_count() const {
    std::lock_guard lock(m_);
    return owed_.size();
  }
  std::size_t owed_calls() const {
    std::lock_guard lock(m_);
    return owed_calls_;
  }
  std::vector<Account> all() const {
    std::lock_guard lock(m_);
    std::vector<Account> out;
    for (const auto& [id, a] : accounts_) out.push_back(a);
    return out;
  }

 private:
  mutable std::mutex m_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, std::uint64_t> owed_;
  std::size_t owed_calls_ = 0;
  std::vector<std::int32_t> mirrored_partitions_{0, 1};  // set before run()
  bool stale_ = false;
};

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// Captures what the mirror logs, to check "once per outage".
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("mirror-test", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::size_t count(std::string_view needle) {
    spdlog::default_logger()->flush();
    const std::string text = stream_.str();
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
      ++n;
    return n;
  }
  std::string text() { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

RedisConfig config_for(std::uint16_t port, int db = 0) {
  RedisConfig cfg;
  cfg.host = kSharedHost;
  cfg.port = port;
  cfg.db = db;
  cfg.connect_timeout = 1000ms;
  cfg.command_timeout = 1000ms;
  return cfg;
}

// ---------------------------------------------------------------------------------------------

TEST(RedisConnection, PipelineOfThousandAccountsThenHgetallMatches) {
  auto redis = shared_redis_or_fail();
  ASSERT_TRUE(redis);
  IoThread io;
  const std::string prefix = random_prefix();
  const auto accounts = make_accounts(prefix, 1000, 1);
  std::vector<std::string> keys;
  for (const auto& a : accounts) keys.push_back(a.id);
  keys.push_back(prefix + "malformed");

  RedisConnection conn(io.io().get_executor(), config_for(kSharedPort, kTestDb));
  const auto ec = io.run([&]() -> asio::awaitable<boost::system::error_code> {
    if (auto e = co_await conn.connect()) co_return e;
    co_return co_await conn.pipeline_hset(accounts);
  });
  ASSERT_FALSE(ec) << ec.message() << ": " << conn.last_error();
  EXPECT_TRUE(conn.connected());

  // Layout as the original wrote it, read by someone else.
  for (const auto& a : accounts) expect_mirrored(*redis, a);

  // And through hgetall(), which --act=verify uses.
  const auto mismatches = io.run([&]() -> asio::awaitable<std::vector<std::string>> {
    std::vector<std::string> bad;
    for (const auto& a : accounts) {
      auto r = co_await conn.hgetall(a.id);
      if (!r) {
        bad.push_back(a.id + ": " + r.error().message());
      } else if (!*r) {
        bad.push_back(a.id + ": missing");
      } else {
        Account expected = a;
        expected.version = 0;  // not mirrored
        if (**r != expected) bad.push_back(a.id + ": differs");
      }
    }
    co_return bad;
  });
  EXPECT_TRUE(mismatches.empty()) << mismatches.size()
                                  << " mismatches, first: " << mismatches.front();

  auto missing = io.run([&]() { return conn.hgetall(prefix + "no-such-account"); });
  ASSERT_TRUE(missing.has_value()) << missing.error().message();
  EXPECT_FALSE(missing->has_value());

  auto set = redis->command({"HSET", prefix + "malformed", "Id", "x", "Balance", "12abc"});
  ASSERT_TRUE(set && set->type == REDIS_REPLY_INTEGER);
  auto malformed = io.run([&]() { return conn.hgetall(prefix + "malformed"); });
  ASSERT_FALSE(malformed.has_value()) << (*malformed ? (*malformed)->name : "nullopt");
  EXPECT_EQ(malformed.error(), boost::system::errc::bad_message);
  EXPECT_TRUE(conn.connected()) << "a malformed hash must not cost the connection";

  // An error reply (WRONGTYPE) fails the pipeline and drops the connection.
  (void)redis->command({"SET", prefix + "string", "x"});
  keys.push_back(prefix + "string");
  std::vector<Account> wrong{
      Account{.id = prefix + "string", .name = "n", .balance = 1, .version = 1}};
  const auto wrongtype = io.run([&]() { return conn.pipeline_hset(wrong); });
  EXPECT_EQ(wrongtype, make_error_code(errc::mirror_unavailable));
  EXPECT_NE(conn.last_error().find("WRONGTYPE"), std::string::npos) << conn.last_error();
  EXPECT_FALSE(conn.connected());

  redis->del(keys);
  EXPECT_LT(io.heartbeat().max_late_ms(), kMaxLateMs);
}

TEST(RedisConnection, ConnectWhereNothingListensFailsFast) {
  IoThread io;
  const auto port = free_port();
  ASSERT_NE(port, 0);
  auto cfg = config_for(port);
  cfg.connect_timeout = 5000ms;  // "fast" must mean refused, not timed out
  RedisConnection conn(io.io().get_executor(), cfg);
  const auto start = Clock::now();
  const auto ec = io.run([&]() { return conn.connect(); });
  const auto took = Clock::now() - start;
  EXPECT_EQ(ec, make_error_code(errc::mirror_unavailable)) << ec.message();
  EXPECT_LT(took, 500ms);
  EXPECT_FALSE(conn.connected());
  EXPECT_FALSE(conn.last_error().empty());

  // Commands on a closed connection fail at once rather than wait.
  const std::vector<Account> one{Account{.id = "a", .name = "b", .balance = 1, .version = 1}};
  EXPECT_EQ(io.run([&]() { return conn.pipeline_hset(one); }),
            make_error_code(errc::mirror_unavailable));
}

TEST(RedisConnection, UnresolvableHostFailsWithinTheDeadline) {
  IoThread io;
  auto cfg = config_for(6379);
  cfg.host = "no-such-host.invalid";
  RedisConnection conn(io.io().get_executor(), cfg);
  const auto start = Clock::now();
  const auto ec = io.run([&]() { return conn.connect(); });
  EXPECT_TRUE(ec == make_error_code(errc::mirror_unavailable) ||
              ec == make_error_code(errc::timeout))
      << ec.message();
  EXPECT_LT(Clock::now() - start, cfg.connect_timeout + 500ms);
  EXPECT_LT(io.heartbeat().max_late_ms(), kMaxLateMs);
}

TEST(RedisConnection, FrozenServerHitsEveryDeadlineWithoutBlocking) {
  IoThread io;
  RedisServerProcess server(free_port());
  ASSERT_TRUE(server.start()) << "could not start redis-server on port " << server.port();

  RedisConnection conn(io.io().get_executor(), config_for(server.port()));
  ASSERT_FALSE(io.run([&]() { return conn.connect(); }));

  server.freeze();
  const auto accounts = make_accounts("frozen:", 100, 1);
  auto start = Clock::now();
  auto ec = io.run([&]() { return conn.pipeline_hset(accounts); });
  auto took = Clock::now() - start;
  EXPECT_EQ(ec, make_error_code(errc::timeout)) << ec.message();
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2000ms);
  EXPECT_FALSE(conn.connected()) << "the connection is dropped at the deadline";

  // The kernel still completes the TCP handshake of a frozen server, so the deadline that
  // bites is SELECT's, inside connect().
  RedisConnection with_db(io.io().get_executor(), config_for(server.port(), 3));
  start = Clock::now();
  ec = io.run([&]() { return with_db.connect(); });
  took = Clock::now() - start;
  EXPECT_EQ(ec, make_error_code(errc::timeout)) << ec.message();
  EXPECT_LT(took, 2000ms);

  RedisConnection probe(io.io().get_executor(), config_for(server.port()));
  auto got = io.run([&]() -> asio::awaitable<boost::system::result<std::optional<Account>>> {
    if (auto e = co_await probe.connect()) co_return e;
    co_return co_await probe.hgetall("frozen:000001");
  });
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), make_error_code(errc::timeout));

  server.thaw();
  EXPECT_LT(io.heartbeat().max_late_ms(), kMaxLateMs);
  EXPECT_GT(io.heartbeat().beats(), 100);
}

TEST(Mirror, DrainsTheSourceAndMarksEverythingMirrored) {
  auto redis = shared_redis_or_fail();
  ASSERT_TRUE(redis);
  IoThread io;
  const std::string prefix = random_prefix();
  MemorySource memory;
  for (const auto& a : make_accounts(prefix, 2500, 1)) memory.put(a);  // 3 batches

  Mirror mirror(io.io().get_executor(), config_for(kSharedPort, kTestDb), memory.source());
  auto done = asio::co_spawn(io.io(), mirror.run(), asio::use_future);
  EXPECT_TRUE(wait_until([&] { return memory.owed_count() == 0; }, 10s))
      << memory.owed_count() << " still owed";
  EXPECT_TRUE(mirror.connected());
  EXPECT_EQ(mirror.lag(), 0u);

  // Updates after the first drain: a newer version is owed again and written.
  auto updated = make_accounts(prefix, 10, 2);
  for (std::size_t i = 0; i < updated.size(); ++i) {
    updated[i].balance = 4200 + static_cast<std::int64_t>(i);
    memory.put(updated[i]);
  }
  mirror.notify();
  EXPECT_TRUE(wait_until([&] { return memory.owed_count() == 0; }, 5s));

  for (const auto& a : memory.all()) expect_mirrored(*redis, a);

  mirror.stop();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  done.get();
  EXPECT_FALSE(mirror.connected());

  std::vector<std::string> keys;
  for (const auto& a : memory.all()) keys.push_back(a.id);
  redis->del(keys);
  EXPECT_LT(io.heartbeat().max_late_ms(), kMaxLateMs);
}

TEST(Mirror, OutagesKeepTheBacklogInTheSourceAndCatchUp) {
  LogCapture log;
  IoThread io;
  RedisServerProcess server(free_port());
  ASSERT_TRUE(server.start()) << "could not start redis-server on port " << server.port();
  std::string why;
  MemorySource memory;
  for (const auto& a : make_accounts("before:", 100, 1)) memory.put(a);

  MirrorOptions options;
  options.tick = 200ms;
  options.backoff_max = 400ms;  // keeps the test short; production default is 5 s
  Mirror mirror(io.io().get_executor(), config_for(server.port()), memory.source(), options);
  auto done = asio::co_spawn(io.io(), mirror.run(), asio::use_future);
  ASSERT_TRUE(wait_until([&] { return memory.owed_count() == 0; }, 5s));

  // --- Redis down: refused connections ---
  server.stop();
  ASSERT_TRUE(wait_until([&] { return !mirror.connected(); }, 3s));
  const auto during = make_accounts("during:", 500, 1);
  for (const auto& a : during) memory.put(a);
  const auto notify_start = Clock::now();
  for (int i = 0; i < 100'000; ++i) mirror.notify();  // e.g. one per RocksDB commit
  const auto notify_took = Clock::now() - notify_start;
  EXPECT_LT(notify_took, 500ms) << "notify() must stay O(1) while Redis is down";

  // Reconnect attempts never reach the source: nothing is read into memory while down.
  std::this_thread::sleep_for(300ms);
  const auto calls = memory.owed_calls();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(memory.owed_calls(), calls);
  EXPECT_EQ(mirror.lag(), during.size());
  EXPECT_FALSE(mirror.connected());
  EXPECT_EQ(log.count("redis mirror: cannot"), 1u) << log.text();

  ASSERT_TRUE(server.start()) << "could not restart redis-server";
  EXPECT_TRUE(wait_until([&] { return memory.owed_count() == 0; }, 10s))
      << memory.owed_count() << " still owed after Redis came back";
  EXPECT_TRUE(mirror.connected());
  EXPECT_EQ(log.count("reachable again"), 1u) << log.text();
  auto redis = SyncRedis::connect(server.port(), 0, &why);
  ASSERT_TRUE(redis) << why;
  // The restarted server kept nothing (no persistence): what it holds is exactly the backlog.
  for (const auto& a : during) expect_mirrored(*redis, a);

  // --- Redis slow: frozen mid-flight, pipelines hit their deadline ---
  server.freeze();
  const auto frozen = make_accounts("frozen:", 300, 1);
  for (const auto& a : frozen) memory.put(a);
  mirror.notify();
  std::this_thread::sleep_for(2500ms);  // > command_timeout: at least one pipeline timed out
  EXPECT_EQ(memory.owed_count(), frozen.size()) << "nothing is marked without a reply";
  EXPECT_EQ(log.count("redis mirror: cannot"), 2u) << log.text();
  server.thaw();
  EXPECT_TRUE(wait_until([&] { return memory.owed_count() == 0; }, 10s))
      << memory.owed_count() << " still owed after Redis thawed";
  for (const auto& a : frozen) expect_mirrored(*redis, a);

  mirror.stop();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  done.get();
  EXPECT_LT(io.heartbeat().max_late_ms(), kMaxLateMs)
      << "the io thread was blocked during an outage";
  EXPECT_GT(io.heartbeat().beats(), 300);
}

// DESIGN §7: a Redis that comes back empty is refilled, not only for accounts that change
// later — and only with the partitions this instance mirrors (another instance's are its own).
TEST(Mirror, RefillsARedisThatRestartedEmptyWithItsOwnPartitions) {
  LogCapture log;
  IoThread io;
  RedisServerProcess server(free_port());
  ASSERT_TRUE(server.start()) << "could not start redis-server on port " << server.port();
  MemorySource memory;
  memory.mirror_partitions({0});
  const auto accounts = make_accounts("refill:", 2400, 1);  // ids end in 0..9: both partitions
  for (const auto& a : accounts) memory.put(a);

  MirrorOptions options;
  options.tick = 100ms;
  options.backoff_max = 300ms;
  options.marker_check = 200ms;
  options.marker_prefix = "test-filled:";
  Mirror mirror(io.io().get_executor(), config_for(server.port()), memory.source(), options);
  auto done = asio::co_spawn(io.io(), mirror.run(), asio::use_future);
  ASSERT_TRUE(wait_until([&] { return memory.owed_count() == 0; }, 10s));
  std::string why;
  auto redis = SyncRedis::connect(server.port(), 0, &why);
  ASSERT_TRUE(redis) << why;
  // The first connect found no marker: partition 0 was refilled (beside the owed drain).
  ASSERT_TRUE(wait_until(
      [&] {
        return redis->command({"EXISTS", "test-filled:0"})->integer == 1;
      },
      5s))
      << log.text();
  EXPECT_EQ(redis->command({"EXISTS", "test-filled:1"})->integer, 0);

  // Restarted without persistence: empty. Nothing is owed, so only the refill brings it back.
  server.stop();
  redis.reset();
  ASSERT_TRUE(server.start()) << "could not restart redis-server";
  redis = SyncRedis::connect(server.port(), 0, &why);
  ASSERT_TRUE(redis) << why;
  ASSERT_EQ(memory.owed_count(), 0u);
  EXPECT_TRUE(wait_until(
      [&] {
        return redis->command({"EXISTS", "test-filled:0"})->integer == 1;
      },
      10s))
      << log.text();
  for (const auto& a : accounts) {
    if (MemorySource::partition_of(a.id) == 0) {
      expect_mirrored(*redis, a);
    } else {
      EXPECT_TRUE(redis->hash(a.id).empty()) << a.id << " is another instance's to mirror";
    }
  }
  EXPECT_EQ(log.count("redis mirror: refilled 1200 accounts of partition(s) 0"), 2u) << log.text();

  // Flushed while connected: noticed by the periodic marker check.
  redis->command({"FLUSHDB"});
  EXPECT_TRUE(wait_until(
      [&] {
        return redis->command({"EXISTS", "test-filled:0"})->integer == 1;
      },
      10s))
      << log.text();
  expect_mirrored(*redis, accounts[0]);

  mirror.stop();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  done.get();
  EXPECT_LT(io.heartbeat().max_late_ms(), kMaxLateMs);
}

// A view that changed while no mirror was configured records no debts: Redis, markers and all,
// lacks those changes. The mirror started on it refills every partition it mirrors, markers or
// not, and then the view is no longer stale.
TEST(Mirror, RefillsEverythingAfterAPeriodWithoutAMirror) {
  LogCapture log;
  IoThread io;
  RedisServerProcess server(free_port());
  ASSERT_TRUE(server.start()) << "could not start redis-server on port " << server.port();
  std::string why;
  auto redis = SyncRedis::connect(server.port(), 0, &why);
  ASSERT_TRUE(redis) << why;
  // Redis as an earlier mirrored period left it: both partitions marked filled, old balances.
  MemorySource memory;
  const auto before = make_accounts("stale:", 200, 1);
  for (const auto& a : before) {
    redis->command(
        {"HSET", a.id, "Id", a.id, "Name", a.name, "Balance", std::to_string(a.balance)});
  }
  redis->command({"SET", "test-filled:0", "1"});
  redis->command({"SET", "test-filled:1", "1"});
  auto after = before;
  for (auto& a : after) {
    a.balance += 7;
    a.version += 1;
    memory.put_without_debt(a);
  }
  ASSERT_TRUE(memory.stale());
  ASSERT_EQ(memory.owed_count(), 0u);

  MirrorOptions options;
  options.tick = 100ms;
  options.marker_check = 200ms;
  options.marker_prefix = "test-filled:";
  Mirror mirror(io.io().get_executor(), config_for(server.port()), memory.source(), options);
  auto done = asio::co_spawn(io.io(), mirror.run(), asio::use_future);
  EXPECT_TRUE(wait_until([&] { return !memory.stale(); }, 10s)) << log.text();
  for (const auto& a : after) expect_mirrored(*redis, a);
  EXPECT_EQ(log.count("changed while no mirror was configured"), 1u) << log.text();
  EXPECT_EQ(log.count("redis mirror: refilled 200 accounts of partition(s) 0,1"), 1u) << log.text();

  mirror.stop();
  ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
  done.get();
}

TEST(Mirror, StopEndsRunDuringAnOutage) {
  IoThread io;
  MemorySource memory;
  memory.put(Account{.id = "x", .name = "y", .balance = 1, .version = 1});
  const auto port = free_port();
  Mirror mirror(io.io().get_executor(), config_for(port), memory.source());
  auto done = asio::co_spawn(io.io(), mirror.run(), asio::use_future);
  std::this_thread::sleep_for(300ms);
  const auto start = Clock::now();
  mirror.stop();
  ASSERT_EQ(done.wait_for(2s), std::future_status::ready);
  done.get();
  EXPECT_LT(Clock::now() - start, 500ms) << "stop() must cut the back-off short";
  EXPECT_EQ(memory.owed_count(), 1u);
}

}  // namespace
}  // namespace xbanku::mirror
