// Digests, HMAC and random bytes, straight from OpenSSL.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace mda {

std::string sha256(std::string_view bytes); ///< 32 raw bytes
std::string sha1(std::string_view bytes);   ///< 20 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view data); ///< 32 raw bytes

/// n bytes from OpenSSL's CSPRNG (RAND_bytes).
expected<std::string> random_bytes(size_t n);

} // namespace mda
