#include "core/base64.hpp"

#include <openssl/evp.h>

namespace mda {

namespace {

std::string encode_std(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Decodes padded standard base64 of a length that is a multiple of 4.
expected<std::string> decode_std(const std::string& text) {
  if (text.size() % 4 != 0)
    return error{crypto_errc::bad_encoding, "base64 text has an impossible length"};
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    return error{crypto_errc::bad_encoding, "base64 text contains characters outside the alphabet"};
  // EVP_DecodeBlock counts the padding as zero bytes: take them off again.
  size_t pad = 0;
  if (!text.empty() && text[text.size() - 1] == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool all_of_alphabet(std::string_view s, bool url) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (url ? (c == '-' || c == '_') : (c == '+' || c == '/'));
    if (!ok) return false;
  }
  return true;
}

std::string hex(std::string_view bytes, const char* digits) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

} // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string s = encode_std(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return s;
}

expected<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (!all_of_alphabet(text, true))
    return error{crypto_errc::bad_encoding, "base64url text contains characters outside the alphabet"};
  if (text.size() % 4 == 1)
    return error{crypto_errc::bad_encoding, "base64url text has an impossible length"};
  std::string s(text);
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
  }
  s.append((4 - s.size() % 4) % 4, '=');
  return decode_std(s);
}

std::string base64_encode(std::string_view bytes) { return encode_std(bytes); }

expected<std::string> base64_decode(std::string_view text) {
  std::string_view body = text;
  while (!body.empty() && body.back() == '=') body.remove_suffix(1);
  if (text.size() - body.size() > 2 || !all_of_alphabet(body, false))
    return error{crypto_errc::bad_encoding, "base64 text contains characters outside the alphabet"};
  return decode_std(std::string(text));
}

std::string hex_lower(std::string_view bytes) { return hex(bytes, "0123456789abcdef"); }
std::string hex_upper(std::string_view bytes) { return hex(bytes, "0123456789ABCDEF"); }

} // namespace mda
