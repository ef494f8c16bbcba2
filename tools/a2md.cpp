// a2md: mod_md 2.6's command-line tool, command for command, over mdactor's store and ACME
// client (tools/a2md_registry.hpp, tools/a2md_acme.hpp), so scripts and mod_md's own test
// suite run unchanged. Options are read as mod_md reads them (apr_getopt_long: short options
// may be grouped, "-aURL" / "--acme URL" / "--acme=URL", options end at the first argument),
// each command reading its own after its name:
//
//   a2md [-a url] [-C cafile] [-d dir] [-h] [-j] [-p proxy] [-q] [-t tos] [-v] [-V] cmd ...
//     add DOMAIN...                       a new MD (checked, must not overlap another)
//     update NAME [domains D... | ca URL [PROTO] | account [ID] | contacts C... | agreement [URL]]
//     list [NAME|DOMAIN...]               the MDs with their state and whether they renew
//     drive [-c TYPE] [-f] [-r] [NAME...] get certificates for incomplete or due MDs
//     store add|remove [-f]|list|update   md.json in domains/ without checks
//     acme newreg CONTACT... | validate ID... | agree ID... | delreg ID...
//
// Output: "md: <name> [<domains>]" per MD, or with -j one JSON object on stdout:
// {"output": [md.json objects (+ "renew")], "status": <APR status>, "description": <text when
// it failed>}. Messages go to stderr. Exit status 0 on success, 1 on failure or a usage error
// with a reason, 2 for --help and unknown options (usage printed), as mod_md's a2md.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config_values.hpp"
#include "status/snapshot.hpp"
#include "store/fs_store.hpp"
#include "tools/a2md_acme.hpp"
#include "tools/a2md_registry.hpp"

namespace {

using namespace mda;
using namespace mda::a2md;
using args_t = std::vector<std::string>;

struct option_def {
  const char* name;
  char ch;
  bool has_arg;
  const char* description;
};

struct context;
struct command;
using run_fn = std::function<status(context&, const command&, const args_t&)>;

/// What a command needs before it runs (mod_md's MD_CTX_*).
enum needs : int { k_none = 0, k_needs_store = 1, k_registry = 2 };

struct command {
  const char* name;
  int needs;
  std::vector<option_def> options;
  std::vector<const command*> subs;
  run_fn run;
  const char* synopsis;
  const char* description;
};

struct context {
  acme_context acme;
  std::string base_dir;
  std::string tos;
  std::optional<nlohmann::ordered_json> json_out;
  int verbosity = 0; ///< 0 = info; below: quieter
  bool help = false, version = false, force = false, reset = false;
  std::string challenge;
  std::optional<fs_store> store;
  bool registry = false; ///< a command that needs the registry: MDs are printed with "renew"

  void say(const std::string& line) const {
    if (verbosity >= 0) std::cerr << line << "\n";
  }
};

[[noreturn]] void usage(const command& cmd, const char* msg) {
  if (msg) std::cerr << msg << "\n";
  std::cerr << "usage: " << cmd.synopsis << "\n";
  if (cmd.description) std::cerr << "\t" << cmd.description << "\n";
  if (!cmd.options.empty()) {
    std::cerr << "  with the following options:\n";
    for (const auto& o : cmd.options)
      std::cerr << "  -" << o.ch << " | --" << o.name << "    " << (o.has_arg ? "arg" : "") << "\t"
                << o.description << "\n";
  }
  if (!cmd.subs.empty()) {
    std::cerr << "  using one of the following commands:\n";
    for (const auto* s : cmd.subs)
      std::cerr << "  \t" << s->synopsis << "\n  \t\t" << s->description << "\n";
  }
  std::exit(msg ? 1 : 2);
}

/// An error as mod_md logs one with a status: the message and the status' text.
status report(const error& e) {
  const int st = apr_status(e);
  std::cerr << e.message << " [" << st << "(" << apr_description(st) << ")]\n";
  return e;
}

/// An MD that is not there is said as mod_md says it ("<name>: not found"); other errors are
/// reported with their status.
status missing_or_report(const context& ctx, const std::string& name, const error& e) {
  if (apr_status(e) != k_apr_enoent) return report(e);
  ctx.say(name + ": not found");
  return e;
}

/// Every stored MD; one that cannot be read is left out and named on stderr (as mod_md's a2md
/// logs it), the command goes on with the others.
std::vector<managed_domain> stored_mds(const context& ctx) {
  std::vector<error> skipped;
  auto mds = list_mds(*ctx.store, &skipped);
  for (const auto& e : skipped) std::cerr << "skipped: " << e.message << "\n";
  return mds;
}

void print_md(context& ctx, const managed_domain& md) {
  if (ctx.json_out) {
    auto j = to_json(md);
    if (ctx.registry) j["renew"] = should_renew(*ctx.store, md, sys_clock::now());
    (*ctx.json_out)["output"].push_back(std::move(j));
    return;
  }
  std::cout << "md: " << md.name << " [";
  for (size_t i = 0; i < md.domains.size(); ++i) std::cout << (i ? ", " : "") << md.domains[i];
  std::cout << "]\n";
}

/// The option handler of each command: true when `ch` is one of its options.
bool apply_option(context& ctx, char ch, const std::string& arg) {
  switch (ch) {
    case 'a': ctx.acme.ca_url = arg; return true;
    case 'C': ctx.acme.ca_file = arg; return true;
    case 'd': ctx.base_dir = arg; return true;
    case 'h': ctx.help = true; return true;
    case 'j':
      ctx.json_out = nlohmann::ordered_json::object();
      (*ctx.json_out)["output"] = nlohmann::ordered_json::array();
      (*ctx.json_out)["status"] = 0;
      return true;
    case 'p': ctx.acme.proxy_url = arg; return true;
    case 'q': --ctx.verbosity; return true;
    case 'v': ++ctx.verbosity; return true;
    case 'V': ctx.version = true; return true;
    case 't': ctx.tos = arg; return true;
    case 'c': ctx.challenge = arg; return true;
    case 'f': ctx.force = true; return true;
    case 'r': ctx.reset = true; return true;
    default: return false;
  }
}

/// apr_getopt_long over args[1..]: returns the index of the first argument after the
/// options; an unknown option or a missing argument prints the usage (exit 2).
size_t parse_options(context& ctx, const command& cmd, const args_t& args) {
  const auto find_short = [&](char c) -> const option_def* {
    for (const auto& o : cmd.options)
      if (o.ch == c) return &o;
    return nullptr;
  };
  size_t i = 1;
  while (i < args.size()) {
    const std::string& a = args[i];
    if (a == "--") return i + 1;
    if (a.size() < 2 || a[0] != '-') break;
    ++i;
    if (a[1] == '-') {
      const auto eq = a.find('=');
      const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      const option_def* o = nullptr;
      for (const auto& d : cmd.options)
        if (name == d.name) o = &d;
      if (!o) {
        std::cerr << args[0] << ": invalid option: " << a << "\n";
        usage(cmd, nullptr);
      }
      std::string value;
      if (o->has_arg) {
        if (eq != std::string::npos) {
          value = a.substr(eq + 1);
        } else if (i < args.size()) {
          value = args[i++];
        } else {
          std::cerr << args[0] << ": missing argument: " << a << "\n";
          usage(cmd, nullptr);
        }
      }
      apply_option(ctx, o->ch, value);
      continue;
    }
    for (size_t k = 1; k < a.size(); ++k) {
      const option_def* o = find_short(a[k]);
      if (!o) {
        std::cerr << args[0] << ": invalid option character: " << a[k] << "\n";
        usage(cmd, nullptr);
      }
      if (!o->has_arg) {
        apply_option(ctx, o->ch, "");
        continue;
      }
      std::string value = a.substr(k + 1);
      if (value.empty()) {
        if (i >= args.size()) {
          std::cerr << args[0] << ": option requires an argument: " << a[k] << "\n";
          usage(cmd, nullptr);
        }
        value = args[i++];
      }
      apply_option(ctx, o->ch, value);
      break;
    }
  }
  return i;
}

status process(context& ctx, const command& cmd, const args_t& args) {
  const size_t first = parse_options(ctx, cmd, args);
  if (ctx.help) usage(cmd, nullptr);
  if (ctx.version) {
    std::cout << "version: " << k_mod_md_version << "\n";
    std::exit(0);
  }
  const args_t rest(args.begin() + static_cast<std::ptrdiff_t>(first), args.end());
  if (cmd.needs != k_none && !ctx.store) {
    if (ctx.base_dir.empty()) {
      std::cerr << "need store directory for command: " << cmd.name << "\n";
      return invalid_argument("need store directory");
    }
    auto st = fs_store::open(ctx.base_dir);
    if (!st) {
      std::cerr << "error creating store for: " << ctx.base_dir << ": " << st.error().message << "\n";
      return invalid_argument(st.error().message);
    }
    ctx.store.emplace(std::move(*st));
  }
  if (cmd.needs & k_registry) ctx.registry = true;
  if (!cmd.subs.empty()) {
    if (rest.empty()) usage(cmd, "sub command is missing");
    for (const auto* sub : cmd.subs)
      if (rest.front() == sub->name) return process(ctx, *sub, rest);
    if (!cmd.run) {
      std::cerr << "unknown cmd: " << rest.front() << "\n";
      return invalid_argument("unknown cmd: " + rest.front());
    }
  }
  if (!cmd.run) return invalid_argument(std::string("nothing to do for ") + cmd.name);
  return cmd.run(ctx, cmd, rest);
}

// --- the registry commands --------------------------------------------------------------

status run_add(context& ctx, const command&, const args_t& names) {
  auto md = new_md(names, ctx.acme.ca_url);
  if (!md) return md.error();
  auto added = add_md(*ctx.store, *md);
  if (!added) return report(added.error());
  print_md(ctx, *added);
  return {};
}

status run_list(context& ctx, const command&, const args_t& names) {
  if (names.empty()) {
    for (const auto& md : stored_mds(ctx)) print_md(ctx, md);
    return {};
  }
  for (const auto& name : names) {
    auto md = load_md(*ctx.store, name);
    if (!md && !is_not_found(md.error()) && apr_status(md.error()) != k_apr_enoent) return report(md.error());
    std::optional<managed_domain> found;
    if (md) found = *md;
    if (!found) found = find_md(*ctx.store, name);
    if (!found) {
      std::cerr << "managed domain not found: " << name << "\n";
      return not_found("managed domain not found: " + name);
    }
    print_md(ctx, *found);
  }
  return {};
}

status run_update(context& ctx, const command& cmd, const args_t& args) {
  if (args.empty()) usage(cmd, "needs md name");
  const std::string& name = args[0];
  auto md = load_md(*ctx.store, name);
  if (!md) return missing_or_report(ctx, name, md.error());
  md_update u;
  if (!ctx.acme.ca_url.empty() && (md->ca.urls.size() != 1 || md->ca.urls.front() != ctx.acme.ca_url))
    u.ca_urls = std::vector<std::string>{ctx.acme.ca_url};
  if (args.size() > 1) {
    const std::string& what = args[1];
    const args_t values(args.begin() + 2, args.end());
    if (what == "domains") {
      if (values.empty()) {
        std::cerr << "update domains needs at least 1 domain name as parameter\n";
        return general_error("update domains needs at least 1 domain name as parameter");
      }
      u.domains = values;
    } else if (what == "account") {
      u.ca_account = values.empty() ? std::string() : values.front();
    } else if (what == "ca") {
      if (values.empty()) usage(cmd, "update name ca <url> [proto]");
      u.ca_urls = std::vector<std::string>{values[0]};
      if (values.size() > 1) u.ca_proto = values[1];
    } else if (what == "contacts") {
      std::vector<std::string> contacts;
      for (const auto& c : values) contacts.push_back(contact_uri(c));
      if (contacts.empty()) {
        std::cerr << "update contacts needs at least 1 contact email\n";
        return invalid_argument("update contacts needs at least 1 contact email");
      }
      u.contacts = contacts;
    } else if (what == "agreement") {
      u.agreement = values.empty() ? std::string() : values.front();
    } else {
      std::cerr << "unknown update aspect: " << what << "\n";
      return not_implemented("unknown update aspect: " + what);
    }
  }
  if (u.empty()) ctx.say("no changes necessary");
  auto updated = update_md(*ctx.store, md->name, u);
  if (!updated) return report(updated.error());
  print_md(ctx, *updated);
  return {};
}

status run_drive(context& ctx, const command&, const args_t& names) {
  std::vector<managed_domain> mds;
  if (names.empty()) {
    mds = stored_mds(ctx);
  } else {
    for (const auto& name : names) {
      auto md = load_md(*ctx.store, name);
      if (!md) return missing_or_report(ctx, name, md.error());
      mds.push_back(*md);
    }
  }
  drive_options o;
  o.force = ctx.force;
  o.reset = ctx.reset;
  o.challenge = ctx.challenge;
  for (const auto& md : mds)
    if (auto s = drive_md(*ctx.store, ctx.acme, md, o, [&](const std::string& l) { ctx.say(l); }); !s)
      return report(s.error());
  return {};
}

// --- store ----------------------------------------------------------------------------

status run_store_add(context& ctx, const command&, const args_t& names) {
  auto md = new_md(names, ctx.acme.ca_url);
  if (!md) return md.error();
  md->transitive = -1;
  md->renew_mode = md_renew_mode::unset;
  auto saved = store_add(*ctx.store, *md);
  if (!saved) return report(saved.error());
  print_md(ctx, *saved);
  return {};
}

status run_store_remove(context& ctx, const command& cmd, const args_t& names) {
  if (names.empty()) usage(cmd, "needs at least one name");
  for (const auto& name : names)
    if (auto s = store_remove(*ctx.store, name, ctx.force); !s) return report(s.error());
  return {};
}

status run_store_list(context& ctx, const command&, const args_t&) {
  auto names = ctx.store->list_names(store_group::domains);
  if (!names) return report(names.error());
  for (const auto& name : *names) {
    if (!ctx.store->exists(store_group::domains, name, aspect::md)) continue;
    auto j = ctx.store->load_json(store_group::domains, name, aspect::md);
    if (!j) return report(j.error());
    auto md = md_from_json(*j, "domains/" + name + "/md.json");
    if (!md) return report(md.error());
    print_md(ctx, *md);
  }
  return {};
}

status run_store_update(context& ctx, const command& cmd, const args_t& args) {
  if (args.empty()) usage(cmd, "needs md name");
  std::optional<std::vector<std::string>> domains;
  if (args.size() > 1) {
    if (args[1] != "domains") {
      std::cerr << "unknown update aspect: " << args[1] << "\n";
      return not_implemented("unknown update aspect: " + args[1]);
    }
    domains = std::vector<std::string>(args.begin() + 2, args.end());
    if (domains->empty()) {
      std::cerr << "update domains needs at least 1 domain name as parameter\n";
      return general_error("update domains needs at least 1 domain name as parameter");
    }
  }
  auto md = store_update(*ctx.store, args[0], domains, ctx.acme.ca_url);
  if (!md) return missing_or_report(ctx, args[0], md.error());
  print_md(ctx, *md);
  return {};
}

// --- acme -----------------------------------------------------------------------------

status run_newreg(context& ctx, const command& cmd, const args_t& args) {
  std::vector<std::string> contacts;
  for (const auto& a : args) contacts.push_back(contact_uri(a));
  if (contacts.empty()) usage(cmd, "newreg needs at least one contact email as argument");
  auto id = new_registration(*ctx.store, ctx.acme, contacts, ctx.tos);
  if (!id) return report(id.error());
  std::cout << "registered: " << *id << "\n";
  return {};
}

status run_validate(context& ctx, const command&, const args_t& ids) {
  for (const auto& id : ids) {
    if (auto s = validate_account(*ctx.store, ctx.acme, id); !s) return report(s.error());
    std::cout << "account valid: " << id << "\n";
  }
  return {};
}

status run_agree(context& ctx, const command&, const args_t& ids) {
  for (const auto& id : ids) {
    if (auto s = agree_tos(*ctx.store, ctx.acme, id, ctx.tos); !s) return report(s.error());
    std::cout << "agreed terms-of-service: " << id << "\n";
  }
  return {};
}

status run_delreg(context& ctx, const command&, const args_t& ids) {
  for (const auto& id : ids)
    if (auto s = delete_account(*ctx.store, id); !s) return report(s.error());
  return {};
}

const command k_add{"add", k_registry, {}, {}, run_add, "add [opts] domain [domain...]",
                    "Adds a new managed domain. Must not overlap with existing domains."};
const command k_update{"update", k_registry, {}, {}, run_update, "update name [ 'aspect' args ]",
                       "update a managed domain's properties, where 'aspect' is one of: 'domains', "
                       "'ca', 'account', 'contacts' or 'agreement'"};
const command k_list{"list", k_registry, {}, {}, run_list, "list", "list all managed domains"};
const command k_drive{"drive",
                      k_registry,
                      {{"challenge", 'c', true, "which challenge type to use"},
                       {"force", 'f', false, "force driving the managed domain, even when it seems valid"},
                       {"reset", 'r', false, "reset any staging data for the managed domain"}},
                      {},
                      run_drive,
                      "drive [md...]",
                      "drive all or the mentioned managed domains toward completeness"};

const command k_store_add{"add", k_needs_store, {}, {}, run_store_add, "add dns [dns2...]",
                          "add a new managed domain 'dns' with all the additional domain names"};
const command k_store_remove{"remove", k_needs_store, {{"force", 'f', false, "force removal, be silent about missing domains"}},
                             {}, run_store_remove, "remove [options] name [name...]",
                             "remove the managed domains <name> from the store"};
const command k_store_list{"list", k_needs_store, {}, {}, run_store_list, "list", "list all managed domains in the store"};
const command k_store_update{"update", k_needs_store, {}, {}, run_store_update, "update <name>",
                             "update the managed domain <name> in the store"};
const command k_store{"store", k_needs_store, {}, {&k_store_add, &k_store_remove, &k_store_list, &k_store_update},
                      nullptr, "store cmd [opts] [args]", "manipulate the MD store"};

const command k_newreg{"newreg", k_needs_store, {}, {}, run_newreg, "newreg contact-uri [contact-uri...]",
                       "register a new account at ACME server with given contact uri (email)"};
const command k_delreg{"delreg", k_needs_store | k_registry, {}, {}, run_delreg, "delreg account",
                       "delete an existing ACME account"};
const command k_agree{"agree", k_needs_store, {}, {}, run_agree, "agree account", "agree to ACME terms of service"};
const command k_validate{"validate", k_needs_store, {}, {}, run_validate, "validate account",
                         "validate account existence"};
const command k_acme{"acme", k_needs_store, {}, {&k_newreg, &k_delreg, &k_agree, &k_validate},
                     nullptr, "acme cmd [opts] [args]", "play with the ACME server"};

const command k_main{"a2md",
                     k_none,
                     {{"acme", 'a', true, "the url of the ACME server directory"},
                      {"cafile", 'C', true, "file with root certificates (PEM format)"},
                      {"dir", 'd', true, "directory for file data"},
                      {"help", 'h', false, "print usage information"},
                      {"json", 'j', false, "produce json output"},
                      {"proxy", 'p', true, "use the HTTP proxy url"},
                      {"quiet", 'q', false, "produce less output"},
                      {"terms", 't', true, "you agree to the terms of services (url)"},
                      {"verbose", 'v', false, "produce more output"},
                      {"version", 'V', false, "print version"}},
                     {&k_acme, &k_add, &k_update, &k_drive, &k_list, &k_store},
                     nullptr,
                     "a2md [options] cmd [cmd options] [args]",
                     "Show and manipulate Apache Managed Domains"};

} // namespace

int main(int argc, char** argv) {
  const args_t args(argv, argv + argc);
  context ctx;
  const status result = process(ctx, k_main, args);
  const int st = result ? k_apr_success : apr_status(result.error());
  if (ctx.json_out) {
    (*ctx.json_out)["status"] = st;
    if (!result) (*ctx.json_out)["description"] = apr_description(st);
    std::cout << ctx.json_out->dump(2) << "\n";
  }
  return result ? 0 : 1;
}
