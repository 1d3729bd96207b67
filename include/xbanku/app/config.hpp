#pragma once
// The service's configuration (DESIGN.md §6): each setting comes from its flag, else its
// environment variable, else its default; parse_config validates everything at start-up so a
// bad value stops the process with one line naming the setting.

#include <boost/system/result.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace xbanku::app {

enum class Act { serve, producer, consumer, verify, token };

// DESIGN §9. none: no authentication, and then the service only listens on loopback (like
// Redis's protected mode); jwt: bearer tokens on every request but the probes.
enum class Auth { none, jwt };

struct Config {
  Act act = Act::serve;
  bool follow = false;  // consumer mode: keep going at the end of the log

  std::string brokers = "127.0.0.1:9092";
  // The user's Kafka client properties (README "Connecting to your Kafka"): from
  // --kafka-config FILE, then --kafka-property KEY=VALUE (later wins), validated by librdkafka;
  // applied to every Kafka client. May hold secrets: log only log::describe()'s redacted form.
  std::vector<std::pair<std::string, std::string>> kafka_properties;
  std::string kafka_properties_described;  // redacted, for the start-up log
  std::string redis_password;              // REDIS_PASSWORD; the URL's password wins
  std::string topic = "xbanku-transactions-t2";
  int partitions = 6;  // used when the service creates the topic
  std::string group = "xbanku-view";
  std::string data_dir = "./data";
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string redis_url;    // empty = no mirror
  std::string instance_id;  // empty = dynamic group membership
  std::string advertise;    // URL other instances use to reach this one

  std::chrono::milliseconds command_wait{5000};      // read-your-writes bound (§3)
  std::chrono::milliseconds delivery_timeout{5000};  // Kafka acknowledgement bound
  // Consumer group session: 6 s (the broker's default minimum), measured free of false
  // failovers at 3 s under saturating load (bench/false_failovers.sh, README "Failover").
  std::chrono::milliseconds session_timeout{6000};
  std::string log_level = "info";

  // Security (DESIGN §9; README "Security").
  Auth auth = Auth::none;
  std::string jwt_secret_file;      // HS256: the shared secret (>= 32 bytes)
  std::string jwt_public_key_file;  // RS256 / ES256: a PEM public key
  std::string jwt_jwks_file;        // RS256 / ES256: a JWKS document (keys by kid)
  std::string jwt_issuer;           // required `iss` when set
  std::string jwt_audience;         // required in `aud` when set
  std::chrono::seconds jwt_leeway{30};
  std::string cluster_secret_file;  // what instances prove themselves to each other with
  std::string tls_cert_file;        // PEM chain: HTTPS and WSS on the listen port
  std::string tls_key_file;
  std::string tls_ca_file;                 // verifies other instances' certificates (https peers)
  std::vector<std::string> allowed_hosts;  // Host / Origin allow-list; empty = any
  bool access_log = true;
  // Memory for the view's writes not yet flushed to disk (all memtables together): less is a
  // lower peak RSS and more, smaller flushes (view::StoreOptions::memtable_bytes).
  std::size_t view_memtable_mb = 64;
  // Accounts whose committed state the projector keeps in memory, about 60 bytes each
  // (view::StoreOptions::account_cache_entries): fewer than the view holds and catch-up reads
  // the rest from RocksDB (at 1M accounts, 41,000 records/s with a quarter cached, 65,000 with
  // all).
  std::size_t view_account_cache = std::size_t{1} << 20;
  // Standby replicas (DESIGN §8): 0 = none; 1 or more = every partition the group does not
  // assign here is shadowed (app::Projector says why all of them). A shadow answers queries
  // while at most max_read_lag records behind the log's end as last fetched.
  int standby_replicas = 1;
  std::int64_t max_read_lag = 0;
  // Threads for plain HTTP sessions beside the core thread (api::ApiConfig::session_threads);
  // 0 = sessions on the core. Measured on 2 cores: one per core beat both 0 and 1 for GET
  // (README "Threads").
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());

  // Fairness (DESIGN §9): open sessions, per client address, requests per second (bursts are
  // twice the rate; 0 = no limit; rates apply with --auth=jwt, where callers are principals),
  // and the longest wait_ms a client may ask for.
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_address = 256;
  double rate_per_connection = 500;
  double rate_per_principal = 2000;
  std::chrono::milliseconds max_client_wait{10000};

  // `xbanku token`: mints an HS256 token from jwt_secret_file for local use.
  std::string token_subject;
  std::vector<std::string> token_scopes;
  std::chrono::seconds token_ttl{3600};
};

// True for 127.0.0.0/8, ::1 and "localhost".
[[nodiscard]] bool is_loopback_host(std::string_view host);

struct ConfigError {
  std::string message;  // one line, naming the setting
  int exit_code = 2;    // 0 for --help / --version
};

// Parses flags, then the environment, then defaults. Never exits the process itself.
[[nodiscard]] boost::system::result<Config, ConfigError> parse_config(int argc,
                                                                      const char* const* argv);

[[nodiscard]] std::string_view to_string(Act act) noexcept;

}  // namespace xbanku::app
