#pragma once
// Test support: a seeded, reproducible stream of commands (creates, deposits, withdrawals and
// transfers over a set of accounts) and a fast way to append it to a topic with the real
// producer, many records in flight.

#include "xbanku/common/task_group.hpp"
#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/events.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/log/producer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <random>
#include <string>
#include <vector>

namespace xbanku::test {

// `accounts` creates first, then `count - accounts` random money movements.
inline std::vector<domain::Event> make_workload(std::size_t count, std::size_t accounts,
                                                std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<domain::Event> out;
  out.reserve(count);
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < accounts && out.size() < count; ++i) {
    // Deterministic UUID-shaped ids, so that a seed names the same accounts every time.
    const auto id =
        fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", rng() & 0xffffffff, rng() & 0xffff,
                    rng() & 0xfff, rng() & 0xfff, rng() & 0xffffffffffffULL);
    ids.push_back(id);
    domain::Event e;
    e.type = domain::EventType::create;
    e.acc_id = id;
    e.acc_name = fmt::format("Account {}", i);
    out.push_back(std::move(e));
  }
  std::uniform_int_distribution<std::size_t> pick(0, ids.size() - 1);
  std::uniform_int_distribution<int> kind(0, 99);
  std::uniform_int_distribution<std::int64_t> amount(1, 5000);
  while (out.size() < count) {
    domain::Event e;
    const int k = kind(rng);
    e.acc_id = ids[pick(rng)];
    e.amount = amount(rng);
    if (k < 40) {
      e.type = domain::EventType::deposit;
    } else if (k < 65) {
      e.type = domain::EventType::withdraw;
    } else {
      e.type = domain::EventType::transfer;
      e.target_id = ids[pick(rng)];
    }
    out.push_back(std::move(e));
  }
  for (std::size_t i = 0; i < out.size(); ++i) out[i].command_id = fmt::format("wl-{}-{}", seed, i);
  return out;
}

namespace detail {

inline boost::asio::awaitable<void> send_one(log::Producer& producer, const std::string& topic,
                                             const std::string& key, const std::string& value,
                                             std::size_t& acked) {
  auto d = co_await producer.send(topic, key, value);
  if (d) ++acked;
}

inline boost::asio::awaitable<void> produce_all(log::KafkaConfig cfg, std::string topic,
                                                int partitions,
                                                const std::vector<std::string>& values,
                                                const std::vector<std::string>& keys,
                                                std::size_t window, std::size_t& acked) {
  auto ex = co_await boost::asio::this_coro::executor;
  // Named, not a braced temporary inside co_await: GCC 12 miscompiles the latter.
  std::map<std::string, std::string> topic_config{{"max.message.bytes", std::string("4194304")}};
  if (auto ec = co_await log::ensure_topic(ex, cfg, topic, partitions, std::move(topic_config))) {
    throw std::runtime_error("ensure_topic: " + ec.message());
  }
  auto producer = log::Producer::create(ex, cfg);
  if (!producer) throw std::runtime_error("producer: " + producer.error().message());
  for (std::size_t start = 0; start < values.size(); start += window) {
    TaskGroup group(ex);
    for (std::size_t i = start; i < std::min(values.size(), start + window); ++i) {
      group.spawn(send_one(**producer, topic, keys[i], values[i], acked), "send");
    }
    co_await group.wait();
  }
  co_await (*producer)->flush(std::chrono::seconds(10));
}

}  // namespace detail

// Creates `topic` (when missing) and appends `values` keyed by `keys`, up to `window` in flight.
// Returns the number of records Kafka acknowledged.
inline std::size_t produce_all(const std::string& brokers, const std::string& topic, int partitions,
                               const std::vector<std::string>& values,
                               const std::vector<std::string>& keys, std::size_t window = 2000,
                               std::map<std::string, std::string> overrides = {}) {
  boost::asio::io_context io(1);
  std::size_t acked = 0;
  log::KafkaConfig cfg;
  cfg.brokers = brokers;
  cfg.delivery_timeout = std::chrono::seconds(30);
  cfg.linger = std::chrono::milliseconds(5);
  cfg.overrides = std::move(overrides);
  std::exception_ptr failure;
  boost::asio::co_spawn(io,
                        detail::produce_all(cfg, topic, partitions, values, keys, window, acked),
                        [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return acked;
}

inline std::size_t produce_events(const std::string& brokers, const std::string& topic,
                                  int partitions, const std::vector<domain::Event>& events) {
  std::vector<std::string> values, keys;
  values.reserve(events.size());
  keys.reserve(events.size());
  for (const auto& e : events) {
    values.push_back(domain::encode(e));
    keys.push_back(e.acc_id);
  }
  return produce_all(brokers, topic, partitions, values, keys);
}

// Reads one sample of a Prometheus text exposition, e.g. metric(text, "xbanku_outbox_pending").
inline std::optional<double> metric(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      return std::stod(text.substr(pos + series.size() + 1));
    }
    pos += series.size();
  }
  return std::nullopt;
}

}  // namespace xbanku::test
