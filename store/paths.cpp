// The path builder, plus the small vocabulary of store.hpp (group names, error category,
// aspect names), which has no source file of its own.
#include "store/paths.hpp"

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "core/config_files.hpp"
#include "store/fs_io.hpp"

namespace mda {

// --- store.hpp vocabulary ----------------------------------------------------------------

expected<std::string> store::read_outside(const std::string& path) const {
  if (auto copy = config_file_copy(path)) return *copy;
  return fsio::read_file(path);
}

const char* group_name(store_group g) noexcept {
  switch (g) {
    case store_group::none: return "none";
    case store_group::accounts: return "accounts";
    case store_group::challenges: return "challenges";
    case store_group::domains: return "domains";
    case store_group::staging: return "staging";
    case store_group::archive: return "archive";
    case store_group::tmp: return "tmp";
    case store_group::ocsp: return "ocsp";
  }
  return "unknown";
}

namespace {

class store_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "mdactor.store"; }
  std::string message(int ev) const override {
    switch (static_cast<store_errc>(ev)) {
      case store_errc::ok: return "ok";
      case store_errc::not_found: return "not found";
      case store_errc::exists: return "already exists";
      case store_errc::bad_name: return "invalid name";
      case store_errc::corrupt: return "corrupt data";
      case store_errc::too_new: return "store version too new";
      case store_errc::io: return "i/o error";
      case store_errc::lock_timeout: return "store lock timeout";
      case store_errc::archive_full: return "archive full";
      case store_errc::invalid: return "invalid request";
      case store_errc::refused: return "unsafe entry refused";
    }
    return "unknown store error";
  }
};

// mod_md's pk_filename: "<base>.pem" for rsa, "<base>.<curve lowercased>.pem" otherwise.
std::string spec_file(const char* base, const key_spec& spec) {
  return std::string(base) + spec.file_suffix() + ".pem";
}

// The reason a name or aspect is not acceptable, or nullptr.
const char* name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > k_store_name_max) return "is longer than 255 bytes";
  if (name.find('/') != std::string_view::npos) return "contains '/'";
  if (name.find("..") != std::string_view::npos) return "contains '..'";
  if (name.front() == '.') return "starts with '.'";
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  return nullptr;
}

// Control characters in a message would garble logs: show them as '?'.
std::string printable(std::string_view s) {
  std::string out(s.substr(0, 80));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (s.size() > 80) out += "...";
  return out;
}

} // namespace

const std::error_category& store_category() noexcept {
  static const store_category_impl instance;
  return instance;
}

std::error_code make_error_code(store_errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

bool is_not_found(const error& e) noexcept { return e.code == store_errc::not_found; }

namespace aspect {
std::string privkey(const key_spec& spec) { return spec_file("privkey", spec); }
std::string pubcert(const key_spec& spec) { return spec_file("pubcert", spec); }
std::string fallback_privkey(const key_spec& spec) { return spec_file("fallback-privkey", spec); }
std::string fallback_pubcert(const key_spec& spec) { return spec_file("fallback-pubcert", spec); }
std::string tls_alpn01_privkey(const key_spec& spec) {
  return spec_file("acme-tls-alpn-01-privkey", spec);
}
std::string tls_alpn01_pubcert(const key_spec& spec) {
  return spec_file("acme-tls-alpn-01-pubcert", spec);
}
std::string ocsp(std::string_view sha1_hex) { return "ocsp-" + std::string(sha1_hex) + ".json"; }
std::string ocsp_for_cert_der(std::string_view cert_der) { return ocsp(hex_lower(sha1(cert_der))); }
} // namespace aspect

// --- checks --------------------------------------------------------------------------------

status check_name(store_group g, std::string_view name) {
  if (const char* why = name_problem(name))
    return error{store_errc::bad_name, "invalid name '" + printable(name) + "' in store group '" +
                                           group_name(g) + "': " + why};
  return {};
}

status check_aspect(std::string_view aspect) {
  const char* why = name_problem(aspect);
  if (!why && aspect.size() >= 4 && aspect.substr(aspect.size() - 4) == ".tmp")
    why = "ends in '.tmp' (reserved for atomic writes)";
  if (why) return error{store_errc::bad_name, "invalid aspect '" + printable(aspect) + "': " + why};
  return {};
}

// --- store_paths ---------------------------------------------------------------------------

store_paths::store_paths(std::string base) : base_(std::move(base)) {
  while (base_.size() > 1 && base_.back() == '/') base_.pop_back();
}

std::string store_paths::group_dir(store_group g) const {
  if (g == store_group::none) return base_;
  return base_ + "/" + group_name(g);
}

expected<std::string> store_paths::name_dir(store_group g, std::string_view name) const {
  if (g == store_group::none) {
    if (!name.empty())
      return error{store_errc::invalid,
                   "store group 'none' takes no name, got '" + printable(name) + "'"};
    return base_;
  }
  if (auto st = check_name(g, name); !st) return st.error();
  return group_dir(g) + "/" + std::string(name);
}

expected<std::string> store_paths::file(store_group g, std::string_view name,
                                        std::string_view aspect) const {
  auto dir = name_dir(g, name);
  if (!dir) return dir.error();
  if (auto st = check_aspect(aspect); !st) return st.error();
  return *dir + "/" + std::string(aspect);
}

std::string store_paths::archive_dir(std::string_view name, int n) const {
  return group_dir(store_group::archive) + "/" + std::string(name) + "." + std::to_string(n);
}

} // namespace mda
