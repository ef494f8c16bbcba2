// RSA key generation from two random probable primes.
//
// OpenSSL 3.0 makes every two-prime RSA key of 2048 bits or more with e = 65537 by the
// SP 800-56B / FIPS 186-4 B.3.6 method (auxiliary primes, a constant-time gcd per candidate):
// here ~200 ms of CPU per RSA 2048 key, which decides how fast many RSA domains get their
// certificates. This makes the same kind of key the way OpenSSL 1.1 did (and mod_md's keys
// were made for years): p and q are random probable primes from OpenSSL's own generator
// (BN_generate_prime_ex2: sieve + at least 64 Miller-Rabin rounds), then the key is assembled
// with the checks of FIPS 186-4 B.3.1: gcd(e, p-1) = gcd(e, q-1) = 1, |p - q| > 2^(bits/2-100),
// n of exactly `bits` bits, d > 2^(bits/2). The finished key signs and verifies once before it
// is handed out. ~2.5x faster than EVP_PKEY_Q_keygen for RSA 2048 here.
//
// Not here: multi-prime keys, other public exponents, FIPS-module operation (a FIPS provider
// would refuse keys it did not generate itself: use EVP_PKEY_Q_keygen there).
#pragma once

#include "core/error.hpp"
#include "core/pkey.hpp"

namespace mda {

/// A new RSA key of `bits` bits (even, at least 2048) with public exponent 65537.
expected<private_key> generate_rsa_key(unsigned bits);

} // namespace mda
