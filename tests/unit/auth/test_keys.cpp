#include "test_keys.hpp"

#include "xbanku/auth/hmac.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <vector>

namespace xbanku::auth::test {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using Bio = std::unique_ptr<BIO, Deleter<&BIO_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<&BN_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<&EVP_MD_CTX_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<&ECDSA_SIG_free>>;

[[noreturn]] void fail(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("test key helper: ") + what);
}

// OpenSSL's const-incorrect getters take EVP_PKEY*; none of these calls modifies the key.
EVP_PKEY* mut(const EVP_PKEY* key) {
  return const_cast<EVP_PKEY*>(key);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0) fail("empty BIO");
  return std::string(data, static_cast<std::size_t>(len));
}

// A BIGNUM parameter as big-endian bytes, left-padded to `width` when width > 0.
std::string bn_param(const EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) fail(name);
  const Bn bn(raw);
  const int len = width > 0 ? width : BN_num_bytes(bn.get());
  std::string out(static_cast<std::size_t>(len), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), len) != len) {
    fail("BN_bn2binpad");
  }
  return out;
}

std::string der_to_jws(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) fail("d2i_ECDSA_SIG");
  std::string out(64, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + 32, 32) != 32) {
    fail("BN_bn2binpad");
  }
  return out;
}

}  // namespace

Pkey generate_rsa(std::size_t bits) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  if (!key) fail("RSA keygen");
  return key;
}

Pkey generate_ec(const char* curve) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  if (!key) fail("EC keygen");
  return key;
}

Pkey generate_ed25519() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) fail("Ed25519 keygen");
  return key;
}

const EVP_PKEY* rsa_key() {
  static const Pkey key = generate_rsa(2048);
  return key.get();
}
const EVP_PKEY* other_rsa_key() {
  static const Pkey key = generate_rsa(2048);
  return key.get();
}
const EVP_PKEY* ec_key() {
  static const Pkey key = generate_ec("P-256");
  return key.get();
}
const EVP_PKEY* other_ec_key() {
  static const Pkey key = generate_ec("P-256");
  return key.get();
}

std::string public_pem(const EVP_PKEY* key) {
  const Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), mut(key)) != 1) fail("PEM_write_bio_PUBKEY");
  return bio_text(bio.get());
}

std::string private_pem(const EVP_PKEY* key) {
  const Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), mut(key), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("PEM_write_bio_PrivateKey");
  }
  return bio_text(bio.get());
}

std::string public_jwk(const EVP_PKEY* key, std::string_view extra) {
  std::string jwk;
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    jwk = R"({"kty":"RSA","n":")" + base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_N)) +
          R"(","e":")" + base64url_encode(bn_param(key, OSSL_PKEY_PARAM_RSA_E)) + "\"";
  } else {
    jwk = R"({"kty":"EC","crv":"P-256","x":")" +
          base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)) + R"(","y":")" +
          base64url_encode(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + "\"";
  }
  if (!extra.empty()) jwk.append(",").append(extra);
  return jwk + "}";
}

std::string sign(const EVP_PKEY* key, std::string_view input, bool der) {
  const MdCtx ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, mut(key)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) {
    fail("EVP_DigestSignInit");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1) {
    fail("EVP_DigestSign");
  }
  sig.resize(len);
  if (EVP_PKEY_is_a(key, "EC") == 1 && !der) return der_to_jws(sig);
  return sig;
}

std::string token(std::string_view header, std::string_view payload, const EVP_PKEY* key,
                  bool der) {
  const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(sign(key, input, der));
}

std::string hs256_token(std::string_view header, std::string_view payload,
                        std::string_view secret) {
  const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(hmac_sha256(secret, input));
}

}  // namespace xbanku::auth::test
