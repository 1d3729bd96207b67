// The security settings turned into working parts (see the header).
#include "xbanku/app/security.hpp"

#include "xbanku/auth/hmac.hpp"
#include "xbanku/auth/jwt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>

namespace xbanku::app {
namespace {

namespace ssl = boost::asio::ssl;

// The whole file, byte for byte (a trailing newline is part of a secret: the minting side
// reads the same bytes).
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class JwtAuthenticator final : public api::Authenticator {
 public:
  JwtAuthenticator(auth::Verifier verifier, std::string cluster_secret)
      : verifier_(std::move(verifier)), cluster_secret_(std::move(cluster_secret)) {}

  boost::system::result<api::Caller, api::AuthRefusal> bearer(std::string_view token,
                                                              std::int64_t now_s) const override {
    auto principal = verifier_.verify(token, now_s);
    if (!principal) {
      return api::AuthRefusal{
          401, "unauthorized",
          fmt::format("the bearer token is not valid: {}", principal.error().description),
          auth::www_authenticate(principal.error())};
    }
    api::Caller caller;
    caller.principal = std::move(principal->subject);
    caller.scopes.assign(principal->scopes.begin(), principal->scopes.end());  // a set: sorted
    caller.authenticated = true;
    caller.expires_at = principal->expires_at;
    return caller;
  }

  std::optional<std::string> peer(std::string_view credential, std::string_view method,
                                  std::string_view target, std::int64_t now_ms) const override {
    auto instance =
        auth::verify_peer_credential(cluster_secret_, credential, method, target, now_ms);
    if (!instance) return std::nullopt;
    return std::move(*instance);
  }

 private:
  auth::Verifier verifier_;
  std::string cluster_secret_;
};

// TLS 1.2 or later only; no compression, no renegotiation.
constexpr auto kTlsOptions = ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                             ssl::context::single_dh_use;

boost::system::result<std::shared_ptr<ssl::context>, std::string> server_context(
    const Config& config) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(kTlsOptions, ec);
  if (!ec) ctx->use_certificate_chain_file(config.tls_cert_file, ec);
  if (ec) return fmt::format("--tls-cert: cannot use '{}': {}", config.tls_cert_file, ec.message());
  ctx->use_private_key_file(config.tls_key_file, ssl::context::pem, ec);
  if (ec) return fmt::format("--tls-key: cannot use '{}': {}", config.tls_key_file, ec.message());
  return ctx;
}

boost::system::result<std::shared_ptr<ssl::context>, std::string> client_context(
    const Config& config) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(kTlsOptions, ec);
  if (!ec) ctx->set_verify_mode(ssl::verify_peer, ec);
  if (ec) return fmt::format("TLS client context: {}", ec.message());
  if (config.tls_ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) return fmt::format("TLS client context: the system's CAs: {}", ec.message());
  } else {
    ctx->load_verify_file(config.tls_ca_file, ec);
    if (ec) return fmt::format("--tls-ca: cannot use '{}': {}", config.tls_ca_file, ec.message());
  }
  return ctx;
}

boost::system::result<auth::Verifier, std::string> make_verifier(const Config& config) {
  auth::VerifierConfig vc;
  vc.leeway = config.jwt_leeway;
  if (!config.jwt_issuer.empty()) vc.issuer = config.jwt_issuer;
  if (!config.jwt_audience.empty()) vc.audience = config.jwt_audience;
  const auto& [flag, path] =
      !config.jwt_secret_file.empty()
          ? std::pair<std::string_view, const std::string&>{"--jwt-secret-file",
                                                            config.jwt_secret_file}
      : !config.jwt_public_key_file.empty()
          ? std::pair<std::string_view, const std::string&>{"--jwt-public-key",
                                                            config.jwt_public_key_file}
          : std::pair<std::string_view, const std::string&>{"--jwt-jwks", config.jwt_jwks_file};
  auto bytes = read_file(path);
  if (!bytes) return fmt::format("{}: cannot read '{}'", flag, path);
  if (!config.jwt_secret_file.empty()) {
    vc.key = auth::Hs256Secret{std::move(*bytes)};
  } else if (!config.jwt_public_key_file.empty()) {
    vc.key = auth::PublicKeyPem{std::move(*bytes)};
  } else {
    vc.key = auth::JwksDocument{std::move(*bytes)};
  }
  auto verifier = auth::Verifier::create(vc);
  if (!verifier) return fmt::format("{}: {}", flag, verifier.error());
  return verifier;
}

}  // namespace

boost::system::result<Security, std::string> load_security(const Config& config,
                                                           std::string instance) {
  Security s;
  std::vector<std::string> parts;
  if (!config.tls_cert_file.empty()) {
    auto ctx = server_context(config);
    if (!ctx) return ctx.error();
    s.server_tls = std::move(*ctx);
    parts.push_back("TLS on the listen port");
  }
  auto client = client_context(config);
  if (!client) return client.error();
  s.client_tls = std::move(*client);

  if (config.auth == Auth::none) {
    parts.insert(parts.begin(), "no authentication (protected mode: loopback only)");
    s.describe = fmt::format("{}", fmt::join(parts, "; "));
    return s;
  }
  auto verifier = make_verifier(config);
  if (!verifier) return verifier.error();
  parts.insert(parts.begin(), "bearer JWTs: " + verifier->describe());

  auto secret = read_file(config.cluster_secret_file);
  if (!secret)
    return fmt::format("--cluster-secret-file: cannot read '{}'", config.cluster_secret_file);
  if (secret->size() < auth::kMinSecretBytes) {
    return fmt::format("--cluster-secret-file: '{}' holds {} bytes; at least {} are needed",
                       config.cluster_secret_file, secret->size(), auth::kMinSecretBytes);
  }
  if (!auth::valid_instance_name(instance)) {
    return fmt::format(
        "--instance-id: '{}' cannot name an instance in the peer credential (1..200 "
        "characters, no ';' and no control character)",
        instance);
  }
  parts.push_back("peers and member announcements authenticated by the cluster secret");
  s.sign_request = [secret = *secret, instance](std::string_view method, std::string_view target) {
    return auth::peer_credential(secret, instance, unix_ms(), method, target);
  };
  s.announcements.sign = [secret = *secret](std::string_view payload) {
    return auth::sign_announcement(secret, payload);
  };
  s.announcements.verify = [secret = *secret](std::string_view payload, std::string_view mac) {
    return auth::verify_announcement(secret, payload, mac);
  };
  s.authenticator = std::make_unique<JwtAuthenticator>(std::move(*verifier), std::move(*secret));
  s.describe = fmt::format("{}", fmt::join(parts, "; "));
  return s;
}

boost::system::result<std::string, std::string> mint_token(const Config& config) {
  auto secret = read_file(config.jwt_secret_file);
  if (!secret) {
    return {boost::system::in_place_error,
            fmt::format("--jwt-secret-file: cannot read '{}'", config.jwt_secret_file)};
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auth::Claims claims;
  claims.sub = config.token_subject;
  claims.scopes = config.token_scopes;
  claims.iat = now;
  claims.exp = now + config.token_ttl.count();
  if (!config.jwt_issuer.empty()) claims.iss = config.jwt_issuer;
  if (!config.jwt_audience.empty()) claims.aud = config.jwt_audience;
  return auth::mint_hs256(*secret, claims);
}

}  // namespace xbanku::app
