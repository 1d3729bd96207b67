#include "xbanku/cluster/peer_api.hpp"

#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/wire/json.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <functional>

namespace xbanku::cluster {
namespace {

using boost::asio::awaitable;
using Ms = std::chrono::milliseconds;

class HttpPeerApi final : public PeerApi {
 public:
  HttpPeerApi(boost::asio::any_io_executor ex, PeerApiConfig config, metrics::Registry& registry)
      : client_(ex, config.client),
        config_(std::move(config)),
        ok_(registry.counter("xbanku_forwarded_requests_total",
                             "Queries and read-your-writes waits sent to another instance",
                             {{"result", "ok"}})),
        failed_(registry.counter("xbanku_forwarded_requests_total",
                                 "Queries and read-your-writes waits sent to another instance",
                                 {{"result", "failed"}})) {}

  awaitable<PeerReply<domain::Account>> account(Owner owner, std::string id,
                                                std::string min_position) override {
    return get<domain::Account>(std::move(owner),
                                with_position("/accounts/" + percent_encode(id), '?', min_position),
                                &wire::account_from_json);
  }

  awaitable<PeerReply<view::AccountPage>> accounts(Owner owner, std::string after,
                                                   std::size_t limit,
                                                   std::vector<std::int32_t> partitions,
                                                   std::string account_owner) override {
    auto target = fmt::format("/accounts?limit={}", limit);
    if (!after.empty()) target += "&after=" + percent_encode(after);
    if (!partitions.empty()) target += fmt::format("&partitions={}", fmt::join(partitions, ","));
    if (!account_owner.empty()) target += "&owner=" + percent_encode(account_owner);
    return get<view::AccountPage>(std::move(owner), std::move(target),
                                  &wire::account_page_from_json);
  }

  awaitable<PeerReply<view::HistoryPage>> history(Owner owner, std::string id,
                                                  std::uint64_t after_seq, std::size_t limit,
                                                  std::string min_position) override {
    auto target = fmt::format("/accounts/{}/events?limit={}", percent_encode(id), limit);
    if (after_seq != 0) target += fmt::format("&after={}", after_seq);
    return get<view::HistoryPage>(std::move(owner), with_position(target, '&', min_position),
                                  &wire::history_page_from_json);
  }

  awaitable<PeerReply<domain::Outcome>> command(Owner owner, std::string command_id,
                                                std::string principal, Ms wait,
                                                std::optional<std::int32_t> partition) override {
    auto target = fmt::format("/commands/{}?wait_ms={}", percent_encode(command_id), wait.count());
    if (!principal.empty()) target += "&principal=" + percent_encode(principal);
    if (partition) target += fmt::format("&partition={}", *partition);
    return get<domain::Outcome>(std::move(owner), std::move(target), &wire::outcome_from_json,
                                wait);
  }

  awaitable<PeerReply<domain::TransferState>> transfer(Owner owner, std::string transfer_id,
                                                       std::string to,
                                                       std::string min_position) override {
    return get<domain::TransferState>(
        std::move(owner),
        with_position(
            fmt::format("/transfers/{}?to={}", percent_encode(transfer_id), percent_encode(to)),
            '&', min_position),
        &wire::transfer_state_from_json);
  }

 private:
  static std::string with_position(std::string target, char sep, const std::string& token) {
    if (!token.empty()) target += sep + std::string("min_position=") + percent_encode(token);
    return target;
  }

  template <typename T>
  using Parse = std::optional<T> (*)(const boost::json::value&);

  // The one place that talks HTTP to a peer and decides what its answer means.
  template <typename T>
  awaitable<PeerReply<T>> get(Owner owner, std::string target, Parse<T> parse, Ms extra = Ms(0)) {
    PeerReply<T> reply;
    auto res = co_await client_.get(owner.url, std::move(target), /*hops=*/1,
                                    config_.request_timeout + extra);
    if (res) {
      reply.served_by = res->served_by.empty() ? owner.instance : res->served_by;
      reply.stale = res->stale;
      reply.role = res->served_role;
      reply.lag = res->replica_lag;
      if (res->status == 200) {
        boost::system::error_code ec;
        const auto body = boost::json::parse(res->body, ec);
        if (!ec) reply.value = parse(body);
        reply.status = reply.value ? PeerStatus::ok : PeerStatus::failed;
      } else if (res->status == 404) {
        reply.status = PeerStatus::not_found;
      } else if (res->status == 503) {
        reply.status = PeerStatus::unavailable;
      }
    }
    (reply.answered() ? ok_ : failed_).inc();
    co_return reply;
  }

  PeerClient client_;
  PeerApiConfig config_;
  metrics::Counter& ok_;
  metrics::Counter& failed_;
};

}  // namespace

std::unique_ptr<PeerApi> make_http_peer_api(boost::asio::any_io_executor ex, PeerApiConfig config,
                                            metrics::Registry& registry) {
  return std::make_unique<HttpPeerApi>(std::move(ex), config, registry);
}

}  // namespace xbanku::cluster
