// pebble-run: starts pebble + pebble-challtestsrv the way the tests do (tests/support/pebble.hpp)
// for scripts — the benchmarks and the README demo — and keeps them running until stdin closes
// or SIGTERM/SIGINT arrives; then stops them by PID.
//
//   pebble-run [--http-port N] [--tls-port N] [--eab KID=HMAC]...
//
// Prints, once everything answers, one line per fact for a shell to read:
//   DIRECTORY=https://127.0.0.1:P/dir
//   CA_FILE=<file to trust for the ACME connection>
//   ROOT_FILE=<pebble's issuance root, PEM>
//   CHALLTESTSRV=http://127.0.0.1:C
//   READY
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <poll.h>
#include <string>
#include <unistd.h>

#include "tests/support/pebble.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

} // namespace

int main(int argc, char** argv) {
  mda::test::pebble_options opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--http-port" && i + 1 < argc) {
      opts.http_port = std::atoi(argv[++i]);
    } else if (a == "--tls-port" && i + 1 < argc) {
      opts.tls_port = std::atoi(argv[++i]);
    } else if (a == "--eab" && i + 1 < argc) {
      std::string kv = argv[++i];
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "pebble-run: --eab wants KID=HMAC, got '" << kv << "'\n";
        return 2;
      }
      opts.eab_required = true;
      opts.eab_keys[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else {
      std::cerr << "usage: pebble-run [--http-port N] [--tls-port N] [--eab KID=HMAC]...\n";
      return 2;
    }
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    mda::test::pebble_fixture pebble(opts);
    std::cout << "DIRECTORY=" << pebble.directory_url() << "\n"
              << "CA_FILE=" << pebble.ca_file() << "\n"
              << "ROOT_FILE=" << pebble.write_root_file() << "\n"
              << "CHALLTESTSRV=" << pebble.challtestsrv_url() << "\n"
              << "READY" << std::endl;
    // Until stdin reaches EOF (the script closed its end) or a signal says stop.
    while (!g_stop) {
      pollfd p{0, POLLIN, 0};
      int r = poll(&p, 1, 200);
      if (r > 0) {
        char buf[256];
        if (read(0, buf, sizeof buf) <= 0) break;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "pebble-run: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
