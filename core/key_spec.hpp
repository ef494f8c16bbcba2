// A private key specification, one entry of MDPrivateKeys (reference §1.3):
// Default (= RSA 2048), RSA with a bit count, or a curve by name (P-256, secp384r1, X25519...).
// Parsing the directive arguments is in config_values.hpp; this is the value and its
// md.json form ({"type":"Default"}, {"type":"RSA","bits":N}, {"type":"EC","curve":"..."}).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace mda {

/// mod_md's minimum and default RSA size (MD_PKEY_RSA_BITS_MIN / _DEF).
inline constexpr unsigned k_rsa_bits_min = 2048;
inline constexpr unsigned k_rsa_bits_default = 2048;
/// ACME account keys, as mod_md makes them (MD_ACME_ACCT_PKEY_BITS).
inline constexpr unsigned k_account_rsa_bits = 3072;

struct key_spec {
  enum class kind { default_rsa, rsa, ec };
  kind type = kind::default_rsa;
  unsigned bits = 0;  ///< rsa only; 0 means the default size
  std::string curve;  ///< ec only, as configured (P-256, secp384r1, ...)

  static key_spec default_spec() { return {}; }
  static key_spec rsa(unsigned bits) { return {kind::rsa, bits, {}}; }
  static key_spec ec(std::string curve) { return {kind::ec, 0, std::move(curve)}; }

  /// The name certificates are filed and reported under: "rsa" for Default and RSA, the curve
  /// as configured for EC (md_pkey_spec_name).
  std::string name() const;

  /// The suffix of key and certificate file names: "" for rsa, ".<curve lowercased>" for EC,
  /// so privkey.pem / privkey.secp256r1.pem.
  std::string file_suffix() const;

  /// Bits of an RSA key made from this spec (default -> 2048).
  unsigned rsa_bits() const { return bits >= k_rsa_bits_min ? bits : k_rsa_bits_default; }

  /// "rsa-2048", "p-256": the form progress messages use ("key-spec=rsa-3072").
  std::string describe() const;

  bool operator==(const key_spec& o) const;
  bool operator!=(const key_spec& o) const { return !(*this == o); }
};

/// md.json form of one spec.
nlohmann::ordered_json to_json(const key_spec& spec);
/// md.json reading, lenient as mod_md: a missing/unknown type is Default, RSA bits below the
/// minimum are the default size.
key_spec key_spec_from_json(const nlohmann::ordered_json& j);

/// md.json "privkey": one object for a single spec, an array for several; null for none.
nlohmann::ordered_json to_json(const std::vector<key_spec>& specs);
std::vector<key_spec> key_specs_from_json(const nlohmann::ordered_json& j);

} // namespace mda
