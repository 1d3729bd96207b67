#pragma once
// Shared by the app/ unit tests: a real view store in a temporary folder, a cluster described by
// hand (FakeDirectory) and peers that answer what the test says (FakePeers), and a way to run a
// coroutine to completion on a test's io_context.

#include "unit/view/view_test_support.hpp"
#include "xbanku/app/membership.hpp"
#include "xbanku/cluster/peer_api.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace xbanku::app::testing {

// Runs `task` on `io` until it completes and returns its result.
template <typename T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) result = std::move(value);
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

inline void run(boost::asio::io_context& io, boost::asio::awaitable<void> task) {
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) { failure = e; });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
}

class FakeDirectory final : public Directory {
 public:
  std::string me = "me";
  std::map<std::int32_t, cluster::Owner> owners;

  [[nodiscard]] std::optional<cluster::Owner> owner(std::int32_t p) const override {
    auto it = owners.find(p);
    return it == owners.end() ? std::nullopt : std::optional(it->second);
  }
  [[nodiscard]] std::vector<std::optional<cluster::Owner>> by_partition(
      std::int32_t n) const override {
    std::vector<std::optional<cluster::Owner>> out;
    for (std::int32_t p = 0; p < n; ++p) out.push_back(owner(p));
    return out;
  }
  [[nodiscard]] const std::string& self() const override { return me; }
};

// Answers from what the test put in, keyed by (owner instance, argument); records every call.
class FakePeers final : public cluster::PeerApi {
 public:
  template <typename T>
  using Answers = std::map<std::pair<std::string, std::string>, cluster::PeerReply<T>>;
  Answers<domain::Account> accounts_by_id;
  Answers<view::AccountPage> pages;  // keyed by (instance, account owner or "")
  Answers<domain::Outcome> outcomes;
  Answers<domain::TransferState> transfers;    // keyed by (instance, transfer id)
  std::vector<std::string> calls;              // "instance kind argument"
  std::string last_principal;                  // of the last command()
  std::optional<std::int32_t> last_partition;  // of the last command()
  std::string last_min_position;               // of the last account(), history(), transfer()

  boost::asio::awaitable<cluster::PeerReply<domain::Account>> account(
      cluster::Owner o, std::string id, std::string min_position) override {
    last_min_position = min_position;
    co_return answer(accounts_by_id, o, "account", id);
  }
  boost::asio::awaitable<cluster::PeerReply<view::AccountPage>> accounts(
      cluster::Owner o, std::string, std::size_t, std::vector<std::int32_t>,
      std::string account_owner) override {
    co_return answer(pages, o, "accounts", account_owner);
  }
  boost::asio::awaitable<cluster::PeerReply<view::HistoryPage>> history(
      cluster::Owner o, std::string id, std::uint64_t, std::size_t,
      std::string min_position) override {
    last_min_position = min_position;
    calls.push_back(o.instance + " history " + id);
    co_return cluster::PeerReply<view::HistoryPage>{};
  }
  boost::asio::awaitable<cluster::PeerReply<domain::Outcome>> command(
      cluster::Owner o, std::string id, std::string principal, Ms,
      std::optional<std::int32_t> partition) override {
    last_principal = principal;
    last_partition = partition;
    co_return answer(outcomes, o, "command", id);
  }
  boost::asio::awaitable<cluster::PeerReply<domain::TransferState>> transfer(
      cluster::Owner o, std::string id, std::string, std::string min_position) override {
    last_min_position = min_position;
    co_return answer(transfers, o, "transfer", id);
  }

 private:
  template <typename T>
  cluster::PeerReply<T> answer(const Answers<T>& from, const cluster::Owner& o, const char* kind,
                               const std::string& arg) {
    calls.push_back(o.instance + " " + kind + " " + arg);
    auto it = from.find({o.instance, arg});
    if (it == from.end()) return cluster::PeerReply<T>{};  // failed: no answer
    auto reply = it->second;
    if (reply.served_by.empty()) reply.served_by = o.instance;
    return reply;
  }
};

template <typename T>
cluster::PeerReply<T> ok(T value) {
  cluster::PeerReply<T> r;
  r.status = cluster::PeerStatus::ok;
  r.value = std::move(value);
  return r;
}

template <typename T>
cluster::PeerReply<T> with_status(cluster::PeerStatus s) {
  cluster::PeerReply<T> r;
  r.status = s;
  return r;
}

}  // namespace xbanku::app::testing
