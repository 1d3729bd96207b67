#pragma once
// What one instance asks another (DESIGN §8), typed: each call takes the owner to ask and
// returns a domain value with a status, never an HTTP status or a body to parse again. The one
// rule for "answered": the peer gave a value or a definite "not found"; anything else (no
// connection, a timeout, 503 from a peer that does not serve the partition either, an answer
// that does not parse) is not an answer, and the caller falls back. Every request is marked as
// an instance's (kHopsHeader = 1, set in one place: HttpPeerApi), so it is answered where it
// lands and never forwarded again.
// Thread-safety: single-executor, like the service.

#include "xbanku/cluster/members.hpp"
#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/metrics/registry.hpp"
#include "xbanku/view/pages.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xbanku::cluster {

enum class PeerStatus {
  ok,           // value set
  not_found,    // the peer looked and there is none
  unavailable,  // the peer does not serve it either (503)
  failed        // unreachable, timed out, or an answer that makes no sense
};

template <typename T>
struct PeerReply {
  PeerStatus status = PeerStatus::failed;
  std::optional<T> value;           // set when status == ok
  std::string served_by;            // X-Served-By of the answer
  bool stale = false;               // the peer answered from a copy it does not serve (X-Stale)
  std::string role;                 // X-Served-Role of the answer
  std::optional<std::int64_t> lag;  // X-Replica-Lag of the answer
  [[nodiscard]] bool answered() const noexcept {
    return status == PeerStatus::ok || status == PeerStatus::not_found;
  }
};

class PeerApi {
 public:
  virtual ~PeerApi() = default;
  using Ms = std::chrono::milliseconds;

  // `min_position` (a token, "" for none) in account(), history() and transfer(): the peer
  // answers only once its view has applied past it (DESIGN §8), else 504 (failed here).
  // GET /accounts/{id}
  virtual boost::asio::awaitable<PeerReply<domain::Account>> account(Owner owner, std::string id,
                                                                     std::string min_position) = 0;
  // GET /accounts?after=&limit=&partitions=&owner=: the peer's page for the partitions it
  // serves, of the accounts `account_owner` created (all when empty).
  virtual boost::asio::awaitable<PeerReply<view::AccountPage>> accounts(
      Owner owner, std::string after, std::size_t limit, std::vector<std::int32_t> partitions,
      std::string account_owner) = 0;
  // GET /accounts/{id}/events?after=&limit=
  virtual boost::asio::awaitable<PeerReply<view::HistoryPage>> history(
      Owner owner, std::string id, std::uint64_t after_seq, std::size_t limit,
      std::string min_position) = 0;
  // GET /commands/{id}?wait_ms=&principal=&partition=: `principal`'s command; with `wait` > 0
  // the peer waits that long for the outcome to be projected there (a read-your-writes wait at
  // the partition's owner). With `partition`, the key's outcome in that partition only: a key
  // names one command per partition, and the asker waits for the record it wrote there.
  virtual boost::asio::awaitable<PeerReply<domain::Outcome>> command(
      Owner owner, std::string command_id, std::string principal, Ms wait,
      std::optional<std::int32_t> partition) = 0;
  // GET /transfers/{id}?to=: a cross-partition transfer as its target's partition sees it.
  virtual boost::asio::awaitable<PeerReply<domain::TransferState>> transfer(
      Owner owner, std::string transfer_id, std::string to, std::string min_position) = 0;
};

struct PeerApiConfig {
  // Bound on one forwarded request (connect, write, read); a command wait adds its `wait`.
  std::chrono::milliseconds request_timeout{2000};
  PeerClientConfig client;  // TLS, credential and per-peer bounds
};

// Over HTTP/1.1 with pooled keep-alive connections (PeerClient). Counts every request in
// xbanku_forwarded_requests_total{result="ok"|"failed"} (ok = answered()).
[[nodiscard]] std::unique_ptr<PeerApi> make_http_peer_api(boost::asio::any_io_executor ex,
                                                          PeerApiConfig config,
                                                          metrics::Registry& registry);

}  // namespace xbanku::cluster
