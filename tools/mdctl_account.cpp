// `mdctl account rollover ID` and `mdctl account deactivate ID`: the stored account
// accounts/<ID>/ at its CA (account.json's ca-url).
//
// - rollover (RFC 8555 §7.3.5): a new key (RSA 3072 as mod_md makes account keys, or --key
//   rsaNNNN / p256 / p384) is sent to the CA with keyChange; only once the CA accepted it is
//   accounts/<ID>/account.pem replaced (encrypted with the store secret, as mod_md stores it;
//   account.json stays: the URL does not change). Should that write fail, the key is rolled
//   back at the CA, so the stored key keeps working.
// - deactivate (RFC 8555 §7.3.6): {"status":"deactivated"}; account.json then holds the CA's
//   answer with status "deactivated", as mod_md's `a2md acme delreg` leaves it (the key stays).
//   Neither mod_md nor the engine selects a deactivated account again.
// Exit 0 on success; nothing in the store changes when the CA refused.
#include <iostream>

#include "acme/revoke.hpp"
#include "store/accounts.hpp"
#include "tools/mdctl_admin.hpp"

namespace mda::mdctl {

const char* const k_account_usage =
    "  account rollover ID [--key SPEC] [--store DIR] [--ca-file FILE]\n"
    "      Replace the key of the stored account ID (accounts/ID) at its CA (RFC 8555\n"
    "      7.3.5 keyChange), then in accounts/ID/account.pem. SPEC: rsa3072 (default),\n"
    "      rsa2048, rsa4096, p256 or p384.\n"
    "  account deactivate ID [--store DIR] [--ca-file FILE]\n"
    "      Deactivate the stored account ID at its CA (RFC 8555 7.3.6); account.json\n"
    "      then says \"status\": \"deactivated\" and the account is not used again.\n";

namespace {

const char* const k_cmd = "account";

expected<std::optional<key_spec>> parse_account_key(const std::optional<std::string>& s) {
  if (!s) return std::optional<key_spec>{};
  if (*s == "rsa2048") return std::optional<key_spec>{key_spec::rsa(2048)};
  if (*s == "rsa3072") return std::optional<key_spec>{key_spec::rsa(3072)};
  if (*s == "rsa4096") return std::optional<key_spec>{key_spec::rsa(4096)};
  if (*s == "p256") return std::optional<key_spec>{key_spec::ec("P-256")};
  if (*s == "p384") return std::optional<key_spec>{key_spec::ec("P-384")};
  return error(std::make_error_code(std::errc::invalid_argument),
               "--key '" + *s + "': expected rsa2048, rsa3072, rsa4096, p256 or p384");
}

int rollover(fs_store& st, const std::string& id, acme::client& c, const acme::account& acct,
             const std::optional<key_spec>& spec) {
  auto key = acme::make_account_key(spec);
  if (!key) return fail(k_cmd, key.error().message);
  auto rolled = acme::change_account_key(c, acct, *key);
  if (!rolled)
    return fail(k_cmd, "key rollover of account '" + id + "' (" + acct.url() + ") failed: " +
                           rolled.error().message);
  if (auto s = st.save_key(store_group::accounts, id, aspect::account_key, *key); !s) {
    auto back = acme::change_account_key(c, *rolled, acct.key);
    return fail(k_cmd, "the CA took the new key of account '" + id + "' but storing it failed: " +
                           s.error().message +
                           (back ? "; the CA has the old key again"
                                 : "; rolling back at the CA failed too: " + back.error().message));
  }
  std::cout << "account " << id << " (" << acct.url() << "): new key in "
            << store_path(st, store_group::accounts, id, aspect::account_key) << "\n";
  return 0;
}

int deactivate(fs_store& st, const std::string& id, acme::client& c, const acme::account& acct) {
  auto done = acme::deactivate_account(c, acct);
  if (!done)
    return fail(k_cmd, "deactivating account '" + id + "' (" + acct.url() + ") failed: " +
                           done.error().message);
  if (auto s = save_account(st, id, done->file, done->key); !s)
    return fail(k_cmd, "account '" + id + "' is deactivated at the CA, but " +
                           store_path(st, store_group::accounts, id, aspect::account) +
                           " could not be updated: " + s.error().message);
  std::cout << "account " << id << " (" << acct.url() << ") deactivated\n";
  return 0;
}

} // namespace

int account_main(const std::vector<std::string>& args) {
  auto a = parse_admin_args(args, {"--key"}, {});
  if (!a) return usage_fail(k_cmd, a.error().message, k_account_usage);
  if (a->help) {
    std::cout << "usage:\n" << k_account_usage;
    return 0;
  }
  if (a->positional.size() != 2 ||
      (a->positional[0] != "rollover" && a->positional[0] != "deactivate"))
    return usage_fail(k_cmd, "expected 'rollover ID' or 'deactivate ID'", k_account_usage);
  const std::string& what = a->positional[0];
  const std::string& id = a->positional[1];
  auto spec = parse_account_key(option(*a, "--key"));
  if (!spec) return usage_fail(k_cmd, spec.error().message, k_account_usage);
  if (what == "deactivate" && option(*a, "--key"))
    return usage_fail(k_cmd, "--key is for rollover", k_account_usage);
  auto st = fs_store::open(a->store_dir);
  if (!st) return fail(k_cmd, st.error().message);
  auto acct = load_account(*st, id);
  if (!acct) return fail(k_cmd, acct.error().message);
  if (acct->file.status == account_status::deactivated)
    return fail(k_cmd, "account '" + id + "' is deactivated already");
  auto c = make_client(acct->file.ca_url, a->ca_file);
  if (!c) return fail(k_cmd, c.error().message);
  return what == "rollover" ? rollover(*st, id, **c, *acct, *spec) : deactivate(*st, id, **c, *acct);
}

} // namespace mda::mdctl
