// JWT verification and HS256 minting on OpenSSL 3 directly.
//
// Why not libjwt: Debian 12 ships libjwt 1.10.2 (1.10.2-1+deb12u1), and its jwt_decode(&jwt,
// token, key, key_len) — read at tag v1.10.2 and in the package's jwt.h — falls short here:
//  - The token picks the algorithm. jwt_verify_head() sets the algorithm from the token's own
//    "alg" header (jwt_str_alg, compared with strcasecmp, so "hs256" counts too) and
//    jwt_verify() dispatches on it; the caller cannot pin one. Given an RSA public key's PEM as
//    `key`, a token saying "HS256" is checked as an HMAC keyed with that PEM text, so anyone
//    holding the public key mints valid tokens (algorithm confusion, RFC 8725 §2.1).
//  - No JWK or JWKS support at all (it arrived in libjwt 3.0), so no `kid` key selection.
//  - No claim checks: exp, nbf, iat, iss and aud are not looked at (the jwt_valid API came in
//    1.12), and jwt_get_grant_int() reads a fractional NumericDate as 0.
//  - Lenient parsing: header and payload go through json_loads(…, 0, …), which keeps the last
//    of two duplicate members (JSON_REJECT_DUPLICATES is only used on grants the caller
//    adds); the base64url decoder accepts '+', '/' and '=' and silently stops
//    at the first character outside its alphabet, so a truncated or re-spelled segment still
//    decodes; "crit" is ignored; typ must be "JWT", so RFC 9068's "at+jwt" is refused; the
//    token is split at its first two dots, so a JWE or a 4-part string is not recognised.
//  - No size bound: each segment is decoded through an alloca(strlen + 4) buffer on the
//    calling thread's stack, for whatever length the client sent.
//  - The PEM key is parsed again (PEM_read_bio_PUBKEY) on every jwt_decode.
//  - Upstream compares HMACs with strcmp (CVE-2024-25189); Debian's +deb12u1 patches that.
// What is needed here is small (three algorithms, compact JWS, JWK import), so it is written
// against libcrypto, with the algorithm bound to the key at load time (keys.hpp).

#include "xbanku/auth/jwt.hpp"

#include "keys.hpp"
#include "xbanku/auth/hmac.hpp"
#include "xbanku/domain/events.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/throw_exception.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace xbanku::auth {

namespace detail {
struct ClaimRules {
  std::optional<std::string> issuer;
  std::optional<std::string> audience;
  double leeway = 0;  // seconds
};
}  // namespace detail

struct Verifier::State {
  detail::KeySet keys;
  detail::ClaimRules rules;
};

namespace {

namespace json = boost::json;
using detail::Alg;
using Result = boost::system::result<Principal, TokenError>;

constexpr std::int64_t kMaxLeewaySeconds = 300;
// NumericDates outside 1970..9999 are refused: nothing legitimate needs them, and the bound
// keeps every comparison and the conversion to int64 exact.
constexpr double kMaxNumericDate = 253402300799.0;  // 9999-12-31T23:59:59Z
constexpr std::size_t kEs256SignatureBytes = 64;
constexpr std::size_t kMaxDescriptionChars = 200;
constexpr std::string_view kRealm = "xbanku";

TokenError refuse(TokenErrc code, std::string_view description) {
  return TokenError{code, std::string(description)};
}

std::string_view sv(const json::string& s) {
  return {s.data(), s.size()};
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// RFC 7515 §4.1.9 recommends dropping "application/" from typ values, and says a recipient
// should treat the two spellings alike; media types compare case-insensitively.
bool accepted_typ(std::string_view typ) noexcept {
  constexpr std::string_view kPrefix = "application/";
  if (typ.size() > kPrefix.size() && iequals(typ.substr(0, kPrefix.size()), kPrefix)) {
    typ.remove_prefix(kPrefix.size());
  }
  return iequals(typ, "JWT") || iequals(typ, "at+jwt");
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) — no space, '"' or '\', so a
// scope can be quoted in WWW-Authenticate and split on spaces as-is.
bool valid_scope_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
  });
}

// Adds the space-separated scopes in `s`; false if one is not a scope-token.
bool add_scopes(std::string_view s, std::set<std::string, std::less<>>& out) {
  while (!s.empty()) {
    const auto space = s.find(' ');
    const std::string_view token = s.substr(0, space);
    // Tolerate repeated spaces: a sloppy issuer, not an ambiguity.
    if (!token.empty()) {
      if (!valid_scope_token(token)) return false;
      out.emplace(token);
    }
    if (space == std::string_view::npos) break;
    s.remove_prefix(space + 1);
  }
  return true;
}

// A NumericDate (RFC 7519 §2): a JSON number of seconds, integer or not, within range.
std::optional<double> numeric_date(const json::value& v) noexcept {
  double d = 0;
  if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else if (v.is_double()) {
    d = v.get_double();
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(d) || d < 0 || d > kMaxNumericDate) return std::nullopt;
  return d;
}

// The segments of a compact JWS, before any decoding.
struct Segments {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // header '.' payload: what the signature covers
};

boost::system::result<Segments, TokenError> split(std::string_view token) {
  if (token.empty()) return refuse(TokenErrc::malformed, "the token is empty");
  if (token.size() > kMaxTokenBytes) {
    return refuse(TokenErrc::malformed, "the token is longer than 8 KiB");
  }
  if (token.front() == '{') {
    return refuse(TokenErrc::malformed, "JWS JSON serialization is not accepted");
  }
  const auto parts = std::count(token.begin(), token.end(), '.') + 1;
  if (parts == 5) return refuse(TokenErrc::malformed, "encrypted tokens (JWE) are not accepted");
  if (parts != 3) {
    return refuse(TokenErrc::malformed, "the token is not header.payload.signature");
  }
  const auto dot1 = token.find('.');
  const auto dot2 = token.find('.', dot1 + 1);
  return Segments{token.substr(0, dot1), token.substr(dot1 + 1, dot2 - dot1 - 1),
                  token.substr(dot2 + 1), token.substr(0, dot2)};
}

// A segment's bytes, or malformed if it is not canonical base64url. `what` names the segment.
boost::system::result<std::string, TokenError> decode_segment(std::string_view segment,
                                                              std::string_view what) {
  auto bytes = base64url_decode(segment);
  if (!bytes) {
    return refuse(TokenErrc::malformed, fmt::format("the token {} is not base64url", what));
  }
  return std::move(*bytes);
}

// A decoded segment's JSON object: refused if it is not JSON, not an object, or names a member
// twice. `what` is "header" or "payload".
boost::system::result<json::object, TokenError> parse_object(std::string_view bytes,
                                                             std::string_view what) {
  auto value = detail::parse_strict_json(bytes);
  if (!value && value.error() == detail::JsonFault::duplicate_key) {
    return refuse(TokenErrc::malformed, fmt::format("the token {} names a member twice", what));
  }
  if (!value || !value->is_object()) {
    return refuse(TokenErrc::malformed, fmt::format("the token {} is not a JSON object", what));
  }
  return std::move(value->get_object());
}

// The key this token must verify with, after the header's checks. The algorithm is the
// key's; the header only has to agree with it.
boost::system::result<const detail::Key*, TokenError> select_key(const json::object& header,
                                                                 const detail::KeySet& set) {
  const json::value* alg = header.if_contains("alg");
  if (alg == nullptr || !alg->is_string()) {
    return refuse(TokenErrc::malformed, "the token header has no alg");
  }
  // Exact, case-sensitive comparison (RFC 7515 §4.1.1): "none", "None", "hs256" all fail here.
  const auto is_key_alg = [&](const detail::Key& k) {
    return detail::alg_name(k.alg) == sv(alg->get_string());
  };
  if (std::none_of(set.keys.begin(), set.keys.end(), is_key_alg)) {
    return refuse(TokenErrc::unsupported_algorithm,
                  "the token's algorithm is not the one its key is for");
  }
  // RFC 7515 §4.1.11: an extension named in crit must be understood; this service knows none.
  if (header.contains("crit")) {
    return refuse(TokenErrc::malformed, "the token header has crit extensions (not supported)");
  }
  if (const json::value* typ = header.if_contains("typ")) {
    if (!typ->is_string() || !accepted_typ(sv(typ->get_string()))) {
      return refuse(TokenErrc::malformed, "the token typ is not JWT or at+jwt");
    }
  }
  const json::value* kid = header.if_contains("kid");
  if (kid != nullptr && !kid->is_string()) {
    return refuse(TokenErrc::malformed, "the token kid is not a string");
  }
  // jku, x5u, jwk and x5c are never followed or trusted: keys come from the configuration.
  const detail::Key* key = nullptr;
  if (!set.from_jwks) {
    key = &set.keys.front();
  } else if (kid != nullptr) {
    const auto it = std::find_if(set.keys.begin(), set.keys.end(), [&](const detail::Key& k) {
      return k.kid && *k.kid == sv(kid->get_string());
    });
    if (it == set.keys.end()) return refuse(TokenErrc::unknown_key, "no key has the token's kid");
    key = &*it;
  } else if (set.keys.size() == 1) {
    key = &set.keys.front();  // RFC 7515: kid is optional; one key leaves no choice to make
  } else {
    return refuse(TokenErrc::unknown_key, "the token has no kid and the key set has several keys");
  }
  if (!is_key_alg(*key)) {
    return refuse(TokenErrc::unsupported_algorithm,
                  "the token's algorithm is not the one its key is for");
  }
  return key;
}

bool verify_hs256(const detail::Key& key, std::string_view input, std::string_view sig) {
  const Digest mac = hmac_sha256(key.secret, input);
  return sig.size() == mac.size() && CRYPTO_memcmp(mac.data(), sig.data(), mac.size()) == 0;
}

// SHA-256 then the key's verification: for an RSA key OpenSSL's default padding, PKCS #1 v1.5,
// which is what RS256 is (RFC 7518 §3.3); for EC, ECDSA over the DER signature.
bool verify_digest(EVP_PKEY* pkey, std::string_view input, const unsigned char* sig,
                   std::size_t sig_len) {
  const detail::MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
         EVP_DigestVerify(ctx.get(), sig, sig_len,
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

// JWS carries ES256 signatures as raw r || s, 32 bytes each (RFC 7518 §3.4); OpenSSL verifies
// DER. Anything but 64 bytes — a DER signature included — is refused, not guessed at.
bool verify_es256(const detail::Key& key, std::string_view input, std::string_view sig) {
  if (sig.size() != kEs256SignatureBytes) return false;
  const auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
  detail::BnPtr r(BN_bin2bn(raw, 32, nullptr));
  detail::BnPtr s(BN_bin2bn(raw + 32, 32, nullptr));
  const detail::EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  if (!r || !s || !ecdsa || ECDSA_SIG_set0(ecdsa.get(), r.get(), s.get()) != 1) return false;
  (void)r.release();  // owned by `ecdsa` now
  (void)s.release();
  const int der_len = i2d_ECDSA_SIG(ecdsa.get(), nullptr);
  if (der_len <= 0) return false;
  std::vector<unsigned char> der(static_cast<std::size_t>(der_len));
  unsigned char* out = der.data();
  if (i2d_ECDSA_SIG(ecdsa.get(), &out) != der_len) return false;
  return verify_digest(key.pkey.get(), input, der.data(), der.size());
}

bool verify_signature(const detail::Key& key, std::string_view input, std::string_view sig) {
  switch (key.alg) {
    case Alg::hs256: return verify_hs256(key, input, sig);
    case Alg::rs256:
      return verify_digest(key.pkey.get(), input,
                           reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
    case Alg::es256: return verify_es256(key, input, sig);
  }
  return false;
}

// The claims of a payload whose signature has verified.
Result check_claims(const json::object& claims, const detail::ClaimRules& rules, double now) {
  Principal p;

  const json::value* exp = claims.if_contains("exp");
  if (exp == nullptr) return refuse(TokenErrc::missing_claim, "the token has no exp claim");
  const auto exp_at = numeric_date(*exp);
  if (!exp_at) return refuse(TokenErrc::malformed, "the token exp is not a NumericDate");
  // RFC 7519 §4.1.4: valid only while now is before exp.
  if (now >= *exp_at + rules.leeway) return refuse(TokenErrc::expired, "the token has expired");
  p.expires_at = static_cast<std::int64_t>(std::floor(*exp_at));

  if (const json::value* nbf = claims.if_contains("nbf")) {
    const auto nbf_at = numeric_date(*nbf);
    if (!nbf_at) return refuse(TokenErrc::malformed, "the token nbf is not a NumericDate");
    if (now + rules.leeway < *nbf_at) {
      return refuse(TokenErrc::not_yet_valid, "the token is not valid yet (nbf)");
    }
  }
  if (const json::value* iat = claims.if_contains("iat")) {
    const auto iat_at = numeric_date(*iat);
    if (!iat_at) return refuse(TokenErrc::malformed, "the token iat is not a NumericDate");
    if (*iat_at > now + rules.leeway) {
      return refuse(TokenErrc::not_yet_valid, "the token was issued in the future (iat)");
    }
  }

  const json::value* iss = claims.if_contains("iss");
  if (iss != nullptr && !iss->is_string()) {
    return refuse(TokenErrc::malformed, "the token iss is not a string");
  }
  if (rules.issuer) {
    if (iss == nullptr) return refuse(TokenErrc::missing_claim, "the token has no iss claim");
    if (sv(iss->get_string()) != *rules.issuer) {
      return refuse(TokenErrc::wrong_issuer, "the token's issuer is not trusted here");
    }
  }

  if (const json::value* aud = claims.if_contains("aud")) {
    // RFC 7519 §4.1.3: one string, or an array of strings.
    std::vector<std::string_view> audiences;
    if (aud->is_string()) {
      audiences.push_back(sv(aud->get_string()));
    } else if (aud->is_array()) {
      for (const json::value& a : aud->get_array()) {
        if (!a.is_string()) return refuse(TokenErrc::malformed, "the token aud is not strings");
        audiences.push_back(sv(a.get_string()));
      }
    } else {
      return refuse(TokenErrc::malformed, "the token aud is not strings");
    }
    if (!rules.audience) {
      return refuse(TokenErrc::wrong_audience,
                    "the token is for an audience and this service has none configured");
    }
    if (std::find(audiences.begin(), audiences.end(), *rules.audience) == audiences.end()) {
      return refuse(TokenErrc::wrong_audience, "the token is not for this service (aud)");
    }
  } else if (rules.audience) {
    return refuse(TokenErrc::missing_claim, "the token has no aud claim");
  }

  const json::value* sub = claims.if_contains("sub");
  if (sub == nullptr) return refuse(TokenErrc::missing_claim, "the token has no sub claim");
  if (!sub->is_string()) return refuse(TokenErrc::malformed, "the token sub is not a string");
  // The same rule the event codec applies to a Principal, so every subject accepted here can
  // be written to the log.
  if (const auto why = domain::check_text(sv(sub->get_string()), 1, domain::kMaxPrincipalChars)) {
    switch (*why) {
      case domain::TextError::length:
        return refuse(TokenErrc::malformed,
                      "the token sub is empty, over 200 characters or not UTF-8");
      case domain::TextError::control:
        return refuse(TokenErrc::malformed, "the token sub contains a control character");
      case domain::TextError::bidi_control:
        return refuse(TokenErrc::malformed, "the token sub contains a bidi control character");
    }
  }
  p.subject = std::string(sv(sub->get_string()));

  // `scope`: one space-separated string (RFC 8693 §4.2). `scp`: an array of scopes, or a
  // space-separated string as some issuers write it. Both may be present: the union counts.
  if (const json::value* scope = claims.if_contains("scope")) {
    if (!scope->is_string() || !add_scopes(sv(scope->get_string()), p.scopes)) {
      return refuse(TokenErrc::malformed, "the token scope is not a list of scope-tokens");
    }
  }
  if (const json::value* scp = claims.if_contains("scp")) {
    bool ok = true;
    if (scp->is_string()) {
      ok = add_scopes(sv(scp->get_string()), p.scopes);
    } else if (scp->is_array()) {
      for (const json::value& s : scp->get_array()) {
        ok = ok && s.is_string() && valid_scope_token(sv(s.get_string()));
        if (ok) p.scopes.emplace(sv(s.get_string()));
      }
    } else {
      ok = false;
    }
    if (!ok) return refuse(TokenErrc::malformed, "the token scp is not a list of scope-tokens");
  }
  return p;
}

// A quoted-string (RFC 9110 §5.6.4) of printable ASCII: '"' and '\' escaped, any other byte
// outside 0x20..0x7e replaced by '?', at most kMaxDescriptionChars characters.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMaxDescriptionChars; ++i) {
    const char c = s[i];
    if (c < 0x20 || c > 0x7e) {
      out += '?';
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string_view to_string(TokenErrc code) noexcept {
  switch (code) {
    case TokenErrc::malformed: return "malformed";
    case TokenErrc::unsupported_algorithm: return "unsupported_algorithm";
    case TokenErrc::bad_signature: return "bad_signature";
    case TokenErrc::expired: return "expired";
    case TokenErrc::not_yet_valid: return "not_yet_valid";
    case TokenErrc::wrong_issuer: return "wrong_issuer";
    case TokenErrc::wrong_audience: return "wrong_audience";
    case TokenErrc::missing_claim: return "missing_claim";
    case TokenErrc::unknown_key: return "unknown_key";
  }
  return "malformed";
}

void throw_exception_from_error(const TokenError& error, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(fmt::format("token refused ({}): {}",
                                                        to_string(error.code), error.description)),
                         loc);
}

boost::system::result<Verifier, std::string> Verifier::create(const VerifierConfig& config) {
  using R = boost::system::result<Verifier, std::string>;
  if (config.leeway.count() < 0 || config.leeway.count() > kMaxLeewaySeconds) {
    return R(boost::system::in_place_error,
             fmt::format("the token leeway must be 0..{} seconds", kMaxLeewaySeconds));
  }
  auto keys = detail::load_keys(config);
  if (!keys) return R(boost::system::in_place_error, std::move(keys.error()));
  auto state = std::make_shared<State>();
  state->keys = std::move(*keys);
  state->rules = {config.issuer, config.audience, static_cast<double>(config.leeway.count())};
  return Verifier(std::move(state));
}

boost::system::result<Principal, TokenError> Verifier::verify(std::string_view token,
                                                              std::int64_t now_unix) const {
  detail::ErrorQueueGuard guard;
  const auto segments = split(token);
  if (!segments) return segments.error();
  const auto header_bytes = decode_segment(segments->header, "header");
  if (!header_bytes) return header_bytes.error();
  const auto header = parse_object(*header_bytes, "header");
  if (!header) return header.error();
  const auto key = select_key(*header, state_->keys);
  if (!key) return key.error();

  // Both remaining segments must be canonical base64url before any cryptography runs.
  const auto payload = decode_segment(segments->payload, "payload");
  if (!payload) return payload.error();
  const auto signature = decode_segment(segments->signature, "signature");
  if (!signature) return signature.error();
  if (!verify_signature(**key, segments->signing_input, *signature)) {
    return refuse(TokenErrc::bad_signature, "the token signature does not verify");
  }
  // Only a payload its key's holder signed is parsed.
  const auto claims = parse_object(*payload, "payload");
  if (!claims) return claims.error();
  return check_claims(*claims, state_->rules, static_cast<double>(now_unix));
}

boost::system::result<Principal, TokenError> Verifier::verify(std::string_view token) const {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return verify(token, std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

std::string Verifier::describe() const {
  const State& s = *state_;
  std::string out;
  if (!s.keys.from_jwks) {
    const detail::Key& key = s.keys.keys.front();
    switch (key.alg) {
      case Alg::hs256:
        out = fmt::format("HS256 with a {}-byte shared secret", key.secret.size());
        break;
      case Alg::rs256:
        out = fmt::format("RS256 with a {}-bit RSA public key", EVP_PKEY_get_bits(key.pkey.get()));
        break;
      case Alg::es256: out = "ES256 with a P-256 public key"; break;
    }
  } else {
    out = "JWKS:";
    for (const detail::Key& key : s.keys.keys) {
      out += fmt::format("{} {} {}", &key == &s.keys.keys.front() ? "" : ",",
                         key.kid ? "kid " + *key.kid : "no kid", detail::alg_name(key.alg));
    }
    if (!s.keys.skipped.empty()) {
      out +=
          fmt::format(" ({} skipped: {})", s.keys.skipped.size(), fmt::join(s.keys.skipped, "; "));
    }
  }
  out +=
      fmt::format("; issuer {}; audience {}; leeway {} s", s.rules.issuer ? *s.rules.issuer : "any",
                  s.rules.audience ? *s.rules.audience : "none", s.rules.leeway);
  return out;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  const auto is_ows = [](char c) { return c == ' ' || c == '\t'; };
  while (!authorization.empty() && is_ows(authorization.front())) authorization.remove_prefix(1);
  while (!authorization.empty() && is_ows(authorization.back())) authorization.remove_suffix(1);
  constexpr std::string_view kScheme = "Bearer";
  if (authorization.size() <= kScheme.size() ||
      !iequals(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  const auto is_char = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
  };
  std::size_t i = 0;
  while (i < token.size() && is_char(token[i])) ++i;
  if (i == 0) return std::nullopt;
  while (i < token.size() && token[i] == '=') ++i;
  if (i != token.size()) return std::nullopt;
  return token;
}

std::string_view rfc6750_error(TokenErrc) noexcept {
  // RFC 6750 §3.1: every way a token can be bad is invalid_token; the detail goes in
  // error_description.
  return "invalid_token";
}

std::string www_authenticate(const TokenError& error) {
  return fmt::format("Bearer realm={}, error=\"{}\", error_description={}", quoted(kRealm),
                     rfc6750_error(error.code), quoted(error.description));
}

std::string www_authenticate_missing() {
  return fmt::format("Bearer realm={}", quoted(kRealm));
}

std::string www_authenticate_insufficient_scope(std::string_view scope) {
  return fmt::format("Bearer realm={}, error=\"insufficient_scope\", scope={}", quoted(kRealm),
                     quoted(scope));
}

boost::system::result<std::string, std::string> mint_hs256(std::string_view secret,
                                                           const Claims& claims) {
  using R = boost::system::result<std::string, std::string>;
  const auto fail = [](std::string why) { return R(boost::system::in_place_error, why); };
  if (secret.size() < kMinSecretBytes) {
    return fail(fmt::format("the HS256 secret must be at least {} bytes", kMinSecretBytes));
  }
  if (domain::check_text(claims.sub, 1, domain::kMaxPrincipalChars)) {
    return fail("sub must be 1..200 characters of UTF-8 without control characters");
  }
  for (const std::string& scope : claims.scopes) {
    if (!valid_scope_token(scope)) {
      return fail("a scope must be printable ASCII without spaces, '\"' or '\\'");
    }
  }
  if (claims.iat < 0 || claims.exp <= claims.iat ||
      static_cast<double>(claims.exp) > kMaxNumericDate) {
    return fail("exp must be after iat (both Unix seconds, from 1970 to 9999)");
  }
  json::object payload;
  if (claims.iss) payload["iss"] = *claims.iss;
  payload["sub"] = claims.sub;
  if (claims.aud) payload["aud"] = *claims.aud;
  payload["iat"] = claims.iat;
  payload["exp"] = claims.exp;
  if (!claims.scopes.empty()) payload["scope"] = fmt::format("{}", fmt::join(claims.scopes, " "));

  std::string token = base64url_encode(std::string_view(R"({"alg":"HS256","typ":"JWT"})"));
  token += '.';
  token += base64url_encode(json::serialize(payload));
  const Digest mac = hmac_sha256(secret, token);
  token += '.';
  token += base64url_encode(mac);
  return R(boost::system::in_place_value, std::move(token));
}

}  // namespace xbanku::auth
