#pragma once
// Test support for `--auth=jwt` (DESIGN §9): fresh secret files for one test, the flags that
// make an instance use them, and tokens minted from them with the service's own auth module
// (the same HS256 code `xbanku token` uses), plus the hand-made tokens a verifier must refuse.

#include "support/child_process.hpp"
#include "xbanku/auth/hmac.hpp"
#include "xbanku/auth/jwt.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace xbanku::test {

inline constexpr std::string_view kAudience = "xbanku";

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string random_secret() {
  std::random_device rd;
  std::string hex;
  for (int i = 0; i < 32; ++i) {
    static constexpr char kDigits[] = "0123456789abcdef";
    const auto byte = rd() & 0xff;
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 0xf];
  }
  return hex;  // 64 characters, the form scripts/docker-secrets.sh writes
}

struct Secrets {
  std::string dir;
  std::string jwt_file, cluster_file;
  std::string jwt, cluster;

  // A new pair of secrets in `dir`.
  static Secrets create(const std::string& dir) {
    std::filesystem::create_directories(dir);
    Secrets s{dir, dir + "/jwt.secret", dir + "/cluster.secret", random_secret(), random_secret()};
    std::ofstream(s.jwt_file, std::ios::binary) << s.jwt;
    std::ofstream(s.cluster_file, std::ios::binary) << s.cluster;
    std::filesystem::permissions(
        s.jwt_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return s;
  }

  // The flags of an instance that takes bearer tokens from this secret (audience "xbanku").
  [[nodiscard]] std::vector<std::string> flags() const {
    return {"--auth=jwt",           "--jwt-secret-file",     jwt_file,    "--jwt-audience",
            std::string(kAudience), "--cluster-secret-file", cluster_file};
  }

  // A valid token for `sub` with `scopes`, for `ttl` from now.
  [[nodiscard]] std::string token(const std::string& sub, std::vector<std::string> scopes,
                                  std::chrono::seconds ttl = std::chrono::hours(1),
                                  std::string audience = std::string(kAudience),
                                  const std::string* secret = nullptr) const {
    auth::Claims c;
    c.sub = sub;
    c.scopes = std::move(scopes);
    c.iat = unix_now();
    c.exp = c.iat + ttl.count();
    if (ttl.count() < 0) {  // expired: issued before it ended
      c.exp = c.iat + ttl.count();
      c.iat = c.exp - 3600;
    }
    c.aud = std::move(audience);
    auto token = auth::mint_hs256(secret ? *secret : jwt, c);
    if (!token) throw std::runtime_error("cannot mint a test token: " + token.error());
    return *token;
  }

  // What another instance of the cluster would send as X-Xbanku-Peer for this request.
  [[nodiscard]] std::string peer_credential(const std::string& instance, const std::string& method,
                                            const std::string& target) const {
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return auth::peer_credential(cluster, instance, now_ms, method, target);
  }
};

// {"alg":"none"} over the payload of a valid token, with an empty signature (RFC 8725 §2.1).
inline std::string alg_none(const std::string& valid_token) {
  const auto first = valid_token.find('.');
  const auto second = valid_token.find('.', first + 1);
  return auth::base64url_encode(std::string_view(R"({"alg":"none","typ":"JWT"})")) + "." +
         valid_token.substr(first + 1, second - first - 1) + ".";
}

inline std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

}  // namespace xbanku::test
