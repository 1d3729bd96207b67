// WebSocket command load for scripts/bench.sh: deposits over /ws, spread over the accounts in
// ACCOUNTS (one id a line), one JSON object of figures on stdout.
//   xbanku_ws_load throughput --port P --accounts FILE [--seconds 10] [--connections 8]
//                             [--in-flight 256] [--nowait]
//       as many deposits as the service answers, at most --in-flight unanswered at a time
//       over --connections sockets: commands/s (--nowait: wait=false, answered once in Kafka);
//   xbanku_ws_load latency --port P --accounts FILE [--rate 1000] [--seconds 10]
//       deposits at a fixed rate on one socket, each timed from its write to its answer:
//       latency percentiles.
// A C++ client, so the figures are the service's and not the client's: the Python client it
// replaced added ~0.4 ms to a 2.6 ms median and was the limit of the throughput run.
// Latency is timed from each command's actual write, as the raw baseline times its records
// (xbanku_kafka_baseline latency); the client does not fall behind its schedule at 1,000/s.

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Clock = std::chrono::steady_clock;
using Socket = websocket::stream<beast::tcp_stream>;

struct Options {
  unsigned short port = 0;
  std::string accounts_file;
  double seconds = 10;
  std::size_t connections = 8;
  std::size_t in_flight = 256;
  bool nowait = false;
  double rate = 1000;
};

// What every connection adds to; one io thread, so no locks.
struct Tally {
  std::vector<std::string> accounts;
  std::size_t next_account = 0;
  std::size_t sent = 0;
  std::size_t answered = 0;
  std::size_t errors = 0;
  std::vector<double> latencies_ms;
  std::exception_ptr failure;  // the first one; the run fails
};

void fail(Tally& t, std::exception_ptr e) {
  if (!t.failure) t.failure = e;
}

std::string deposit(std::size_t id, const std::string& account, bool nowait) {
  return fmt::format(R"({{"id":{},"op":"deposit","account":"{}","amount":1{}}})", id, account,
                     nowait ? R"(,"wait":false)" : "");
}

asio::awaitable<std::unique_ptr<Socket>> connect(unsigned short port) {
  auto ws = std::make_unique<Socket>(co_await asio::this_coro::executor);
  auto& tcp = beast::get_lowest_layer(*ws);
  tcp.expires_after(std::chrono::seconds(10));
  co_await tcp.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                             asio::use_awaitable);
  tcp.expires_never();
  tcp.socket().set_option(asio::ip::tcp::no_delay(true));  // as browsers and asyncio do
  // Beast's client defaults (a handshake deadline); the watchdog in main bounds the rest.
  ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "xbanku_ws_load");
  }));
  // Named: GCC 12 mishandles temporaries in a co_await expression (src/log/admin.cpp).
  const std::string host = fmt::format("127.0.0.1:{}", port);
  co_await ws->async_handshake(host, "/ws", asio::use_awaitable);
  ws->text(true);
  co_return ws;
}

// One socket's state, shared by its writer and its reader: the reader is a coroutine of its
// own, which must never outlive what it uses (the writer's frame may end by an exception).
struct Connection {
  explicit Connection(std::unique_ptr<Socket> s) : ws(std::move(s)), wake(ws->get_executor()) {}
  std::unique_ptr<Socket> ws;
  std::vector<Clock::time_point> sent_at;  // by command id: this socket's own 0, 1, 2...
  std::size_t answered = 0;
  std::size_t expected = SIZE_MAX;  // answers the reader waits for: all sent, once sending stops
  bool reading = true;
  asio::steady_timer wake;  // the writer's waits: for a free slot, its pace, the reader's end
  bool waiting_for_slot = false;
};

// Reads answers until `expected` of them arrived. An answer's "id" is its command's index in
// `sent_at`.
asio::awaitable<void> read_answers(std::shared_ptr<Connection> c, Tally& t) {
  beast::flat_buffer buffer;
  while (c->answered < c->expected) {
    buffer.clear();
    co_await c->ws->async_read(buffer, asio::use_awaitable);
    const auto now = Clock::now();
    const auto v = boost::json::parse(
        std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()));
    const auto* o = v.if_object();
    const auto* id = o ? o->if_contains("id") : nullptr;
    if (!id || !id->is_int64()) continue;  // not an answer to a command
    const auto n = static_cast<std::size_t>(id->as_int64());
    if (n >= c->sent_at.size()) continue;
    const auto* ok = o->if_contains("ok");
    if (!ok || !ok->is_bool() || !ok->as_bool()) ++t.errors;
    t.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(now - c->sent_at[n]).count());
    ++t.answered;
    ++c->answered;
    if (std::exchange(c->waiting_for_slot, false)) c->wake.cancel();
  }
}

// A failure counts unless every answer was in (the close at the end ends the last read).
void start_reader(const std::shared_ptr<Connection>& c, Tally& t) {
  asio::co_spawn(c->ws->get_executor(), read_answers(c, t), [c, &t](std::exception_ptr e) {
    c->reading = false;
    c->wake.cancel();
    if (e && c->answered < c->expected) fail(t, e);
  });
}

// Writes one command; a failure (the service went away) ends the sending, not the process.
asio::awaitable<bool> send(Connection& c, Tally& t, const std::string& text) {
  c.sent_at.push_back(Clock::now());
  ++t.sent;
  auto [ec, n] =
      co_await c.ws->async_write(asio::buffer(text), asio::as_tuple(asio::use_awaitable));
  if (ec) fail(t, std::make_exception_ptr(boost::system::system_error(ec, "write")));
  co_return !ec;
}

// Waits for the answers to what was sent (or the reader's failure), closes, and waits for the
// reader to end.
asio::awaitable<void> finish(Connection& c) {
  c.expected = c.sent_at.size();
  const auto poll = [&c]() -> asio::awaitable<void> {
    c.wake.expires_after(std::chrono::milliseconds(1));
    co_await c.wake.async_wait(asio::as_tuple(asio::use_awaitable));
  };
  while (c.reading && c.answered < c.expected) co_await poll();
  co_await c.ws->async_close(websocket::close_code::normal, asio::as_tuple(asio::use_awaitable));
  // After a failed write the stream sends no close frame and a read may still be pending.
  beast::error_code ignored;
  if (c.reading) beast::get_lowest_layer(*c.ws).socket().close(ignored);
  while (c.reading) co_await poll();
}

// One connection's share of the throughput run: keeps `window` commands unanswered until the
// run's end, then waits for the rest.
asio::awaitable<void> throughput_connection(const Options& o, Tally& t, std::size_t window,
                                            Clock::time_point end) {
  auto ws = co_await connect(o.port);
  const auto c = std::make_shared<Connection>(std::move(ws));
  start_reader(c, t);
  std::string text;
  while (Clock::now() < end && c->reading) {
    if (c->sent_at.size() - c->answered >= window) {
      // Until an answer frees a slot, the reader ends, or the run does.
      c->waiting_for_slot = true;
      c->wake.expires_at(end);
      co_await c->wake.async_wait(asio::as_tuple(asio::use_awaitable));
      c->waiting_for_slot = false;
      continue;
    }
    text = deposit(c->sent_at.size(), t.accounts[t.next_account++ % t.accounts.size()], o.nowait);
    const bool written = co_await send(*c, t, text);  // named: GCC 12 and co_await in an if
    if (!written) break;
  }
  co_await finish(*c);
}

asio::awaitable<void> latency_run(const Options& o, Tally& t) {
  auto ws = co_await connect(o.port);
  const auto c = std::make_shared<Connection>(std::move(ws));
  const auto count = static_cast<std::size_t>(o.rate * o.seconds);
  c->sent_at.reserve(count);
  start_reader(c, t);
  const auto start = Clock::now();
  std::string text;
  for (std::size_t i = 0; i < count; ++i) {
    c->wake.expires_at(start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(i / o.rate)));
    co_await c->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!c->reading) break;  // the reader failed (and cancelled the wait)
    text = deposit(i, t.accounts[i % t.accounts.size()], false);
    const bool written = co_await send(*c, t, text);  // named: GCC 12 and co_await in an if
    if (!written) break;
  }
  co_await finish(*c);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto i =
      std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"WebSocket command load against xbanku"};
  app.require_subcommand(1);
  Options o;
  auto common = [&o](CLI::App* sub) {
    sub->add_option("--port", o.port, "the service's plain HTTP/WebSocket port")->required();
    sub->add_option("--accounts", o.accounts_file, "file of account ids, one a line")->required();
    sub->add_option("--seconds", o.seconds, "how long to send")->check(CLI::Range(0.1, 600.0));
  };
  auto* throughput = app.add_subcommand("throughput", "commands/s with a bounded window");
  common(throughput);
  throughput->add_option("--connections", o.connections)->check(CLI::Range(1, 1024));
  throughput->add_option("--in-flight", o.in_flight, "unanswered commands, over all sockets")
      ->check(CLI::Range(1, 100000));
  throughput->add_flag("--nowait", o.nowait, "wait=false: answered once in Kafka");
  auto* latency = app.add_subcommand("latency", "latency percentiles at a fixed rate");
  common(latency);
  latency->add_option("--rate", o.rate, "commands per second")->check(CLI::Range(1.0, 100000.0));
  CLI11_PARSE(app, argc, argv);

  Tally t;
  {
    std::ifstream in(o.accounts_file);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) t.accounts.push_back(line);
  }
  if (t.accounts.empty()) {
    std::fprintf(stderr, "no accounts in %s\n", o.accounts_file.c_str());
    return 2;
  }

  asio::io_context io;
  // Nothing may hang a benchmark run: whatever is still open then is cut off.
  asio::steady_timer watchdog(io, std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.seconds + 60)));
  bool cut_off = false;
  watchdog.async_wait([&io, &cut_off](boost::system::error_code ec) {
    if (ec) return;
    cut_off = true;
    io.stop();
  });
  const auto start = Clock::now();
  std::size_t running = 0;
  const auto finished = [&](std::exception_ptr e) {
    if (e) fail(t, e);
    if (--running == 0) watchdog.cancel();
  };
  if (throughput->parsed()) {
    const auto end = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o.seconds));
    o.connections = std::min(o.connections, o.in_flight);
    for (std::size_t c = 0; c < o.connections; ++c) {
      const auto window = o.in_flight / o.connections + (c < o.in_flight % o.connections ? 1 : 0);
      ++running;
      asio::co_spawn(io, throughput_connection(o, t, window, end), finished);
    }
  } else {
    ++running;
    asio::co_spawn(io, latency_run(o, t), finished);
  }
  io.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  if (cut_off) {
    std::fprintf(stderr, "ws_load: cut off %.0f s after the start\n", o.seconds + 60);
    return 1;
  }
  if (t.failure) {
    try {
      std::rethrow_exception(t.failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ws_load: %s\n", e.what());
    }
    return 1;
  }
  if (t.answered < t.sent) {
    std::fprintf(stderr, "ws_load: %zu of %zu commands unanswered\n", t.sent - t.answered, t.sent);
    return 1;
  }
  if (throughput->parsed()) {
    // The rate counts commands the service carried out: a refusal ("ok": false) is an error.
    const auto done = static_cast<double>(t.answered - t.errors);
    std::printf(
        R"({"commands": %zu, "errors": %zu, "seconds": %.3f, "commands_per_s": %.0f, "connections": %zu, "in_flight": %zu})"
        "\n",
        t.sent, t.errors, elapsed, done / elapsed, o.connections, o.in_flight);
  } else {
    std::printf(
        R"({"commands": %zu, "errors": %zu, "rate": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "p999_ms": %.3f})"
        "\n",
        t.sent, t.errors, o.rate, percentile(t.latencies_ms, 0.5), percentile(t.latencies_ms, 0.99),
        percentile(t.latencies_ms, 0.999));
  }
  return 0;  // answers with "ok": false are counted in "errors", not fatal to the run
}
