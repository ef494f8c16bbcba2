// mdctl: the admin command line of mdactor.
//
//   mdctl selfcheck [--store DIR]   exercise the core and the store, print what was made
//   mdctl obtain --ca URL ... NAME... get a certificate into a store (tools/mdctl_obtain.hpp)
//   mdctl run --config FILE [--once] the renewal engine without Apache (tools/mdctl_run.hpp)
//   mdctl renew|revoke|account|status  admin commands (tools/mdctl_admin.hpp)
//   mdctl store migrate ...          file store <-> etcd (tools/mdctl_store.cpp)
//   mdctl --help
//
// selfcheck runs in a fresh temporary store unless --store names one (which it then leaves
// in place for inspection). It needs no network. Exit status 0 when every step worked.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/certgen.hpp"
#include "core/csr.hpp"
#include "core/key_spec.hpp"
#include "core/pkey.hpp"
#include "core/timefmt.hpp"
#include "core/x509.hpp"
#include "store/fs_store.hpp"
#include "tools/mdctl_admin.hpp"
#include "tools/mdctl_obtain.hpp"
#include "tools/mdctl_run.hpp"

namespace {

const std::string k_usage =
    std::string("usage: mdctl <command> [options]\n"
                "\n"
                "commands:\n"
                "  selfcheck [--store DIR]\n"
                "      Generate RSA 2048 and P-256 keys, store them the way mod_md does (encrypted in\n"
                "      staging/, plain in domains/), build a CSR, the fallback certificate and a\n"
                "      tls-alpn-01 challenge certificate for a test name, inspect them and print what was\n"
                "      found. Uses a temporary store unless --store DIR is given. No network.\n") +
    mda::mdctl::k_obtain_usage + mda::mdctl::k_run_usage + mda::mdctl::k_renew_usage +
    mda::mdctl::k_revoke_usage + mda::mdctl::k_account_usage + mda::mdctl::k_status_usage +
    mda::mdctl::k_store_usage +
    "  --help\n"
    "      This text.\n";

int fail(const std::string& what, const mda::error& e) {
  std::cerr << "mdctl: " << what << ": " << e.message << "\n";
  return 1;
}

void describe(const char* label, const mda::certificate& c) {
  std::cout << "  " << label << ": subject " << c.subject_name() << ", issuer " << c.issuer_name()
            << "\n    serial " << c.serial_hex() << ", sha256 " << c.fingerprint_sha256()
            << "\n    valid " << mda::format_rfc822(c.not_before()) << " .. "
            << mda::format_rfc822(c.not_after()) << "\n    names";
  for (const auto& n : c.alt_names()) std::cout << " " << n;
  std::cout << "\n";
}

int selfcheck_spec(mda::fs_store& store, const mda::key_spec& spec,
                   const std::vector<std::string>& names, mda::sys_time now) {
  using mda::store_group;
  std::cout << "key spec " << spec.name() << " (" << spec.describe() << ")\n";
  auto key = mda::private_key::generate(spec);
  if (!key) return fail("generating a " + spec.describe() + " key", key.error());
  const std::string md = names.front();
  const std::string privkey = mda::aspect::privkey(spec);
  for (auto group : {store_group::staging, store_group::domains}) {
    if (auto st = store.save_key(group, md, privkey, *key); !st) return fail("saving the key", st.error());
    auto back = store.load_key(group, md, privkey);
    if (!back) return fail("reading the key back", back.error());
    if (!back->same_public_key(*key)) {
      std::cerr << "mdctl: the key read back differs from the one written\n";
      return 1;
    }
    auto path = store.file_path(group, md, privkey);
    auto text = store.load_text(group, md, privkey);
    bool encrypted = text && text->find("ENCRYPTED") != std::string::npos;
    std::cout << "  key " << (path ? *path : privkey) << ": " << (encrypted ? "encrypted" : "plain")
              << ", read back ok\n";
  }
  auto csr = mda::make_csr(*key, names, false);
  if (!csr) return fail("building the CSR", csr.error());
  std::cout << "  CSR: " << csr->der.size() << " bytes DER, signed\n";
  auto fallback = mda::make_fallback_certificate(*key, names, now);
  if (!fallback) return fail("making the fallback certificate", fallback.error());
  describe("fallback certificate", *fallback);
  if (!fallback->covers(names) || !fallback->matches_key(*key)) {
    std::cerr << "mdctl: the fallback certificate does not cover its names or key\n";
    return 1;
  }
  auto chain = mda::write_pem_chain({*fallback});
  if (!chain) return fail("writing the fallback chain", chain.error());
  if (auto st = store.save_text(store_group::domains, md, mda::aspect::fallback_pubcert(spec), *chain); !st)
    return fail("saving the fallback certificate", st.error());
  auto alpn = mda::make_tls_alpn_01_certificate(*key, names.front(), "token.thumbprint", now);
  if (!alpn) return fail("making the tls-alpn-01 certificate", alpn.error());
  describe("tls-alpn-01 certificate", *alpn);
  return 0;
}

int selfcheck(const std::vector<std::string>& args) {
  std::string dir;
  bool keep = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--store" && i + 1 < args.size()) {
      dir = args[++i];
      keep = true;
    } else {
      std::cerr << "mdctl selfcheck: unknown argument '" << args[i] << "'\n" << k_usage;
      return 2;
    }
  }
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/mdctl-selfcheck-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      std::perror("mdctl: mkdtemp");
      return 1;
    }
    dir = tmpl + "/md";
  }
  std::cout << "mdactor " << MDACTOR_VERSION << " selfcheck, store " << dir << "\n";
  int rc = 0;
  {
    auto store = mda::fs_store::open(dir);
    if (!store) return fail("opening the store", store.error());
    std::cout << "  md_store.json: version 3, secret of " << store->secret().size() << " bytes\n";
    const std::vector<std::string> names{"selfcheck.example.test", "www.selfcheck.example.test"};
    const auto now = mda::sys_clock::now();
    for (const auto& spec : {mda::key_spec::default_spec(), mda::key_spec::ec("P-256")}) {
      rc = selfcheck_spec(*store, spec, names, now);
      if (rc != 0) break;
    }
  }
  if (!keep) {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(dir).parent_path(), ec);
  }
  std::cout << (rc == 0 ? "selfcheck: ok\n" : "selfcheck: FAILED\n");
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << k_usage;
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "selfcheck") return selfcheck(args);
  if (cmd == "obtain") return mda::mdctl::obtain_main(args);
  if (cmd == "run") return mda::mdctl::run_main(args);
  if (cmd == "renew") return mda::mdctl::renew_main(args);
  if (cmd == "revoke") return mda::mdctl::revoke_main(args);
  if (cmd == "account") return mda::mdctl::account_main(args);
  if (cmd == "status") return mda::mdctl::status_main(args);
  if (cmd == "store") return mda::mdctl::store_main(args);
  std::cerr << "mdctl: unknown command '" << cmd << "'\n" << k_usage;
  return 2;
}
