#include "xbanku/mirror/redis_connection.hpp"

#include "xbanku/common/error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace xbanku::mirror {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// Waits for the replies to a group of commands (or for the connect callback). The timer is both
// the deadline and the wake-up: hiredis callbacks cancel it when the group is finished.
struct Call {
  explicit Call(const asio::any_io_executor& ex) : wake(ex) {}

  asio::steady_timer wake;
  std::size_t outstanding = 0;  // commands issued whose callback has not run yet
  bool finished = false;
  error_code ec;
  // For replies that carry data (HGETALL); runs while hiredis still owns the reply.
  std::function<error_code(const redisReply&)> on_value;

  void finish(error_code e) {
    if (finished) return;
    finished = true;
    ec = e;
    wake.cancel();
  }
};

}  // namespace

struct RedisConnection::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, RedisConfig cfg)
      : executor(std::move(ex)), config(std::move(cfg)) {}
  ~Impl() { drop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  asio::any_io_executor executor;
  RedisConfig config;
  std::string last_error;
  bool auth_rejected = false;  // the last connect's AUTH got an error reply

  redisAsyncContext* ac = nullptr;  // owned; freed by drop() or by hiredis itself on I/O error
  // Watches hiredis' fd without owning it: released (never closed) in the cleanup hook, because
  // hiredis closes the fd itself right after.
  std::optional<asio::posix::stream_descriptor> socket;
  // Bumped per context, so a wait completing for a previous (freed) context is ignored.
  std::uint64_t generation = 0;
  bool established = false;  // connect callback reported success
  bool want_read = false;    // hiredis' wishes, from the ev hooks
  bool want_write = false;
  bool read_armed = false;  // an async_wait is outstanding
  bool write_armed = false;
  bool write_posted = false;  // a speculative write is queued on the executor
  bool in_write = false;      // inside redisAsyncHandleWrite
  Call* connect_call = nullptr;

  // Frees the context now. hiredis runs every pending reply callback with a NULL reply and then
  // the cleanup hook, so no Call or socket wait refers to the context afterwards.
  void drop() noexcept {
    if (ac != nullptr) redisAsyncFree(ac);
    ac = nullptr;
  }

  // ---- hiredis event hooks (ev.*). They only record wishes and arm Asio waits: calling back
  // into hiredis from inside a hook would re-enter it mid-command. ----

  static void hook_add_read(void* p) noexcept {
    auto* self = static_cast<Impl*>(p);
    self->want_read = true;
    self->arm_read();
  }
  static void hook_del_read(void* p) noexcept { static_cast<Impl*>(p)->want_read = false; }
  static void hook_add_write(void* p) noexcept {
    auto* self = static_cast<Impl*>(p);
    self->want_write = true;
    // A re-add from inside HandleWrite means the socket buffer is full: wait for writability.
    if (!self->in_write) self->schedule_write();
  }
  static void hook_del_write(void* p) noexcept { static_cast<Impl*>(p)->want_write = false; }
  static void hook_cleanup(void* p) noexcept {
    auto* self = static_cast<Impl*>(p);
    if (self->ac != nullptr && self->ac->err != 0 && self->ac->errstr != nullptr)
      self->last_error = self->ac->errstr;
    self->ac = nullptr;
    self->established = false;
    self->want_read = self->want_write = false;
    self->read_armed = self->write_armed = self->write_posted = false;
    ++self->generation;
    if (self->socket) {
      // Cancels our waits (they complete with operation_aborted and see a new generation) and
      // deregisters the fd from epoll without closing it.
      (void)self->socket->release();
      self->socket.reset();
    }
  }

  static void on_connect(const redisAsyncContext* c, int status) noexcept {
    auto* self = static_cast<Impl*>(c->data);
    if (status == REDIS_OK) {
      self->established = true;
    } else if (c->c.errstr[0] != '\0') {
      self->last_error = c->c.errstr;
    }
    if (self->connect_call != nullptr)
      self->connect_call->finish(status == REDIS_OK ? error_code{}
                                                    : make_error_code(errc::mirror_unavailable));
  }

  static void on_reply(redisAsyncContext* c, void* r, void* privdata) noexcept {
    auto* self = static_cast<Impl*>(c->data);
    auto* call = static_cast<Call*>(privdata);
    const auto* reply = static_cast<const redisReply*>(r);
    --call->outstanding;
    if (reply == nullptr) {  // connection lost or dropped before the reply arrived
      if (c->err != 0 && c->errstr != nullptr) self->last_error = c->errstr;
      call->finish(make_error_code(errc::mirror_unavailable));
    } else if (reply->type == REDIS_REPLY_ERROR) {
      self->last_error.assign(reply->str, reply->len);
      call->finish(make_error_code(errc::mirror_unavailable));
    } else if (call->on_value) {
      if (auto ec = call->on_value(*reply)) call->finish(ec);
    }
    if (call->outstanding == 0) call->finish({});
  }

  // ---- readiness, bridged to Asio ----

  void arm_read() {
    if (read_armed || !socket) return;
    read_armed = true;
    socket->async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this(), gen = generation](error_code ec) {
                         if (gen != self->generation) return;  // context gone meanwhile
                         self->read_armed = false;
                         if (ec) return self->fail_io("wait for read", ec);
                         if (self->ac != nullptr && self->want_read) self->on_readable();
                       });
  }

  void on_readable() {
    const int fd = ac->c.fd;
    // hiredis reads at most 16 KiB per call and Asio registers the fd edge-triggered, so bytes
    // left in the socket would never raise another wake-up: read until the kernel says EAGAIN.
    for (;;) {
      redisAsyncHandleRead(ac);
      if (ac == nullptr) return;  // hiredis dropped the connection (EOF, error) and cleaned up
      char byte = 0;
      const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      // n > 0: more bytes; n == 0 (EOF) or another errno: hiredis' next read reports it.
    }
    if (want_read) arm_read();
  }

  void schedule_write() {
    if (!socket) return;
    if (!established) {
      // While connecting, only real writability means "connected": hiredis 0.14 checks
      // SO_ERROR, which is still 0 while the handshake is in flight.
      return wait_writable();
    }
    if (write_armed || write_posted) return;
    // Connected sockets are almost always writable and the edge-triggered EPOLLOUT may have
    // fired long ago, so try the write first (after the caller has queued all its commands:
    // one write per pipeline) and wait only if the kernel buffer is full.
    write_posted = true;
    asio::post(executor, [self = shared_from_this(), gen = generation] {
      if (gen != self->generation) return;
      self->write_posted = false;
      if (self->ac != nullptr && self->want_write) self->on_writable();
    });
  }

  void wait_writable() {
    if (write_armed || !socket) return;
    write_armed = true;
    socket->async_wait(asio::posix::stream_descriptor::wait_write,
                       [self = shared_from_this(), gen = generation](error_code ec) {
                         if (gen != self->generation) return;
                         self->write_armed = false;
                         if (ec) return self->fail_io("wait for write", ec);
                         if (self->ac != nullptr && self->want_write) self->on_writable();
                       });
  }

  void on_writable() {
    in_write = true;
    redisAsyncHandleWrite(ac);  // may connect, write, or drop the context on error
    in_write = false;
    if (ac != nullptr && want_write) wait_writable();  // partial write: buffer full
  }

  void fail_io(std::string_view what, error_code ec) {
    last_error = fmt::format("{} on the Redis socket failed: {}", what, ec.message());
    drop();
  }

  // ---- commands ----

  // Queues one command (binary-safe argv); its reply completes part of `call`.
  [[nodiscard]] bool issue(Call& call, std::span<const std::string_view> args) {
    constexpr std::size_t kMaxArgs = 8;
    assert(args.size() <= kMaxArgs);
    std::array<const char*, kMaxArgs> argv{};
    std::array<std::size_t, kMaxArgs> lens{};
    for (std::size_t i = 0; i < args.size(); ++i) {
      argv[i] = args[i].data();
      lens[i] = args[i].size();
    }
    if (ac == nullptr ||
        redisAsyncCommandArgv(ac, &Impl::on_reply, &call, static_cast<int>(args.size()),
                              argv.data(), lens.data()) != REDIS_OK) {
      if (ac != nullptr && ac->errstr != nullptr && ac->err != 0) last_error = ac->errstr;
      return false;
    }
    ++call.outstanding;
    return true;
  }

  // Suspends until `call` is finished or `deadline`; on the deadline drops the connection.
  asio::awaitable<error_code> await(Call& call, Clock::time_point deadline, std::string_view what) {
    if (!call.finished) {
      call.wake.expires_at(deadline);
      (void)co_await call.wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!call.finished) {  // deadline passed (or our await was cancelled from outside)
      drop();  // completes every pending reply callback, so nothing refers to `call` later
      last_error = fmt::format("{} got no answer from {}:{} within the deadline", what, config.host,
                               config.port);
      co_return make_error_code(errc::timeout);
    }
    co_return call.ec;
  }

  // Keeps the invariant "no hiredis callback outlives its Call": if a Call leaves scope with
  // replies still due (first error, deadline, or the coroutine frame destroyed while suspended),
  // the connection is dropped, which runs those callbacks now.
  struct DropIfPending {
    Impl& impl;
    Call& call;
    ~DropIfPending() {
      if (call.outstanding != 0) impl.drop();
    }
  };

  asio::awaitable<error_code> connect() {
    drop();
    last_error.clear();
    auth_rejected = false;
    const auto deadline = Clock::now() + config.connect_timeout;

    // hiredis resolves with a blocking getaddrinfo(); hand it a literal address resolved here.
    std::string ip;
    error_code ec;
    const auto literal = asio::ip::make_address(config.host, ec);
    if (!ec) {
      ip = literal.to_string();
    } else {
      using namespace asio::experimental::awaitable_operators;
      asio::ip::tcp::resolver resolver(executor);
      asio::steady_timer timer(executor, deadline);
      auto raced = co_await (resolver.async_resolve(config.host, std::to_string(config.port),
                                                    asio::as_tuple(asio::use_awaitable)) ||
                             timer.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (raced.index() == 1) {
        last_error = fmt::format("resolving '{}' took longer than {} ms", config.host,
                                 config.connect_timeout.count());
        co_return make_error_code(errc::timeout);
      }
      auto [rec, results] = std::get<0>(std::move(raced));
      if (rec || results.empty()) {
        last_error = fmt::format("cannot resolve '{}': {}", config.host,
                                 rec ? rec.message() : std::string("no address"));
        co_return make_error_code(errc::mirror_unavailable);
      }
      ip = results.begin()->endpoint().address().to_string();
    }

    // Non-blocking connect: returns at once with the handshake in flight (or a refusal).
    redisAsyncContext* c = redisAsyncConnect(ip.c_str(), config.port);
    if (c == nullptr) {
      last_error = "hiredis could not allocate a context";
      co_return make_error_code(errc::mirror_unavailable);
    }
    if (c->err != 0) {
      last_error = c->errstr;
      redisAsyncFree(c);
      co_return make_error_code(errc::mirror_unavailable);
    }
    socket.emplace(executor);
    socket->assign(c->c.fd, ec);
    if (ec) {
      socket.reset();
      last_error = fmt::format("cannot watch the Redis socket: {}", ec.message());
      redisAsyncFree(c);  // no hooks installed yet: plain free, closes the fd
      co_return make_error_code(errc::mirror_unavailable);
    }
    ac = c;
    ++generation;
    c->data = this;
    c->ev.data = this;
    c->ev.addRead = &Impl::hook_add_read;
    c->ev.delRead = &Impl::hook_del_read;
    c->ev.addWrite = &Impl::hook_add_write;
    c->ev.delWrite = &Impl::hook_del_write;
    c->ev.cleanup = &Impl::hook_cleanup;

    {
      Call call(executor);
      connect_call = &call;
      // Same invariant as DropIfPending, for the connect callback.
      struct ConnectGuard {
        Impl& impl;
        Call& call;
        ~ConnectGuard() {
          impl.connect_call = nullptr;
          if (!call.finished) impl.drop();
        }
      } guard{*this, call};
      // Setting the connect callback asks (addWrite) for the first writability event.
      redisAsyncSetConnectCallback(c, &Impl::on_connect);
      ec = co_await await(call, deadline, "connect");
      if (ec) {
        drop();
        if (last_error.empty()) last_error = "connection failed";
        co_return ec;
      }
    }

    // Before SELECT: a protected server refuses every other command (NOAUTH). Argv, not a
    // format string, so a password with blanks or '%' goes through intact.
    if (!config.password.empty()) {
      std::vector<std::string_view> args{"AUTH"};
      if (!config.username.empty()) args.push_back(config.username);
      args.push_back(config.password);
      Call call(executor);
      DropIfPending guard{*this, call};
      if (!issue(call, args)) call.finish(make_error_code(errc::mirror_unavailable));
      ec = co_await await(call, deadline, "AUTH");
      if (ec) {
        // An error reply (WRONGPASS, "ERR ... without any password configured") leaves the
        // connection up: the credentials' fault, not the network's.
        auth_rejected = ec == errc::mirror_unavailable && ac != nullptr;
        drop();
        co_return ec;
      }
    }

    if (config.db != 0) {
      const std::string db = std::to_string(config.db);
      const std::array<std::string_view, 2> args{"SELECT", db};
      Call call(executor);
      DropIfPending guard{*this, call};
      if (!issue(call, args)) call.finish(make_error_code(errc::mirror_unavailable));
      ec = co_await await(call, deadline, "SELECT");
      if (ec) {
        drop();
        co_return ec;
      }
    }
    co_return error_code{};
  }

  asio::awaitable<error_code> pipeline_hset(std::span<const domain::Account> accounts) {
    if (accounts.empty()) co_return error_code{};
    if (ac == nullptr || !established) {
      last_error = "not connected";
      co_return make_error_code(errc::mirror_unavailable);
    }
    Call call(executor);
    DropIfPending guard{*this, call};
    // All commands go into hiredis' output buffer before the (posted) write runs: one pipeline.
    for (const auto& a : accounts) {
      std::array<char, 24> balance{};
      const auto end =
          std::to_chars(balance.data(), balance.data() + balance.size(), a.balance).ptr;
      const std::array<std::string_view, 8> args{
          "HSET",
          a.id,
          "Id",
          a.id,
          "Name",
          a.name,
          "Balance",
          std::string_view(balance.data(), static_cast<std::size_t>(end - balance.data()))};
      if (!issue(call, args)) {
        call.finish(make_error_code(errc::mirror_unavailable));
        break;
      }
    }
    const auto ec = co_await await(call, Clock::now() + config.command_timeout, "HSET pipeline");
    if (ec) drop();  // a retry starts on a fresh connection, with no stale replies in flight
    co_return ec;
  }

  asio::awaitable<boost::system::result<bool>> exists(std::string_view key) {
    // result<bool> would take an error_code for a bool: say which one is meant.
    const auto failed = [](error_code ec) {
      return boost::system::result<bool>(boost::system::in_place_error, ec);
    };
    if (ac == nullptr || !established) {
      last_error = "not connected";
      co_return failed(make_error_code(errc::mirror_unavailable));
    }
    bool found = false;
    Call call(executor);
    DropIfPending guard{*this, call};
    call.on_value = [&found](const redisReply& reply) -> error_code {
      if (reply.type != REDIS_REPLY_INTEGER) return make_error_code(errc::mirror_unavailable);
      found = reply.integer != 0;
      return {};
    };
    const std::array<std::string_view, 2> args{"EXISTS", key};
    if (!issue(call, args)) call.finish(make_error_code(errc::mirror_unavailable));
    const auto ec = co_await await(call, Clock::now() + config.command_timeout, "EXISTS");
    if (ec) {
      drop();
      co_return failed(ec);
    }
    co_return found;
  }

  asio::awaitable<error_code> set(std::string_view key, std::string_view value) {
    if (ac == nullptr || !established) {
      last_error = "not connected";
      co_return make_error_code(errc::mirror_unavailable);
    }
    Call call(executor);
    DropIfPending guard{*this, call};
    const std::array<std::string_view, 3> args{"SET", key, value};
    if (!issue(call, args)) call.finish(make_error_code(errc::mirror_unavailable));
    const auto ec = co_await await(call, Clock::now() + config.command_timeout, "SET");
    if (ec) drop();
    co_return ec;
  }

  asio::awaitable<boost::system::result<std::optional<domain::Account>>> hgetall(
      std::string_view id) {
    if (ac == nullptr || !established) {
      last_error = "not connected";
      co_return make_error_code(errc::mirror_unavailable);
    }
    std::optional<domain::Account> found;
    Call call(executor);
    DropIfPending guard{*this, call};
    call.on_value = [&found](const redisReply& reply) -> error_code {
      const auto bad = make_error_code(boost::system::errc::bad_message);
      if (reply.type != REDIS_REPLY_ARRAY || reply.elements % 2 != 0) return bad;
      if (reply.elements == 0) return {};  // no such key
      domain::Account account;
      bool has_id = false, has_name = false, has_balance = false;
      for (std::size_t i = 0; i + 1 < reply.elements; i += 2) {
        const redisReply* k = reply.element[i];
        const redisReply* v = reply.element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) return bad;
        const std::string_view key(k->str, k->len);
        const std::string_view value(v->str, v->len);
        if (key == "Id") {
          account.id = value;
          has_id = true;
        } else if (key == "Name") {
          account.name = value;
          has_name = true;
        } else if (key == "Balance") {
          const auto [p, err] =
              std::from_chars(value.data(), value.data() + value.size(), account.balance);
          if (err != std::errc{} || p != value.data() + value.size()) return bad;
          has_balance = true;
        }
      }
      if (!has_id || !has_name || !has_balance) return bad;
      found = std::move(account);
      return {};
    };
    const std::array<std::string_view, 2> args{"HGETALL", id};
    if (!issue(call, args)) call.finish(make_error_code(errc::mirror_unavailable));
    const auto ec = co_await await(call, Clock::now() + config.command_timeout, "HGETALL");
    if (ec) {
      // A malformed hash is the data's problem, not the connection's: keep the connection.
      if (ec != boost::system::errc::bad_message) drop();
      co_return ec;
    }
    co_return found;
  }
};

RedisConnection::RedisConnection(asio::any_io_executor executor, RedisConfig config)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(config))) {}

RedisConnection::~RedisConnection() {
  impl_->drop();
}

// The public functions are not coroutines: they bind a reference to Impl (and, for hgetall, a
// copy of the id) into the coroutine frame when called, so the await stays valid even if the
// RedisConnection, or a temporary id string, is gone before the coroutine runs or resumes.
asio::awaitable<error_code> RedisConnection::connect() {
  return [](std::shared_ptr<Impl> impl) -> asio::awaitable<error_code> {
    co_return co_await impl->connect();
  }(impl_);
}

asio::awaitable<error_code> RedisConnection::pipeline_hset(
    std::span<const domain::Account> accounts) {
  return [](std::shared_ptr<Impl> impl,
            std::span<const domain::Account> a) -> asio::awaitable<error_code> {
    co_return co_await impl->pipeline_hset(a);
  }(impl_, accounts);
}

asio::awaitable<boost::system::result<std::optional<domain::Account>>> RedisConnection::hgetall(
    std::string_view id) {
  return [](std::shared_ptr<Impl> impl, std::string key)
             -> asio::awaitable<boost::system::result<std::optional<domain::Account>>> {
    co_return co_await impl->hgetall(key);
  }(impl_, std::string(id));
}

asio::awaitable<boost::system::result<bool>> RedisConnection::exists(std::string_view key) {
  return [](std::shared_ptr<Impl> impl,
            std::string k) -> asio::awaitable<boost::system::result<bool>> {
    co_return co_await impl->exists(k);
  }(impl_, std::string(key));
}

asio::awaitable<error_code> RedisConnection::set(std::string_view key, std::string_view value) {
  return
      [](std::shared_ptr<Impl> impl, std::string k, std::string v) -> asio::awaitable<error_code> {
        co_return co_await impl->set(k, v);
      }(impl_, std::string(key), std::string(value));
}

void RedisConnection::close() noexcept {
  impl_->drop();
}

bool RedisConnection::connected() const noexcept {
  return impl_->ac != nullptr && impl_->established;
}

bool RedisConnection::auth_rejected() const noexcept {
  return impl_->auth_rejected;
}

const std::string& RedisConnection::last_error() const noexcept {
  return impl_->last_error;
}

const RedisConfig& RedisConnection::config() const noexcept {
  return impl_->config;
}

}  // namespace xbanku::mirror
