#pragma once
// Who sent a request, as the server established it (DESIGN §9), and the interface through
// which it does: bearer tokens for clients, a credential only instances hold for peers. The
// API layer decides what a caller may do (authorization); app/ supplies the Authenticator
// (built on auth/), so the API never sees a key.

#include "xbanku/domain/rules.hpp"

#include <boost/system/result.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::api {

inline constexpr std::string_view kScopeRead = "accounts:read";
inline constexpr std::string_view kScopeWrite = "accounts:write";
inline constexpr std::string_view kScopeAdmin = "admin";

struct Caller {
  std::string principal;            // the token's subject; empty without authentication
  std::vector<std::string> scopes;  // sorted
  bool authenticated = false;       // a verified bearer token (false: no authentication at all)
  bool peer = false;                // another instance of this cluster
  std::int64_t expires_at = 0;      // the token's `exp` (unix seconds); 0 = does not expire

  // Without authentication configured every caller is a local administrator: the service then
  // only listens on loopback (protected mode), as it always did.
  [[nodiscard]] static Caller local() { return Caller{}; }

  [[nodiscard]] bool has(std::string_view scope) const {
    return std::binary_search(scopes.begin(), scopes.end(), scope);
  }
  [[nodiscard]] bool admin() const { return !authenticated || has(kScopeAdmin); }
  [[nodiscard]] bool can_write() const { return admin() || has(kScopeWrite); }
  [[nodiscard]] bool can_read() const { return can_write() || has(kScopeRead); }
  // An account is its owner's: another principal sees it exactly as a missing one.
  [[nodiscard]] bool owns(const domain::Account& a) const {
    return admin() || a.owner == principal;
  }
};

// Why a request was refused before it reached an operation: 401 (no or bad token, with the
// WWW-Authenticate value of RFC 6750) or 403.
struct AuthRefusal {
  unsigned status = 401;
  std::string code;     // "unauthorized", "forbidden"
  std::string message;  // one line for the client; never echoes the token
  std::string www_authenticate;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // A bearer token (the part after "Bearer ") → its caller, or why not. Thread-safe.
  [[nodiscard]] virtual boost::system::result<Caller, AuthRefusal> bearer(
      std::string_view token, std::int64_t now_s) const = 0;
  // An X-Xbanku-Peer credential for this request → the instance that sent it; nullopt when it is
  // missing, forged, replayed for another request or too old. Thread-safe.
  [[nodiscard]] virtual std::optional<std::string> peer(std::string_view credential,
                                                        std::string_view method,
                                                        std::string_view target,
                                                        std::int64_t now_ms) const = 0;
};

}  // namespace xbanku::api
