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

// The writer of a throughput connection waits here while its window is full; the reader wakes
// it when an answer frees a slot.
struct Credit {
  explicit Credit(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool waiting = false;
  void wake() {
    if (std::exchange(waiting, false)) timer.cancel();
  }
};

// The completion of a connection's reader: a failure counts unless every answer was in (the
// close at the end ends the last read).
auto reader_done(Tally& t, bool& reading, asio::steady_timer& wake, const std::size_t& answered,
                 const std::size_t& expected) {
  return [&t, &reading, &wake, &answered, &expected](std::exception_ptr e) {
    reading = false;
    wake.cancel();
    if (e && answered < expected) fail(t, e);
  };
}

// Writes one command; a failure (the service went away) ends the sending, not the process.
asio::awaitable<bool> write(Socket& ws, Tally& t, const std::string& text) {
  auto [ec, n] = co_await ws.async_write(asio::buffer(text), asio::as_tuple(asio::use_awaitable));
  if (ec) fail(t, std::make_exception_ptr(boost::system::system_error(ec, "write")));
  co_return !ec;
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
  co_await ws->async_handshake(fmt::format("127.0.0.1:{}", port), "/ws", asio::use_awaitable);
  ws->text(true);
  co_return ws;
}

// Reads answers until `expected()` of them arrived on this socket; returns the first failure.
// An answer's "id" is the index into `sent_at` of the command it answers.
asio::awaitable<void> read_answers(Socket& ws, Tally& t, std::vector<Clock::time_point>& sent_at,
                                   std::size_t& mine, const std::size_t& expected, Credit* credit) {
  beast::flat_buffer buffer;
  while (mine < expected) {
    buffer.clear();
    co_await ws.async_read(buffer, asio::use_awaitable);
    const auto now = Clock::now();
    const auto v = boost::json::parse(
        std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()));
    const auto* o = v.if_object();
    const auto* id = o ? o->if_contains("id") : nullptr;
    if (!id || !id->is_int64()) continue;  // not an answer to a command
    const auto n = static_cast<std::size_t>(id->as_int64());
    if (n >= sent_at.size()) continue;
    const auto* ok = o->if_contains("ok");
    if (!ok || !ok->is_bool() || !ok->as_bool()) ++t.errors;
    t.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - sent_at[n]).count());
    ++t.answered;
    ++mine;
    if (credit != nullptr) credit->wake();
  }
}

// Waits for the reader to take the last answer (or fail), closes, and waits for the reader's
// end: it holds references into the caller's frame.
asio::awaitable<void> finish(Socket& ws, const bool& reading, asio::steady_timer& wake,
                             const std::size_t& answered, std::size_t expected) {
  const auto poll = [&]() -> asio::awaitable<void> {
    wake.expires_after(std::chrono::milliseconds(1));
    co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
  };
  while (reading && answered < expected) co_await poll();
  // The peer may be gone; the close also ends a read still pending.
  co_await ws.async_close(websocket::close_code::normal, asio::as_tuple(asio::use_awaitable));
  while (reading) co_await poll();
}

// One connection's share of the throughput run: keeps `window` commands unanswered until the
// run's end, then waits for the rest.
asio::awaitable<void> throughput_connection(const Options& o, Tally& t, std::size_t window,
                                            Clock::time_point end) {
  auto ws = co_await connect(o.port);
  std::vector<Clock::time_point> sent_at;  // ids are this connection's own: 0, 1, 2...
  std::size_t answered = 0;
  std::size_t expected = SIZE_MAX;  // until the sending stops
  Credit credit(co_await asio::this_coro::executor);
  bool reading = true;
  asio::co_spawn(
      co_await asio::this_coro::executor,
      [&]() -> asio::awaitable<void> {
        co_await read_answers(*ws, t, sent_at, answered, expected, &credit);
      },
      reader_done(t, reading, credit.timer, answered, expected));
  std::string text;
  while (Clock::now() < end && reading) {
    if (sent_at.size() - answered >= window) {
      // Until an answer frees a slot, or the run's end.
      credit.waiting = true;
      credit.timer.expires_at(end);
      co_await credit.timer.async_wait(asio::as_tuple(asio::use_awaitable));
      credit.waiting = false;
      continue;
    }
    text = deposit(sent_at.size(), t.accounts[t.next_account++ % t.accounts.size()], o.nowait);
    sent_at.push_back(Clock::now());
    ++t.sent;
    const bool written = co_await write(*ws, t, text);  // named: GCC 12 and co_await in an if
    if (!written) break;
  }
  expected = sent_at.size();
  co_await finish(*ws, reading, credit.timer, answered, expected);
}

asio::awaitable<void> latency_run(const Options& o, Tally& t) {
  auto ws = co_await connect(o.port);
  const auto count = static_cast<std::size_t>(o.rate * o.seconds);
  std::vector<Clock::time_point> sent_at(count);
  std::size_t answered = 0;
  bool reading = true;
  asio::steady_timer pace(co_await asio::this_coro::executor);
  asio::co_spawn(
      co_await asio::this_coro::executor,
      [&]() -> asio::awaitable<void> {
        co_await read_answers(*ws, t, sent_at, answered, count, nullptr);
      },
      reader_done(t, reading, pace, answered, count));
  const auto start = Clock::now();
  std::string text;
  for (std::size_t i = 0; i < count && reading; ++i) {
    pace.expires_at(start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(i / o.rate)));
    co_await pace.async_wait(asio::as_tuple(asio::use_awaitable));
    text = deposit(i, t.accounts[i % t.accounts.size()], false);
    sent_at[i] = Clock::now();
    ++t.sent;
    const bool written = co_await write(*ws, t, text);  // named: GCC 12 and co_await in an if
    if (!written) break;
  }
  co_await finish(*ws, reading, pace, answered, count);
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
  std::exception_ptr failure;
  const auto on_done = [&failure](std::exception_ptr e) {
    if (e && !failure) failure = e;
  };
  // Nothing may hang a benchmark run: whatever is still open then is cut off.
  asio::steady_timer watchdog(io, std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.seconds + 60)));
  watchdog.async_wait([&io](boost::system::error_code ec) {
    if (!ec) io.stop();
  });
  const auto start = Clock::now();
  std::size_t running = 0;
  const auto finished = [&](std::exception_ptr e) {
    on_done(e);
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

  if (!failure) failure = t.failure;
  if (failure) {
    try {
      std::rethrow_exception(failure);
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
    std::printf(
        R"({"commands": %zu, "errors": %zu, "seconds": %.3f, "commands_per_s": %.0f, "connections": %zu, "in_flight": %zu})"
        "\n",
        t.sent, t.errors, elapsed, static_cast<double>(t.sent) / elapsed, o.connections,
        o.in_flight);
  } else {
    std::printf(
        R"({"commands": %zu, "errors": %zu, "rate": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "p999_ms": %.3f})"
        "\n",
        t.sent, t.errors, o.rate, percentile(t.latencies_ms, 0.5), percentile(t.latencies_ms, 0.99),
        percentile(t.latencies_ms, 0.999));
  }
  return 0;  // answers with "ok": false are counted in "errors", not fatal to the run
}
