#pragma once
// What `--auth`, `--cluster-secret-file` and `--tls-*` become at start-up (DESIGN §9): the
// Authenticator the API asks about every request, the signer and MAC of the cluster secret,
// and the TLS contexts. Built once from the configuration, read-only afterwards. Key material
// stays here and in auth/: the API sees callers, peers see signed requests.

#include "xbanku/api/caller.hpp"
#include "xbanku/app/config.hpp"
#include "xbanku/app/membership.hpp"
#include "xbanku/cluster/peer_client.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/system/result.hpp>

#include <memory>
#include <string>

namespace xbanku::app {

struct Security {
  // Null without authentication (protected mode).
  std::unique_ptr<api::Authenticator> authenticator;
  // HTTPS/WSS on the listen port; null without --tls-cert.
  std::shared_ptr<boost::asio::ssl::context> server_tls;
  // Verifies https:// peers (--tls-ca, else the system's CAs).
  std::shared_ptr<boost::asio::ssl::context> client_tls;
  // Signs requests to peers and member announcements; both empty without a cluster secret.
  cluster::PeerSigner sign_request;
  AnnouncementAuth announcements;
  std::string describe;  // one line for the start-up log; names no secret
};

// Reads the key files and builds everything, or one line naming the setting that is wrong.
// `instance` is this instance's name, as the peer credential carries it.
[[nodiscard]] boost::system::result<Security, std::string> load_security(const Config& config,
                                                                         std::string instance);

// `xbanku token`: a token from --jwt-secret-file for config.token_subject / token_scopes,
// valid for token_ttl from now (with --jwt-issuer / --jwt-audience when set), or why not.
[[nodiscard]] boost::system::result<std::string, std::string> mint_token(const Config& config);

}  // namespace xbanku::app
