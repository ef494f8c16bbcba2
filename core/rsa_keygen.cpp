// RSA key generation from two random probable primes (see rsa_keygen.hpp).
#include "core/rsa_keygen.hpp"
#include "core/ossl_ptr.hpp"

#include <memory>
#include <string>
#include <utility>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

namespace mda {

namespace {

constexpr unsigned long k_public_exponent = 65537; // a prime: gcd(e, p-1) = 1 <=> p mod e != 1
constexpr int k_max_attempts = 100; // of the assembly; one fails with probability ~2^-16

using bn_ptr = ossl_ptr<BIGNUM, BN_clear_free>;

bn_ptr secret_bn() {
  bn_ptr b(BN_secure_new());
  if (b) BN_set_flags(b.get(), BN_FLG_CONSTTIME);
  return b;
}

/// The private values of a key under assembly.
struct rsa_parts {
  bn_ptr n{BN_new()}, e{BN_new()};
  bn_ptr p = secret_bn(), q = secret_bn(), d = secret_bn();
  bn_ptr dp = secret_bn(), dq = secret_bn(), qinv = secret_bn();
  bool allocated() const { return n && e && p && q && d && dp && dq && qinv; }
};

/// A random probable prime of `bits` bits (top two bits set) with prime mod e != 1.
bool random_prime(BIGNUM* prime, int bits, BN_CTX* ctx) {
  for (;;) {
    if (BN_generate_prime_ex2(prime, bits, 0, nullptr, nullptr, nullptr, ctx) != 1) return false;
    if (BN_mod_word(prime, k_public_exponent) != 1) return true;
  }
}

enum class assembly { ok, retry, failed };

/// Picks p and q and derives n, d and the CRT values; `retry` when a FIPS 186-4 B.3.1 bound
/// is not met (new primes are needed), `failed` when OpenSSL fails.
assembly assemble(rsa_parts& k, int bits, BN_CTX* ctx) {
  const int half = bits / 2;
  if (!random_prime(k.p.get(), bits - half, ctx) || !random_prime(k.q.get(), half, ctx))
    return assembly::failed;
  if (BN_cmp(k.p.get(), k.q.get()) < 0) BN_swap(k.p.get(), k.q.get()); // qinv = q^-1 mod p
  bn_ptr diff(BN_new()), p1 = secret_bn(), q1 = secret_bn(), gcd = secret_bn(), lambda = secret_bn();
  if (!diff || !p1 || !q1 || !gcd || !lambda) return assembly::failed;
  if (BN_sub(diff.get(), k.p.get(), k.q.get()) != 1) return assembly::failed;
  if (BN_num_bits(diff.get()) <= half - 100) return assembly::retry;
  if (BN_mul(k.n.get(), k.p.get(), k.q.get(), ctx) != 1) return assembly::failed;
  if (BN_num_bits(k.n.get()) != bits) return assembly::retry;
  // lambda(n) = lcm(p-1, q-1) = (p-1)(q-1) / gcd(p-1, q-1); d = e^-1 mod lambda(n).
  if (BN_sub(p1.get(), k.p.get(), BN_value_one()) != 1 ||
      BN_sub(q1.get(), k.q.get(), BN_value_one()) != 1 || BN_gcd(gcd.get(), p1.get(), q1.get(), ctx) != 1 ||
      BN_mul(lambda.get(), p1.get(), q1.get(), ctx) != 1 ||
      BN_div(lambda.get(), nullptr, lambda.get(), gcd.get(), ctx) != 1 ||
      !BN_mod_inverse(k.d.get(), k.e.get(), lambda.get(), ctx))
    return assembly::failed;
  if (BN_num_bits(k.d.get()) <= half) return assembly::retry;
  if (BN_mod(k.dp.get(), k.d.get(), p1.get(), ctx) != 1 || BN_mod(k.dq.get(), k.d.get(), q1.get(), ctx) != 1 ||
      !BN_mod_inverse(k.qinv.get(), k.q.get(), k.p.get(), ctx))
    return assembly::failed;
  return assembly::ok;
}

expected<private_key> to_pkey(const rsa_parts& k) {
  ossl_ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> bld(OSSL_PARAM_BLD_new());
  const std::pair<const char*, const BIGNUM*> values[] = {
      {OSSL_PKEY_PARAM_RSA_N, k.n.get()},         {OSSL_PKEY_PARAM_RSA_E, k.e.get()},
      {OSSL_PKEY_PARAM_RSA_D, k.d.get()},         {OSSL_PKEY_PARAM_RSA_FACTOR1, k.p.get()},
      {OSSL_PKEY_PARAM_RSA_FACTOR2, k.q.get()},   {OSSL_PKEY_PARAM_RSA_EXPONENT1, k.dp.get()},
      {OSSL_PKEY_PARAM_RSA_EXPONENT2, k.dq.get()}, {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, k.qinv.get()},
  };
  if (!bld) return openssl_error("OSSL_PARAM_BLD_new()");
  for (const auto& [name, value] : values)
    if (OSSL_PARAM_BLD_push_BN(bld.get(), name, value) != 1) return openssl_error("OSSL_PARAM_BLD_push_BN(RSA)");
  ossl_ptr<OSSL_PARAM, OSSL_PARAM_free> params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
    return openssl_error("EVP_PKEY_fromdata_init(RSA)");
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEYPAIR, params.get()) != 1 || !key)
    return openssl_error("EVP_PKEY_fromdata(RSA key pair)");
  return private_key::adopt(key);
}

/// Signs a fixed message with the private key (CRT) and verifies it with the public half: a
/// key whose parts do not fit together is never handed out.
status self_test(const private_key& key) {
  static const unsigned char message[] = "mdactor RSA key self-test";
  ossl_ptr<EVP_MD_CTX, EVP_MD_CTX_free> sign(EVP_MD_CTX_new()), verify(EVP_MD_CTX_new());
  unsigned char sig[1024];
  size_t sig_len = sizeof sig;
  if (!sign || !verify ||
      EVP_DigestSignInit_ex(sign.get(), nullptr, "SHA256", nullptr, nullptr, key.get(), nullptr) != 1 ||
      EVP_DigestSign(sign.get(), sig, &sig_len, message, sizeof message) != 1)
    return openssl_error("EVP_DigestSign(RSA self-test)");
  if (EVP_DigestVerifyInit_ex(verify.get(), nullptr, "SHA256", nullptr, nullptr, key.get(), nullptr) != 1 ||
      EVP_DigestVerify(verify.get(), sig, sig_len, message, sizeof message) != 1)
    return openssl_error("EVP_DigestVerify(RSA self-test)", crypto_errc::bad_key);
  return {};
}

} // namespace

expected<private_key> generate_rsa_key(unsigned bits) {
  if (bits < 2048 || bits > 8192 || bits % 2 != 0)
    return error{crypto_errc::unsupported, "RSA keys of " + std::to_string(bits) +
                                               " bits are not made here (an even size from 2048 to 8192)"};
  ossl_ptr<BN_CTX, BN_CTX_free> ctx(BN_CTX_secure_new());
  rsa_parts parts;
  if (!ctx || !parts.allocated() || BN_set_word(parts.e.get(), k_public_exponent) != 1)
    return openssl_error("BN_new()");
  for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
    const assembly a = assemble(parts, static_cast<int>(bits), ctx.get());
    if (a == assembly::failed) return openssl_error("RSA " + std::to_string(bits) + " key generation");
    if (a == assembly::retry) continue;
    auto key = to_pkey(parts);
    if (!key) return key.error();
    if (auto t = self_test(*key); !t) return t.error();
    return key;
  }
  return error{crypto_errc::library, "RSA " + std::to_string(bits) + " key generation: no key after " +
                                         std::to_string(k_max_attempts) + " attempts"};
}

} // namespace mda
