// base64url (RFC 4648 §5, no padding) as ACME, JWS and md_store.json use it, and plain base64.
// Encoding is done by OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock; we only translate alphabets.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace mda {

/// base64url without padding.
std::string base64url_encode(std::string_view bytes);

/// Decodes base64url; padding '=' is accepted but not required. Any character outside the
/// alphabet, or an impossible length, is an error (crypto_errc::bad_encoding).
expected<std::string> base64url_decode(std::string_view text);

/// Standard base64 with padding (RFC 4648 §4), on one line.
std::string base64_encode(std::string_view bytes);
expected<std::string> base64_decode(std::string_view text);

/// Lowercase hex of bytes, and uppercase.
std::string hex_lower(std::string_view bytes);
std::string hex_upper(std::string_view bytes);

} // namespace mda
