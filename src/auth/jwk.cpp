// Key loading: an HS256 secret, a PEM public key or a JWK Set (RFC 7517, RFC 7518 §6) become
// detail::Keys, each bound to the one algorithm it verifies.
//
// Every EVP_PKEY made here is provider-native (OpenSSL 3's decoders and EVP_PKEY_fromdata),
// never a legacy key: OpenSSL 3.0 may lazily export a legacy key to a provider inside the
// first operation that uses it, which is a write, whereas a provider-native key is only read
// by EVP_DigestVerify*, so one key can serve many threads at once.
#include "keys.hpp"
#include "xbanku/auth/hmac.hpp"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <algorithm>
#include <limits>

namespace xbanku::auth::detail {
namespace {

namespace json = boost::json;
using KeyResult = boost::system::result<Key, std::string>;

// RFC 7518 §3.3: RS256 keys of 2048 bits or more. The upper bound keeps one verification
// cheap for a key someone else publishes.
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr const char* kP256 = "prime256v1";  // OpenSSL's name for NIST P-256 (secp256r1)

KeyResult refuse(std::string why) {
  return {boost::system::in_place_error, std::move(why)};
}

// The accepted key types and what they verify: RSA → RS256, EC on P-256 → ES256, anything else
// (RSA-PSS, other curves, Ed25519, DSA, DH) is refused. `what` names the key in messages.
KeyResult classify(PkeyPtr pkey, std::string_view what) {
  Key key;
  if (EVP_PKEY_is_a(pkey.get(), "RSA") == 1) {
    const int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      return refuse(fmt::format("{}: an RSA key of {} bits (RS256 needs {}..{})", what, bits,
                                kMinRsaBits, kMaxRsaBits));
    }
    key.alg = Alg::rs256;
  } else if (EVP_PKEY_is_a(pkey.get(), "EC") == 1) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey.get(), group, sizeof group, &len) != 1 ||
        std::string_view(group, len) != kP256) {
      return refuse(fmt::format("{}: an EC key not on P-256 (ES256 needs P-256)", what));
    }
    key.alg = Alg::es256;
  } else {
    return refuse(fmt::format("{}: a key type other than RSA or EC P-256", what));
  }
  // Structural checks OpenSSL does not make on import (an RSA exponent of 1, an even
  // modulus; for EC the point is on the curve).
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
    return refuse(fmt::format("{}: the public key fails OpenSSL's consistency check", what));
  }
  key.pkey = std::move(pkey);
  return key;
}

KeyResult key_from_pem(std::string_view pem) {
  if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return refuse("the public key file is too large");
  }
  const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return refuse("the public key could not be read (out of memory)");
  // A callback that has no passphrase: with none, OpenSSL would prompt on the terminal if the
  // file held an encrypted key.
  const auto no_passphrase = [](char*, int, int, void*) { return 0; };
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) {
    return refuse(
        "the public key file holds no PEM public key (\"-----BEGIN PUBLIC KEY-----\"; private "
        "keys and certificates are not accepted)");
  }
  return classify(std::move(pkey), "the public key file");
}

// --- JWK Set ----------------------------------------------------------------------------------

// A member that must be a string when present: nullopt when absent, an error when not a string.
struct Member {
  const json::string* value = nullptr;
  bool wrong_type = false;
};
Member string_member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return {};
  if (!v->is_string()) return {nullptr, true};
  return {&v->get_string(), false};
}

std::string_view sv(const json::string& s) {
  return {s.data(), s.size()};
}

PkeyPtr pkey_from_params(const char* type, const OSSL_PARAM* params) {
  const PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      // (OpenSSL 3.0 takes the params non-const; it does not write them.)
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
          1) {
    EVP_PKEY_free(raw);
    return nullptr;
  }
  return PkeyPtr(raw);
}

PkeyPtr rsa_from_jwk(std::string_view n_bytes, std::string_view e_bytes) {
  const auto bn = [](std::string_view bytes) {
    return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                           static_cast<int>(bytes.size()), nullptr));
  };
  const BnPtr n = bn(n_bytes);
  const BnPtr e = bn(e_bytes);
  const ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  const ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return nullptr;
  return pkey_from_params("RSA", params.get());
}

PkeyPtr p256_from_jwk(std::string_view x, std::string_view y) {
  // The uncompressed SEC 1 point: 0x04 || x || y.
  std::string point(1, '\x04');
  point.append(x).append(y);
  const ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kP256, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return nullptr;
  }
  const ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return nullptr;
  return pkey_from_params("EC", params.get());
}

// What one JWK turned out to be: a key, one this service cannot use (skipped, RFC 7517 §5),
// or a broken one (the whole set is refused: a key that claims to be usable but is not is a
// publishing mistake, and skipping it would hide the mistake until tokens fail).
struct Jwk {
  std::optional<Key> key;
  std::string skipped;
  std::string broken;
};

Jwk key_from_jwk(const json::value& v) {
  const auto skip = [](std::string why) { return Jwk{std::nullopt, std::move(why), {}}; };
  const auto broken = [](std::string why) { return Jwk{std::nullopt, {}, std::move(why)}; };
  if (!v.is_object()) return broken("the JWKS has a key that is not a JSON object");
  const auto& o = v.get_object();
  const Member kty = string_member(o, "kty");
  const Member kid = string_member(o, "kid");
  const Member alg = string_member(o, "alg");
  const Member use = string_member(o, "use");
  if (kty.wrong_type || !kty.value || kid.wrong_type || alg.wrong_type || use.wrong_type) {
    return broken("the JWKS has a key whose kty, kid, alg or use is missing or not a string");
  }
  const std::string name = kid.value ? fmt::format("key \"{}\"", sv(*kid.value)) : "a key";

  Alg key_alg = Alg::rs256;
  if (*kty.value == "RSA") {
    key_alg = Alg::rs256;
  } else if (*kty.value == "EC") {
    const Member crv = string_member(o, "crv");
    if (!crv.value || *crv.value != "P-256") return skip(fmt::format("{}: not on P-256", name));
    key_alg = Alg::es256;
  } else {
    return skip(fmt::format("{}: kty {}", name, sv(*kty.value)));
  }
  if (alg.value && *alg.value != alg_name(key_alg)) {
    return skip(fmt::format("{}: alg {}", name, sv(*alg.value)));
  }
  if (use.value && *use.value != "sig")
    return skip(fmt::format("{}: use {}", name, sv(*use.value)));
  if (const json::value* ops = o.if_contains("key_ops")) {
    const auto is_verify = [](const json::value& op) {
      return op.is_string() && op.get_string() == "verify";
    };
    if (!ops->is_array() ||
        std::none_of(ops->get_array().begin(), ops->get_array().end(), is_verify)) {
      return skip(fmt::format("{}: key_ops without verify", name));
    }
  }

  // The key's material: from here on a problem is a broken key, not an unsupported one.
  const auto bytes = [&](std::string_view member) -> std::optional<std::string> {
    const Member m = string_member(o, member);
    if (!m.value) return std::nullopt;
    return base64url_decode(sv(*m.value));
  };
  PkeyPtr pkey;
  if (key_alg == Alg::rs256) {
    const auto n = bytes("n");
    const auto e = bytes("e");
    if (!n || !e || n->empty() || e->empty() || n->size() > kMaxRsaBits / 8 + 1 || e->size() > 8) {
      return broken(fmt::format("the JWKS's {} has no valid base64url n and e", name));
    }
    pkey = rsa_from_jwk(*n, *e);
  } else {
    const auto x = bytes("x");
    const auto y = bytes("y");
    // RFC 7518 §6.2.1.2-3: full-length coordinates, 32 bytes each on P-256.
    if (!x || !y || x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) {
      return broken(fmt::format("the JWKS's {} has no valid 32-byte base64url x and y", name));
    }
    pkey = p256_from_jwk(*x, *y);
  }
  if (!pkey) return broken(fmt::format("the JWKS's {} is not a valid public key", name));
  // A short RSA key is a value out of the supported range (RFC 7517 §5), not a broken one.
  if (key_alg == Alg::rs256 && EVP_PKEY_get_bits(pkey.get()) < kMinRsaBits) {
    return skip(fmt::format("{}: RSA under {} bits", name, kMinRsaBits));
  }
  KeyResult key = classify(std::move(pkey), fmt::format("the JWKS's {}", name));
  if (!key) return broken(std::move(key.error()));
  if (kid.value) key->kid = std::string(sv(*kid.value));
  return Jwk{std::move(*key), {}, {}};
}

boost::system::result<KeySet, std::string> keys_from_jwks(std::string_view text) {
  using Result = boost::system::result<KeySet, std::string>;
  const auto fail = [](std::string why) { return Result(boost::system::in_place_error, why); };
  const auto doc = parse_strict_json(text);
  if (!doc) {
    return fail(doc.error() == JsonFault::duplicate_key ? "the JWKS names a member twice"
                                                        : "the JWKS is not valid JSON");
  }
  const json::value* keys = doc->is_object() ? doc->get_object().if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) return fail("the JWKS has no \"keys\" array");

  KeySet set;
  set.from_jwks = true;
  for (const json::value& value : keys->get_array()) {
    Jwk jwk = key_from_jwk(value);
    if (!jwk.broken.empty()) return fail(std::move(jwk.broken));
    if (!jwk.key) {
      set.skipped.push_back(std::move(jwk.skipped));
      continue;
    }
    std::optional<Key>& key = jwk.key;
    const bool taken = key->kid && std::any_of(set.keys.begin(), set.keys.end(),
                                               [&](const Key& k) { return k.kid == key->kid; });
    if (taken) return fail(fmt::format("the JWKS has two usable keys with kid \"{}\"", *key->kid));
    set.keys.push_back(std::move(*key));
  }
  // Keys are chosen by kid, and a token without one only gets the key of a one-key set: among
  // several keys, one without a kid could never be chosen. Say so instead of carrying it.
  if (set.keys.size() > 1) {
    const auto no_kid = std::stable_partition(set.keys.begin(), set.keys.end(),
                                              [](const Key& k) { return k.kid.has_value(); });
    for (auto it = no_kid; it != set.keys.end(); ++it) {
      set.skipped.push_back(
          fmt::format("an {} key without kid among several keys", alg_name(it->alg)));
    }
    set.keys.erase(no_kid, set.keys.end());
  }
  if (set.keys.empty()) {
    return fail(set.skipped.empty() ? std::string("the JWKS has no keys")
                                    : fmt::format("the JWKS has no usable key (skipped: {})",
                                                  fmt::join(set.skipped, "; ")));
  }
  return set;
}

}  // namespace

std::string_view alg_name(Alg alg) noexcept {
  switch (alg) {
    case Alg::hs256: return "HS256";
    case Alg::rs256: return "RS256";
    case Alg::es256: return "ES256";
  }
  return "HS256";
}

boost::system::result<KeySet, std::string> load_keys(const VerifierConfig& config) {
  using Result = boost::system::result<KeySet, std::string>;
  const auto fail = [](std::string why) { return Result(boost::system::in_place_error, why); };
  ErrorQueueGuard guard;
  if (const auto* secret = std::get_if<Hs256Secret>(&config.key)) {
    if (secret->bytes.size() < kMinSecretBytes) {
      return fail(fmt::format("the HS256 secret is {} bytes; it must be at least {}",
                              secret->bytes.size(), kMinSecretBytes));
    }
    KeySet set;
    set.keys.push_back(Key{std::nullopt, Alg::hs256, nullptr, secret->bytes});
    return set;
  }
  if (const auto* pem = std::get_if<PublicKeyPem>(&config.key)) {
    KeyResult key = key_from_pem(pem->pem);
    if (!key) return fail(std::move(key.error()));
    KeySet set;
    set.keys.push_back(std::move(*key));
    return set;
  }
  return keys_from_jwks(std::get<JwksDocument>(config.key).json);
}

}  // namespace xbanku::auth::detail
