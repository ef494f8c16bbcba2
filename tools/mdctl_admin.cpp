#include "tools/mdctl_admin.hpp"

#include <algorithm>
#include <iostream>

#include "core/job.hpp"

namespace mda::mdctl {

namespace {

error usage_error(std::string msg) {
  return error(std::make_error_code(std::errc::invalid_argument), std::move(msg));
}

bool listed(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

expected<admin_args> parse_admin_args(const std::vector<std::string>& args,
                                      const std::vector<std::string>& valued_options,
                                      const std::vector<std::string>& flag_options) {
  admin_args a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      a.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      a.positional.push_back(arg);
      continue;
    }
    if (listed(flag_options, arg)) {
      a.flags.push_back(arg);
      continue;
    }
    const bool common = arg == "--store" || arg == "--socket" || arg == "--ca-file";
    if (!common && !listed(valued_options, arg)) return usage_error("unknown option '" + arg + "'");
    if (i + 1 >= args.size()) return usage_error(arg + " needs a value");
    const std::string& value = args[++i];
    if (arg == "--store") a.store_dir = value;
    else if (arg == "--socket") a.socket = value;
    else if (arg == "--ca-file") a.ca_file = value;
    else a.valued.emplace_back(arg, value);
  }
  return a;
}

std::optional<std::string> option(const admin_args& a, const std::string& name) {
  std::optional<std::string> out;
  for (const auto& [k, v] : a.valued)
    if (k == name) out = v;
  return out;
}

bool has_flag(const admin_args& a, const std::string& name) { return listed(a.flags, name); }

std::string socket_path(const admin_args& a) {
  return a.socket.empty() ? a.store_dir + "/mdactor/status.sock" : a.socket;
}

int fail(const std::string& cmd, const std::string& msg) {
  std::cerr << "mdctl " << cmd << ": " << msg << "\n";
  return 1;
}

int usage_fail(const std::string& cmd, const std::string& msg, const char* usage) {
  std::cerr << "mdctl " << cmd << ": " << msg << "\nusage:\n" << usage;
  return 2;
}

std::string store_path(const fs_store& st, store_group g, const std::string& name,
                       const std::string& aspect) {
  auto p = st.file_path(g, name, aspect);
  return p ? *p : std::string(group_name(g)) + "/" + name + "/" + aspect;
}

namespace {

/// The JSON file of (g, name, aspect); absent -> "no <what> '<name>' in <store>/<group> (no <path>)".
expected<nlohmann::ordered_json> load_named_json(const fs_store& st, store_group g,
                                                 const std::string& name, const std::string& aspect,
                                                 const std::string& what) {
  if (!st.exists(g, name, aspect))
    return error(store_errc::not_found, "no " + what + " '" + name + "' in " + st.paths().base() + "/" +
                                            group_name(g) + " (no " + store_path(st, g, name, aspect) + ")");
  return st.load_json(g, name, aspect);
}

} // namespace

expected<managed_domain> load_md(const fs_store& st, const std::string& md) {
  auto j = load_named_json(st, store_group::domains, md, aspect::md, "managed domain");
  if (!j) return j.error();
  return md_from_json(*j, store_path(st, store_group::domains, md, aspect::md));
}

expected<acme::account> load_account(const fs_store& st, const std::string& id) {
  auto j = load_named_json(st, store_group::accounts, id, aspect::account, "account");
  if (!j) return j.error();
  auto file = account_from_json(*j, store_path(st, store_group::accounts, id, aspect::account));
  if (!file) return file.error();
  auto key = st.load_key(store_group::accounts, id, aspect::account_key);
  if (!key) return key.error();
  return acme::account{*key, *file};
}

expected<std::unique_ptr<acme::client>> make_client(const std::string& ca_url,
                                                    const std::string& ca_file) {
  acme::http_options ho;
  ho.ca_file = ca_file;
  auto transport = acme::httplib_transport::create(ho);
  if (!transport) return transport.error();
  return std::make_unique<acme::client>(*transport, acme::client_options{ca_url},
                                        std::make_shared<system_time_source>());
}

} // namespace mda::mdctl
