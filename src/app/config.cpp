#include "xbanku/app/config.hpp"

#include "xbanku/cluster/peer_client.hpp"
#include "xbanku/log/kafka_properties.hpp"
#include "xbanku/mirror/redis_config.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

namespace xbanku::app {
namespace {

// "host:port" with a numeric port in 1..65535 and a non-empty host.
bool split_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto port_text = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
      value > 65535) {
    return false;
  }
  host = std::string(text.substr(0, colon));
  port = static_cast<std::uint16_t>(value);
  return true;
}

// Kafka's rule for topic names: 1..249 of [a-zA-Z0-9._-].
bool valid_topic(std::string_view t) {
  return !t.empty() && t.size() <= 249 && t != "." && t != ".." &&
         std::all_of(t.begin(), t.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '_' || c == '-';
         });
}

}  // namespace

// "90s", "15m", "1h", "2d" (or plain seconds).
std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  long long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || n <= 0) return std::nullopt;
  const std::string_view unit(end, text.data() + text.size() - end);
  if (unit.empty() || unit == "s") return std::chrono::seconds(n);
  if (unit == "m") return std::chrono::minutes(n);
  if (unit == "h") return std::chrono::hours(n);
  if (unit == "d") return std::chrono::hours(24 * n);
  return std::nullopt;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string item(text.substr(0, comma));
    std::erase_if(item, [](char ch) { return ch == ' '; });
    for (char& ch : item) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!item.empty()) out.push_back(std::move(item));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

namespace {

bool readable(const std::string& path) {
  std::ifstream in(path);
  return static_cast<bool>(in);
}

}  // namespace

std::string_view to_string(Act act) noexcept {
  switch (act) {
    case Act::serve: return "serve";
    case Act::producer: return "producer";
    case Act::consumer: return "consumer";
    case Act::verify: return "verify";
    case Act::token: return "token";
  }
  return "serve";
}

namespace {

using NamedFile = std::pair<std::string_view, const std::string*>;  // (flag, path)

// The security settings (DESIGN §9): what must come together, and protected mode.
std::optional<ConfigError> security(Config& c, const std::string& auth, const std::string& leeway,
                                    const std::string& allowed_hosts) {
  auto bad = [](std::string_view setting, std::string_view why) {
    return ConfigError{fmt::format("xbanku: invalid {}: {}", setting, why)};
  };
  if (auth == "none") {
    c.auth = Auth::none;
  } else if (auth == "jwt") {
    c.auth = Auth::jwt;
  } else {
    return bad("--auth/XBANKU_AUTH", fmt::format("'{}' is not none or jwt", auth));
  }
  const int keys =
      !c.jwt_secret_file.empty() + !c.jwt_public_key_file.empty() + !c.jwt_jwks_file.empty();
  if (c.auth == Auth::jwt) {
    if (keys != 1) {
      return bad("--auth=jwt",
                 "needs exactly one of --jwt-secret-file, --jwt-public-key, --jwt-jwks");
    }
    for (const auto& [flag, path] : {NamedFile{"--jwt-secret-file", &c.jwt_secret_file},
                                     NamedFile{"--jwt-public-key", &c.jwt_public_key_file},
                                     NamedFile{"--jwt-jwks", &c.jwt_jwks_file}}) {
      if (!path->empty() && !readable(*path))
        return bad(flag, fmt::format("cannot read '{}'", *path));
    }
    if (c.cluster_secret_file.empty()) {
      return bad("--cluster-secret-file/XBANKU_CLUSTER_SECRET_FILE",
                 "is required with --auth=jwt: instances prove themselves to each other with it");
    }
  } else {
    if (keys > 0)
      return bad("--auth/XBANKU_AUTH", "JWT keys are given but --auth is none; add --auth=jwt");
    if (c.act == Act::serve && !is_loopback_host(c.listen_host)) {
      return bad(
          "--listen/XBANKU_LISTEN",
          fmt::format("{} is not a loopback address and no authentication is configured: add "
                      "--auth=jwt (with --jwt-secret-file, --jwt-public-key or --jwt-jwks, and "
                      "--cluster-secret-file), or listen on 127.0.0.1",
                      c.listen_host));
    }
  }
  if (!c.cluster_secret_file.empty() && !readable(c.cluster_secret_file)) {
    return bad("--cluster-secret-file", fmt::format("cannot read '{}'", c.cluster_secret_file));
  }
  if (leeway == "0") {
    c.jwt_leeway = std::chrono::seconds(0);
  } else if (auto l = parse_duration(leeway); l && *l <= std::chrono::minutes(5)) {
    c.jwt_leeway = *l;
  } else {
    return bad("--jwt-leeway", fmt::format("'{}' is not a duration of at most 5m", leeway));
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return bad("--tls-cert/--tls-key", "both are needed to serve TLS");
  }
  for (const auto& [flag, path] :
       {NamedFile{"--tls-cert", &c.tls_cert_file}, NamedFile{"--tls-key", &c.tls_key_file},
        NamedFile{"--tls-ca", &c.tls_ca_file}}) {
    if (!path->empty() && !readable(*path))
      return bad(flag, fmt::format("cannot read '{}'", *path));
  }
  if (allowed_hosts == "*") {
    c.allowed_hosts.clear();  // any Host
  } else if (!allowed_hosts.empty()) {
    c.allowed_hosts = split_list(allowed_hosts);
  } else if (c.auth == Auth::none) {
    // Protected mode listens on loopback: a page on another site that a browser resolves to
    // 127.0.0.1 (DNS rebinding) still names its own host, and is refused.
    c.allowed_hosts = {"localhost", "127.0.0.1", "::1", split_list(c.listen_host).front()};
  }
  return std::nullopt;
}

}  // namespace

boost::system::result<Config, ConfigError> parse_config(int argc, const char* const* argv) {
  Config c;
  CLI::App cli{"xbanku — an event-sourced bank-account service on Kafka, RocksDB and Redis"};
  cli.set_version_flag("--version", "xbanku 0.1.0");

  std::string act = "serve", listen = "127.0.0.1:8080";
  long long wait_ms = c.command_wait.count(), delivery_ms = c.delivery_timeout.count(),
            session_ms = c.session_timeout.count();
  cli.add_option("--act", act, "serve | producer | consumer | verify")->envname("XBANKU_ACT");
  cli.add_flag("--follow", c.follow, "consumer mode: keep printing new records");
  cli.add_option("--brokers", c.brokers, "Kafka bootstrap servers")->envname("KAFKA_BROKERS");
  std::string kafka_config_file;
  std::vector<std::string> kafka_property_args;
  cli.add_option("--kafka-config", kafka_config_file,
                 "Kafka client properties file (Java .properties: security, SASL, TLS, tuning)")
      ->envname("XBANKU_KAFKA_CONFIG");
  cli.add_option("--kafka-property", kafka_property_args,
                 "a Kafka client property KEY=VALUE (repeatable; overrides --kafka-config)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cli.add_option("--topic", c.topic, "the event topic")->envname("XBANKU_TOPIC");
  cli.add_option("--partitions", c.partitions, "partitions when creating the topic")
      ->envname("XBANKU_PARTITIONS");
  cli.add_option("--group", c.group, "consumer group of the projector")->envname("XBANKU_GROUP");
  cli.add_option("--data-dir", c.data_dir, "RocksDB view folder")->envname("XBANKU_DATA_DIR");
  cli.add_option("--listen", listen, "HTTP/WebSocket address host:port")->envname("XBANKU_LISTEN");
  cli.add_option("--redis", c.redis_url,
                 "Redis mirror: host:port or redis://[user:password@]host:port/db")
      ->envname("REDIS_URL");
  cli.add_option("--instance-id", c.instance_id, "static group membership id")
      ->envname("XBANKU_INSTANCE_ID");
  cli.add_option("--advertise", c.advertise, "URL other instances use to reach this one")
      ->envname("XBANKU_ADVERTISE");
  cli.add_option("--command-wait-ms", wait_ms, "read-your-writes wait bound")
      ->envname("XBANKU_COMMAND_WAIT_MS");
  cli.add_option("--delivery-timeout-ms", delivery_ms, "Kafka acknowledgement bound")
      ->envname("XBANKU_DELIVERY_TIMEOUT_MS");
  cli.add_option("--session-timeout-ms", session_ms, "consumer group session timeout")
      ->envname("XBANKU_SESSION_TIMEOUT_MS");
  cli.add_option("--log-level", c.log_level, "trace | debug | info | warn | error")
      ->envname("XBANKU_LOG_LEVEL");

  std::string auth = "none", leeway = "30", allowed_hosts;
  cli.add_option("--auth", auth, "none (loopback only) | jwt")->envname("XBANKU_AUTH");
  cli.add_option("--jwt-secret-file", c.jwt_secret_file, "HS256 secret (a file)")
      ->envname("XBANKU_JWT_SECRET_FILE");
  cli.add_option("--jwt-public-key", c.jwt_public_key_file, "RS256/ES256 public key (PEM file)")
      ->envname("XBANKU_JWT_PUBLIC_KEY");
  cli.add_option("--jwt-jwks", c.jwt_jwks_file, "RS256/ES256 keys (JWKS file)")
      ->envname("XBANKU_JWT_JWKS");
  cli.add_option("--jwt-issuer", c.jwt_issuer, "required iss")->envname("XBANKU_JWT_ISSUER");
  cli.add_option("--jwt-audience", c.jwt_audience, "required aud")->envname("XBANKU_JWT_AUDIENCE");
  cli.add_option("--jwt-leeway", leeway, "clock leeway for exp/nbf (e.g. 30s)")
      ->envname("XBANKU_JWT_LEEWAY");
  cli.add_option("--cluster-secret-file", c.cluster_secret_file,
                 "secret the instances of one cluster share (a file)")
      ->envname("XBANKU_CLUSTER_SECRET_FILE");
  cli.add_option("--tls-cert", c.tls_cert_file, "PEM certificate chain: serve HTTPS/WSS")
      ->envname("XBANKU_TLS_CERT");
  cli.add_option("--tls-key", c.tls_key_file, "PEM private key of --tls-cert")
      ->envname("XBANKU_TLS_KEY");
  cli.add_option("--tls-ca", c.tls_ca_file, "PEM CA that signs the other instances' certificates")
      ->envname("XBANKU_TLS_CA");
  cli.add_option("--allowed-hosts", allowed_hosts,
                 "Host/Origin allow-list, comma-separated ('*' = any)")
      ->envname("XBANKU_ALLOWED_HOSTS");
  cli.add_option("--access-log", c.access_log, "one line per request (true | false)")
      ->envname("XBANKU_ACCESS_LOG");
  cli.add_option("--view-memtable-mb", c.view_memtable_mb,
                 "MiB of view writes held in memory before a flush to disk")
      ->envname("XBANKU_VIEW_MEMTABLE_MB")
      ->check(CLI::Range(1, 4096));
  cli.add_option("--view-account-cache", c.view_account_cache,
                 "accounts whose state the projector keeps in memory (0 = none)")
      ->envname("XBANKU_VIEW_ACCOUNT_CACHE")
      ->check(CLI::Range(0, 16'000'000));
  cli.add_option("--standby-replicas", c.standby_replicas,
                 "shadow the partitions other instances own (0 = none)")
      ->envname("XBANKU_STANDBY_REPLICAS")
      ->check(CLI::Range(0, 16));
  cli.add_option("--threads", c.threads,
                 "threads for plain HTTP sessions beside the core thread (0 = on the core)")
      ->envname("XBANKU_THREADS")
      ->check(CLI::Range(0u, 256u));
  cli.add_option("--max-read-lag", c.max_read_lag,
                 "records a standby may be behind the log's end and still answer queries")
      ->envname("XBANKU_MAX_READ_LAG")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40));
  long long client_wait_ms = c.max_client_wait.count();
  cli.add_option("--max-connections", c.max_connections, "open HTTP/WebSocket sessions")
      ->envname("XBANKU_MAX_CONNECTIONS");
  cli.add_option("--max-connections-per-address", c.max_connections_per_address,
                 "open sessions from one client address")
      ->envname("XBANKU_MAX_CONNECTIONS_PER_ADDRESS");
  cli.add_option("--rate-per-connection", c.rate_per_connection,
                 "requests or messages per second on one authenticated connection (0 = no limit)")
      ->envname("XBANKU_RATE_PER_CONNECTION");
  cli.add_option("--rate-per-principal", c.rate_per_principal,
                 "requests or messages per second of one authenticated principal (0 = no limit)")
      ->envname("XBANKU_RATE_PER_PRINCIPAL");
  cli.add_option("--max-client-wait-ms", client_wait_ms, "longest wait_ms a client may ask for")
      ->envname("XBANKU_MAX_CLIENT_WAIT_MS");

  // `xbanku token --sub alice --scope accounts:write --ttl 1h`
  std::string ttl = "1h";
  auto* token = cli.add_subcommand("token", "mint an HS256 token from --jwt-secret-file");
  token->add_option("--sub", c.token_subject, "the principal")->required();
  token->add_option("--scope", c.token_scopes,
                    "a scope (repeatable): accounts:read, accounts:write, admin");
  token->add_option("--ttl", ttl, "lifetime, e.g. 15m, 1h, 2d");
  token->add_option("--jwt-secret-file", c.jwt_secret_file, "HS256 secret (a file)")
      ->envname("XBANKU_JWT_SECRET_FILE");
  token->add_option("--jwt-issuer", c.jwt_issuer, "iss to put in the token")
      ->envname("XBANKU_JWT_ISSUER");
  token->add_option("--jwt-audience", c.jwt_audience, "aud to put in the token")
      ->envname("XBANKU_JWT_AUDIENCE");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return ConfigError{cli.help(), 0};
  } catch (const CLI::CallForVersion&) {
    return ConfigError{"xbanku 0.1.0", 0};
  } catch (const CLI::ParseError& e) {
    return ConfigError{fmt::format("xbanku: {}", e.what())};
  }

  auto bad = [](std::string_view setting, std::string_view why) {
    return ConfigError{fmt::format("xbanku: invalid {}: {}", setting, why)};
  };
  static const std::map<std::string, Act, std::less<>> acts{{"serve", Act::serve},
                                                            {"producer", Act::producer},
                                                            {"consumer", Act::consumer},
                                                            {"verify", Act::verify}};
  if (token->parsed()) {
    c.act = Act::token;
    const auto t = parse_duration(ttl);
    if (!t) return bad("--ttl", fmt::format("'{}' is not a duration such as 15m, 1h or 2d", ttl));
    c.token_ttl = *t;
    if (c.jwt_secret_file.empty())
      return bad("--jwt-secret-file/XBANKU_JWT_SECRET_FILE", "is required to mint a token");
    if (!readable(c.jwt_secret_file))
      return bad("--jwt-secret-file", fmt::format("cannot read '{}'", c.jwt_secret_file));
    return c;
  }
  if (auto it = acts.find(act); it != acts.end()) {
    c.act = it->second;
  } else {
    return bad("--act/XBANKU_ACT",
               fmt::format("'{}' is not one of serve, producer, consumer, verify", act));
  }
  if (c.brokers.empty()) return bad("--brokers/KAFKA_BROKERS", "must not be empty");
  {
    log::Properties properties;
    std::string why;
    if (!kafka_config_file.empty()) {
      std::ifstream in(kafka_config_file, std::ios::binary);
      if (!in)
        return bad("--kafka-config/XBANKU_KAFKA_CONFIG",
                   fmt::format("cannot read '{}'", kafka_config_file));
      const std::string text{std::istreambuf_iterator<char>(in), {}};
      auto parsed = log::parse_properties(text, kafka_config_file, &why);
      if (!parsed) return bad("--kafka-config/XBANKU_KAFKA_CONFIG", why);
      properties = std::move(*parsed);
    }
    for (const auto& arg : kafka_property_args) {
      auto p = log::parse_property_arg(arg, &why);
      if (!p) return bad("--kafka-property", why);
      properties.push_back(std::move(*p));
    }
    auto merged = log::validate_properties(properties, &why);
    if (!merged) return ConfigError{fmt::format("xbanku: {}", why)};
    c.kafka_properties = std::move(*merged);
    log::Properties effective;
    for (const auto& [name, value] : c.kafka_properties) effective.push_back({name, value, ""});
    c.kafka_properties_described = log::describe(effective);
  }
  if (!valid_topic(c.topic)) {
    return bad("--topic/XBANKU_TOPIC", fmt::format("'{}' is not a Kafka topic name", c.topic));
  }
  if (c.partitions < 1 || c.partitions > 10000) {
    return bad("--partitions/XBANKU_PARTITIONS",
               fmt::format("{} is not in 1..10000", c.partitions));
  }
  if (c.group.empty()) return bad("--group/XBANKU_GROUP", "must not be empty");
  if (c.data_dir.empty()) return bad("--data-dir/XBANKU_DATA_DIR", "must not be empty");
  if (!split_host_port(listen, c.listen_host, c.listen_port)) {
    return bad("--listen/XBANKU_LISTEN", fmt::format("'{}' is not host:port", listen));
  }
  // Environment only: a password on the command line is visible to every local user (ps).
  if (const char* pw = std::getenv("REDIS_PASSWORD"); pw != nullptr) c.redis_password = pw;
  if (!c.redis_url.empty()) {
    std::string why;
    if (!mirror::parse_redis_url(c.redis_url, &why)) return bad("--redis/REDIS_URL", why);
  }
  if (c.instance_id.size() > 200)
    return bad("--instance-id/XBANKU_INSTANCE_ID", "longer than 200 characters");
  if (std::string host, port;
      !c.advertise.empty() && !cluster::split_peer_url(c.advertise, host, port)) {
    return bad("--advertise/XBANKU_ADVERTISE",
               fmt::format("'{}' is not an http:// or https://host:port URL", c.advertise));
  }
  if (wait_ms < 1 || wait_ms > 600000) return bad("--command-wait-ms", "must be in 1..600000");
  if (delivery_ms < 100 || delivery_ms > 600000)
    return bad("--delivery-timeout-ms", "must be in 100..600000");
  if (session_ms < 3000 || session_ms > 300000)
    return bad("--session-timeout-ms", "must be in 3000..300000");
  static const std::array levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(levels.begin(), levels.end(), c.log_level) == levels.end()) {
    return bad("--log-level/XBANKU_LOG_LEVEL", fmt::format("'{}' is not a log level", c.log_level));
  }
  if (auto error = security(c, auth, leeway, allowed_hosts)) return std::move(*error);
  if (c.max_connections < 1 || c.max_connections > 1'000'000)
    return bad("--max-connections", "must be in 1..1000000");
  if (c.max_connections_per_address < 1 || c.max_connections_per_address > c.max_connections)
    return bad("--max-connections-per-address", "must be in 1..--max-connections");
  for (const auto& [flag, rate] :
       {std::pair<std::string_view, double>{"--rate-per-connection", c.rate_per_connection},
        {"--rate-per-principal", c.rate_per_principal}}) {
    if (!(rate >= 0 && rate <= 1e7)) return bad(flag, "must be in 0..10000000 (0 = no limit)");
  }
  if (client_wait_ms < 0 || client_wait_ms > 60000)
    return bad("--max-client-wait-ms", "must be in 0..60000");
  c.max_client_wait = std::chrono::milliseconds(client_wait_ms);
  c.command_wait = std::chrono::milliseconds(wait_ms);
  c.delivery_timeout = std::chrono::milliseconds(delivery_ms);
  c.session_timeout = std::chrono::milliseconds(session_ms);
  if (c.advertise.empty()) {
    c.advertise = fmt::format("{}://{}:{}", c.tls_cert_file.empty() ? "http" : "https",
                              c.listen_host, c.listen_port);
  }
  if (!c.allowed_hosts.empty()) {
    // The address other instances reach this one by is one it answers to.
    std::string host, port;
    if (cluster::split_peer_url(c.advertise, host, port)) c.allowed_hosts.push_back(host);
  }
  return c;
}

}  // namespace xbanku::app
