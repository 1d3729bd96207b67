#pragma once
// auth/'s private bridge to OpenSSL 3: one owning pointer per handle type, and a guard that
// empties the thread's error queue. Not a public header: OpenSSL types never leave src/auth/.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

namespace xbanku::auth::detail {

template <auto Free>
struct OpensslFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, OpensslFree<&EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslFree<&EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslFree<&EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OpensslFree<&BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, OpensslFree<&BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpensslFree<&OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpensslFree<&OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpensslFree<&ECDSA_SIG_free>>;

// OpenSSL reports why a call failed on a per-thread error queue. auth/ turns every failure
// into a value, so nothing may be left there: librdkafka's TLS code on the same io thread
// would read our leftovers as its own errors. Every function that calls OpenSSL holds one.
class ErrorQueueGuard {
 public:
  ErrorQueueGuard() = default;
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
  ~ErrorQueueGuard() { ERR_clear_error(); }
};

}  // namespace xbanku::auth::detail
