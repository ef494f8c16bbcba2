#!/bin/bash
# Benchmark: mod_mdactor.so against Debian's mod_md.so, each loaded by a private Apache
# (own ServerRoot under a temp dir, 127.0.0.1 ports, mpm_event, mod_ssl, User www-data), both
# configured identically, measured in the same run, alternating module by module, ROUNDS runs
# each; prints medians and the ratio mod_md / mdactor (> 1: mdactor is better; for handshakes/s,
# where more is better, the ratio is mdactor / mod_md, so > 1 still means mdactor is better).
#
#   bench/apache_compare.sh [BUILD_DIR] [ROUNDS]
#   PARTS="certify start status handshakes" bench/apache_compare.sh build 3
#   PARTS=live bench/apache_compare.sh build 5
#
# Parts (PARTS, default all five):
#   certify     N MDs (CERT_COUNTS, default "1 10 100"; two names each, one TLS vhost each) with
#               each key (CERT_KEYS, default "rsa2048 p256") against pebble (PEBBLE_VA_NOSLEEP=1),
#               empty store: start time (apache2 -k start until http://127.0.0.1:PORT/ answers),
#               time from start until every staging/<md>/job.json says "finished": true, CPU
#               seconds of the Apache process tree at that point (parent, children, mdactor's
#               engine process; utime + stime incl. reaped children) plus those of the
#               `apache2 -k start` process (first configuration pass), peak RSS (VmHWM) of that
#               tree: the sum over its processes and the largest one; and the tree's PSS at
#               that point (smaps_rollup: shared pages counted once, so a forked process such
#               as mdactor's engine adds only what it does not share).
#   start       N MDs (START_COUNTS, default "1000 10000"; P-256, one name, one vhost each), the
#               CA unreachable (a closed 127.0.0.1 port), empty store: start time; after SETTLE
#               seconds (default 10) the RSS of the parent, of the engine process (mdactor only:
#               mod_md has no separate process; its renewal watchdog is a thread inside Apache),
#               and of the whole tree (RSS summed, and PSS); CPU of the tree.
#   status      md-status (plain http, <Location /md-status>) with STATUS_N MDs (default 10000):
#               median curl time_total of STATUS_REQS requests (default 7); runs inside the
#               "start" instance of that size (started for it when "start" is not selected).
#   handshakes  HS_N MDs (default 1000) whose P-256 certificates (from a test CA made here)
#               are already in the store (domains/<md>/privkey.secp256r1.pem + pubcert...), the
#               CA unreachable: full TLS handshakes per second over HS_SECS seconds (default
#               10), HS_PROCS client processes (default 2), SNI spread over all names (a small
#               OpenSSL client compiled here; no session resumption), after HS_WARMUP seconds
#               (default 3) of the same load so that the MPM has started the children it
#               needs; also the server CPU (utime + stime of the apache2 processes) per handshake.
#   live        the handshakes part (same store, client and rounds) with more mdactor
#               variants in the rotation, for issue 16's "within 5 % of a static setup":
#               mod_md (static certificates, the baseline); mdactor with MDActivation live (the
#               default), nothing swapped (the certificate callback returns at once); mdactor
#               after a live swap of every MD (once Apache answers: a second set of HS_N
#               certificates from the same test CA written to staging/<md>/ as a finished,
#               announced renewal, then <MDStoreDir>/mdactor/live.json naming all of them;
#               measured once every child logged MDA0153 for every MD, so each handshake takes
#               the callback's SSL_use_cert_and_key path); mdactor with MDActivation restart
#               (no callback; LIVE_RESTART=0 leaves it out). Also prints the seconds from
#               writing live.json until every child serves all HS_N sets. A fresh store per
#               round for the swapped variant (the next start would move the set to domains/);
#               after the warm-up it waits for MDA0153 again (a child the warm-up started
#               loads every set first). ONLY=mdactor runs the mdactor variants,
#               ONLY=mdactor_swapped that one.
# KEEP=1 keeps the work directory (stores, configs, Apache logs).
# ONLY=mdactor or ONLY=mod_md measures one of them (quick checks; ratios are then nan).
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-3}
PARTS=${PARTS:-"certify start status handshakes live"}
CERT_COUNTS=${CERT_COUNTS:-"1 10 100"}
CERT_KEYS=${CERT_KEYS:-"rsa2048 p256"}
START_COUNTS=${START_COUNTS:-"1000 10000"}
START_ROUNDS=${START_ROUNDS:-$ROUNDS}
SETTLE=${SETTLE:-10}
STATUS_N=${STATUS_N:-10000}
STATUS_REQS=${STATUS_REQS:-7}
HS_N=${HS_N:-1000}
HS_SECS=${HS_SECS:-10}
HS_PROCS=${HS_PROCS:-2}
HS_WARMUP=${HS_WARMUP:-3}
LIVE_RESTART=${LIVE_RESTART:-1}
LIVE_TIMEOUT=${LIVE_TIMEOUT:-300}
CERT_TIMEOUT=${CERT_TIMEOUT:-900}
START_TIMEOUT=${START_TIMEOUT:-1800}

PEBBLE_RUN=$(realpath -m "$BUILD/pebble-run")
MDACTOR_SO=$(realpath -m "$BUILD/mod_mdactor.so")
MODS=/usr/lib/apache2/modules
. "$(dirname "$0")/lib.sh"
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
[ -f "$MDACTOR_SO" ] || { echo "build first: cmake --build $BUILD --target mod_mdactor" >&2; exit 1; }
[ -x "$PEBBLE_RUN" ] || ! has_part certify || { echo "the certify part needs $PEBBLE_RUN (cmake --build $BUILD)" >&2; exit 1; }
[ -f "$MODS/mod_md.so" ] || { echo "needs Debian's apache2 (mod_md.so)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/mdactor-apache-XXXXXX)
chmod 755 "$WORK"   # the Apache children (www-data) read the store
PEBBLE_PID=""
LIVE_ROOT=""
cleanup() {
  [ -n "$LIVE_ROOT" ] && stop_apache "$LIVE_ROOT" || true
  [ -n "$PEBBLE_PID" ] && kill "$PEBBLE_PID" 2>/dev/null && wait "$PEBBLE_PID" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# Results: R["metric|module|case"] = space-separated values of the runs.
declare -A R
add() { R["$1|$2|$3"]="${R["$1|$2|$3"]:-} $4"; }
med() {
  local v
  v=$(printf '%s\n' ${R["$1|$2|$3"]:-} | grep -v '^nan$' || true)
  [ -n "$v" ] && echo "$v" | median || echo nan
}

MODULES="mod_md mdactor"
# Alternate which module goes first from run to run.
# ONLY=mdactor (or mod_md) measures one module (quick checks; the ratio column is then nan).
order() {
  if [ -n "${ONLY:-}" ]; then echo "$ONLY"; return; fi
  [ $(($1 % 2)) -eq 1 ] && echo "mod_md mdactor" || echo "mdactor mod_md"
}
module_so() { [ "$1" = mod_md ] && echo "$MODS/mod_md.so" || echo "$MDACTOR_SO"; }

# The variants of the handshake rounds (parts handshakes and live): a module, or mdactor with
# a suffix (write_conf and handshake_run tell them apart). ONLY=mdactor keeps all of mdactor's.
hs_variants() {
  local all="mod_md mdactor" v
  has_part live && all="$all mdactor_swapped"
  has_part live && [ "$LIVE_RESTART" = 1 ] && all="$all mdactor_restart"
  for v in $all; do
    [ -z "${ONLY:-}" ] || [ "$v" = "$ONLY" ] || [ "${v%%_*}" = "$ONLY" ] && echo "$v"
  done
  return 0
}
# hs_order ROUND: the variants, the first one moving on by one each round.
hs_order() {
  local v=($(hs_variants)) i
  for i in "${!v[@]}"; do echo "${v[$(((i + $1 - 1) % ${#v[@]}))]}"; done | xargs
}

# write_conf ROOT MODULE HTTP HTTPS CA_URL CA_FILE KEYSPEC NAMES...: httpd.conf with one MD and
# one TLS vhost per entry of NAMES ("name" or "name+www": the MD gets www.<name> too).
write_conf() {
  local root=$1 module=$2 http=$3 https=$4 ca=$5 cafile=$6 spec=$7 e name
  shift 7
  mkdir -p "$root/htdocs"
  echo ok >"$root/htdocs/index.html"
  {
    echo "ServerRoot $root"
    echo "DefaultRuntimeDir $root"
    echo "PidFile $root/httpd.pid"
    echo "ErrorLog $root/error.log"
    echo "LogLevel notice md:info"
    echo "ServerName localhost"
    echo "DocumentRoot $root/htdocs"
    echo "User www-data"
    echo "Group www-data"
    echo "Listen 127.0.0.1:$http"
    echo "Listen 127.0.0.1:$https"
    for m in mpm_event authz_core socache_shmcb ssl; do
      echo "LoadModule ${m}_module $MODS/mod_${m}.so"
    done
    echo "LoadModule md_module $(module_so "$module")"
    echo "MDStoreDir $root/md"
    echo "MDCertificateAuthority $ca"
    [ -n "$cafile" ] && echo "MDCACertificateFile $cafile"
    echo "MDCertificateAgreement accepted"
    echo "MDContactEmail bench@example.test"
    echo "MDPortMap http:$http https:$https"
    echo "MDCAChallenges http-01"
    echo "MDPrivateKeys $spec"
    [ "$module" = mdactor_restart ] && echo "MDActivation restart"
    echo "<Location /md-status>"
    echo "  SetHandler md-status"
    echo "</Location>"
    for e in "$@"; do
      name=${e%+www}
      if [ "$e" != "$name" ]; then echo "MDomain $name www.$name"; else echo "MDomain $name"; fi
      echo "<VirtualHost 127.0.0.1:$https>"
      echo "  ServerName $name"
      [ "$e" != "$name" ] && echo "  ServerAlias www.$name"
      echo "  SSLEngine on"
      echo "</VirtualHost>"
    done
  } >"$root/httpd.conf"
}

apache_pid() { cat "$1/httpd.pid" 2>/dev/null || echo 0; }
engine_pid() {
  local pid
  pid=$(apache_pid "$1")
  [ "$pid" -gt 0 ] && pgrep -P "$pid" -x md-engine 2>/dev/null | head -1 || true
}

# start_apache ROOT HTTP_PORT: starts it; prints the seconds until the port answers. Called in
# $(...), so the caller sets LIVE_ROOT (what cleanup stops).
start_apache() {
  local root=$1 t0 t1
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$root/start.cpu" apache2 -d "$root" -f "$root/httpd.conf" -k start ||
    { tail -20 "$root/error.log" >&2; return 1; }
  wait_http "$2" "$START_TIMEOUT" || { log "no answer on port $2"; tail -20 "$root/error.log" >&2; return 1; }
  t1=$(now)
  echo "$t0 $t1" | awk '{printf "%.3f\n", $2 - $1}'
}

# all_cpu ROOT: CPU seconds of the Apache tree now plus the `apache2 -k start` process (the
# configuration's first pass runs there, e.g. mod_md's fallback keys; it has exited by then).
all_cpu() {
  local fg
  fg=$(awk '{print $1 + $2}' "$1/start.cpu" 2>/dev/null || echo 0)
  echo "$(tree_cpu "$(apache_pid "$1")") ${fg:-0}" | awk '{printf "%.2f\n", $1 + $2}'
}

# stop_apache ROOT: stops it and waits until the parent and the engine are gone.
stop_apache() {
  local root=$1 pid eng
  pid=$(apache_pid "$root")
  eng=$(engine_pid "$root")
  apache2 -d "$root" -f "$root/httpd.conf" -k stop 2>/dev/null || true
  for _ in $(seq 1 600); do
    { [ "$pid" -gt 0 ] && kill -0 "$pid" 2>/dev/null; } || { [ -n "$eng" ] && kill -0 "$eng" 2>/dev/null; } ||
      break
    sleep 0.1
  done
  LIVE_ROOT=""
}

# ---------------------------------------------------------------- certify
certify_run() {   # certify_run MODULE N KEY ROUND
  local module=$1 n=$2 key=$3 r=$4 root="$WORK/c-$1-$2-$3-$4" names=() spec i st t0 t1 done pid
  [ "$key" = p256 ] && spec=secp256r1 || spec="RSA 2048"
  for i in $(seq 0 $((n - 1))); do names+=("c$i-r$r-${module//_/}-$key.bench.test+www"); done
  mkdir -p "$root"
  write_conf "$root" "$module" "$HTTP_PORT" "$HTTPS_PORT" "$DIRECTORY" "$CA_FILE" "$spec" "${names[@]}"
  t0=$(now)
  LIVE_ROOT=$root
  st=$(start_apache "$root" "$HTTP_PORT") || { st=nan; stop_apache "$root"; }
  for _ in $(seq 1 $((CERT_TIMEOUT * 10))); do
    done=$(grep -l '"finished": *true' "$root"/md/staging/*/job.json 2>/dev/null | wc -l || true)
    [ "$done" -ge "$n" ] && break
    sleep 0.1
  done
  t1=$(now)
  pid=$(apache_pid "$root")
  local cpu=nan mem="nan nan" pss=nan
  if [ "$pid" -gt 0 ] && kill -0 "$pid" 2>/dev/null; then
    cpu=$(all_cpu "$root")
    mem=$(tree_mem "$pid" VmHWM)
    pss=$(tree_pss "$pid")
  fi
  stop_apache "$root"
  local c="$n $key" total
  total=$(echo "$t0 $t1" | awk '{printf "%.3f\n", $2 - $1}')
  [ "$done" -ge "$n" ] || { log "$module $c: only $done of $n certified"; tail -5 "$root/error.log" >&2; total=nan; }
  add start "$module" "$c" "$st"
  add certified "$module" "$c" "$total"
  add cpu "$module" "$c" "$cpu"
  add rss_sum "$module" "$c" "${mem% *}"
  add rss_max "$module" "$c" "${mem#* }"
  add pss "$module" "$c" "$pss"
  log "certify $module N=$n $key round $r: start ${st}s certified ${total}s cpu ${cpu}s rss sum/max ${mem} MB pss ${pss} MB"
  [ -n "${KEEP:-}" ] || rm -rf "$root"
}

# ---------------------------------------------------------------- start (+ status)
status_probe() {   # status_probe MODULE ROOT PORT: STATUS_REQS md-status requests
  local module=$1 root=$2 port=$3 out
  for _ in $(seq 1 "$STATUS_REQS"); do
    out=$(curl -s -o "$root/md-status.out" -w '%{http_code} %{size_download} %{time_total}' --max-time 60 \
      "http://127.0.0.1:$port/md-status" || echo "000 0 nan")
    read -r code size secs <<<"$out"
    [ "$code" = 200 ] || { log "md-status $module: HTTP $code"; secs=nan; }
    add status_ms "$module" "$STATUS_N" "$(echo "$secs" | awk '{printf "%.1f", $1 * 1000}')"
    add status_kb "$module" "$STATUS_N" "$(echo "$size" | awk '{printf "%.0f", $1 / 1024}')"
  done
  log "md-status $module N=$STATUS_N: ${R["status_ms|$module|$STATUS_N"]} ms, $((size / 1024)) KB"
}

start_run() {   # start_run MODULE N ROUND
  local module=$1 n=$2 r=$3 root="$WORK/s-$1-$2-$3" names=() i st pid eng http https
  for i in $(seq 0 $((n - 1))); do names+=("s$i.bench.test"); done
  mkdir -p "$root"
  for _ in 1 2 3; do   # a port taken between free_port and bind: new ports, new store
    http=$(free_port); https=$(free_port)
    rm -rf "$root/md"
    write_conf "$root" "$module" "$http" "$https" "http://127.0.0.1:$CLOSED_PORT/directory" "" \
      secp256r1 "${names[@]}"
    LIVE_ROOT=$root
    st=$(start_apache "$root" "$http") && break || st=nan
    stop_apache "$root"
  done
  [ "$st" != nan ] || { log "start $module N=$n round $r failed"; return 0; }
  sleep "$SETTLE"
  pid=$(apache_pid "$root")
  eng=$(engine_pid "$root")
  local parent_rss eng_rss tree tree_p cpu
  parent_rss=$(proc_kb "$pid" VmRSS | awk '{printf "%.1f", $1 / 1024}')
  eng_rss=nan
  [ -n "$eng" ] && eng_rss=$(proc_kb "$eng" VmRSS | awk '{printf "%.1f", $1 / 1024}')
  tree=$(tree_mem "$pid" VmRSS)
  tree_p=$(tree_pss "$pid")
  cpu=$(all_cpu "$root")
  if [ "$want_start" = 1 ]; then
    add start "$module" "$n" "$st"
    add parent_rss "$module" "$n" "$parent_rss"
    add engine_rss "$module" "$n" "$eng_rss"
    add tree_rss "$module" "$n" "${tree% *}"
    add tree_pss "$module" "$n" "$tree_p"
    add start_cpu "$module" "$n" "$cpu"
    log "start $module N=$n round $r: ${st}s, RSS parent ${parent_rss} engine ${eng_rss} tree ${tree% *} MB, PSS tree ${tree_p} MB, cpu ${cpu}s"
  fi
  [ "$n" = "$STATUS_N" ] && has_part status && status_probe "$module" "$root" "$http"
  stop_apache "$root"
  [ -n "${KEEP:-}" ] || rm -rf "$root"
}

# ---------------------------------------------------------------- handshakes
# make_cert_store DIR N [STAGED]: store with N certified MDs; names in DIR/names. With STAGED,
# a second set per MD in DIR/staged/<md>/ (the live swap) and its SHA-256 fingerprints
# ("name hex" lines) in DIR/staged.fp.
make_cert_store() {
  python3 - "$1" "$2" "${3:-}" <<'PY'
import datetime, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
out, n, staged = sys.argv[1], int(sys.argv[2]), sys.argv[3] != ""
now = datetime.datetime.now(datetime.timezone.utc)
def pem_key(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())
ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mdactor bench test CA")])
ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .sign(ca_key, hashes.SHA256()))
ca_pem = ca.public_bytes(serialization.Encoding.PEM)
open(os.path.join(out, "ca.pem"), "wb").write(ca_pem)
def leaf(name, d):   # key + chain for name in directory d; returns the leaf
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=89))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(d, mode=0o700)
    with open(os.path.join(d, "privkey.secp256r1.pem"), "wb") as f:
        f.write(pem_key(key))
    os.chmod(os.path.join(d, "privkey.secp256r1.pem"), 0o600)
    with open(os.path.join(d, "pubcert.secp256r1.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    return cert
names, fps = [], []
for i in range(n):
    name = "h%d.bench.test" % i
    names.append(name)
    leaf(name, os.path.join(out, "md", "domains", name))
    if staged:
        fps.append("%s %s" % (name, leaf(name, os.path.join(out, "staged", name)).fingerprint(hashes.SHA256()).hex()))
open(os.path.join(out, "names"), "w").write("\n".join(names) + "\n")
if staged:
    open(os.path.join(out, "staged.fp"), "w").write("\n".join(fps) + "\n")
PY
}

build_hs_client() {   # a TLS handshake loop: hs PORT NAMES_FILE SECONDS PROCS -> "per_second failures"
  cat >"$WORK/hs.c" <<'C'
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  if (argc != 5) return 2;
  int port = atoi(argv[1]), procs = atoi(argv[4]), n = 0, cap = 0;
  double secs = atof(argv[3]);
  char line[512], **names = NULL;
  FILE *f = fopen(argv[2], "r");
  if (!f) return 2;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!*line) continue;
    if (n == cap) { cap = cap ? cap * 2 : 64; names = realloc(names, cap * sizeof *names); }
    names[n++] = strdup(line);
  }
  fclose(f);
  if (n == 0 || procs < 1 || procs > 64) return 2;
  int pipes[64][2];
  for (int p = 0; p < procs; ++p) {
    if (pipe(pipes[p])) return 1;
    if (fork() == 0) {
      SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
      struct sockaddr_in a;
      memset(&a, 0, sizeof a);
      a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      struct linger lg = {1, 0};   /* reset on close: no TIME_WAIT pile-up */
      long ok = 0, bad = 0;
      double end = now() + secs;
      for (int i = p; now() < end; i += procs) {
        int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (connect(s, (struct sockaddr *)&a, sizeof a)) { close(s); ++bad; usleep(1000); continue; }
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, s);
        SSL_set_tlsext_host_name(ssl, names[i % n]);
        if (SSL_connect(ssl) == 1) { ++ok; SSL_shutdown(ssl); } else ++bad;
        SSL_free(ssl);
        close(s);
      }
      dprintf(pipes[p][1], "%ld %ld\n", ok, bad);
      _exit(0);
    }
    close(pipes[p][1]);
  }
  long ok = 0, bad = 0;
  for (int p = 0; p < procs; ++p) {
    long o = 0, b = 0;
    FILE *in = fdopen(pipes[p][0], "r");
    if (in && fscanf(in, "%ld %ld", &o, &b) == 2) { ok += o; bad += b; }
    if (in) fclose(in);
    wait(NULL);
  }
  printf("%.1f %ld\n", ok / secs, bad);
  return 0;
}
C
  cc -O2 -o "$WORK/hs" "$WORK/hs.c" -lssl -lcrypto
}

# check_served HTTPS NAME PUBCERT: NAME is served PUBCERT's leaf, verified against the test CA.
check_served() {
  local out
  out=$(echo | openssl s_client -connect "127.0.0.1:$1" -servername "$2" -CAfile "$WORK/hs-store/ca.pem" \
    -verify_hostname "$2" -verify_return_error 2>&1) || return 1
  grep -q 'Verify return code: 0 (ok)' <<<"$out" &&
    [ "$(openssl x509 -noout -fingerprint -sha256 <<<"$out")" = \
      "$(openssl x509 -noout -fingerprint -sha256 -in "$3")" ]
}

# live_swap STORE: what the engine leaves after renewing every MD with MDActivation live: the
# second set of each MD in staging/<md>/ (md.json naming the CA, the chain, the key encrypted
# with the store secret, job.json finished and announced, all the User's), then
# mdactor/live.json naming every MD with its new leaf's fingerprint (store/live.hpp).
live_swap() {
  python3 - "$1" "$WORK/hs-store" <<'PY'
import base64, datetime, email.utils, json, os, pwd, shutil, sys
from cryptography.hazmat.primitives import serialization
store, src = sys.argv[1], sys.argv[2]
user = pwd.getpwnam("www-data")
secret = json.load(open(os.path.join(store, "md_store.json")))["key"]
passphrase = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
now = datetime.datetime.now(datetime.timezone.utc)
stamp = email.utils.format_datetime(now, usegmt=True)
def write(path, data, mode=0o600):
    with open(path, "w" if isinstance(data, str) else "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    os.chown(path, user.pw_uid, user.pw_gid)
mds = []
for line in open(os.path.join(src, "staged.fp")):
    name, fp = line.split()
    d = os.path.join(store, "staging", name)
    os.makedirs(d, mode=0o700)
    os.chown(d, user.pw_uid, user.pw_gid)
    have = os.path.join(src, "staged", name)
    key = serialization.load_pem_private_key(open(os.path.join(have, "privkey.secp256r1.pem"), "rb").read(), None)
    write(os.path.join(d, "privkey.secp256r1.pem"), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase)))
    write(os.path.join(d, "pubcert.secp256r1.pem"), open(os.path.join(have, "pubcert.secp256r1.pem")).read())
    write(os.path.join(d, "job.json"), json.dumps({
        "name": name, "finished": True, "notified": True, "notified-renewed": True,
        "last-run": stamp, "valid-from": stamp, "mdactor-live-since": stamp, "errors": 0}, indent=2))
    md = json.load(open(os.path.join(store, "domains", name, "md.json")))
    md["ca"]["url"] = md["ca"]["urls"][0]
    write(os.path.join(d, "md.json"), json.dumps(md, indent=2))   # last: the set is complete
    mds.append({"name": name, "since": stamp, "certs": [fp]})
live = os.path.join(store, "mdactor", "live.json")
write(live + ".bench", json.dumps({"version": 1, "generation": 1, "mds": mds}, indent=2))
os.rename(live + ".bench", live)
PY
}

# wait_live ROOT: until every child of ROOT's Apache logged MDA0153 (generation 1) for all HS_N
# MDs; prints the seconds it took. 1 after LIVE_TIMEOUT seconds.
wait_live() {
  local t0 end pid kids ok
  t0=$(now)
  end=$((SECONDS + LIVE_TIMEOUT))
  while [ "$SECONDS" -lt "$end" ]; do
    ok=1
    kids=$(pgrep -P "$(apache_pid "$1")" -x apache2 || true)
    [ -n "$kids" ] || ok=0
    for pid in $kids; do
      [ "$(grep -c "MDA0153: .* announced (generation 1) now served by process $pid:" "$1/error.log")" -ge "$HS_N" ] ||
        ok=0
    done
    [ "$ok" = 1 ] && { echo "$t0 $(now)" | awk '{printf "%.2f\n", $2 - $1}'; return 0; }
    sleep 0.2
  done
  return 1
}

children() { { pgrep -P "$(apache_pid "$1")" -x apache2 || true; } | wc -l; }   # children ROOT: how many

live_failed() {   # live_failed ROOT VARIANT: says so, stops the Apache
  log "handshakes $2: not every child served the swapped sets within ${LIVE_TIMEOUT}s" \
    "($(grep -c MDA0152 "$1/error.log" || true) MDA0152 lines)"
  grep -m3 MDA0152 "$1/error.log" >&2 || true
  stop_apache "$1"
}

handshake_run() {   # handshake_run VARIANT ROUND (hs_variants)
  local v=$1 r=$2 root="$WORK/h-$1" http=$HS_HTTP https=$HS_HTTPS pick out secs="" certs=md/domains c0 c1 us k0 k1
  # the swapped variant's next start would move its staged sets into domains/: a fresh store
  if [ "$v" = mdactor_swapped ] || [ ! -d "$root/md" ]; then
    rm -rf "$root/md"
    mkdir -p "$root"
    cp -a "$WORK/hs-store/md" "$root/md"
  fi
  mapfile -t names <"$WORK/hs-store/names"
  write_conf "$root" "$v" "$http" "$https" "http://127.0.0.1:$CLOSED_PORT/directory" "" \
    secp256r1 "${names[@]}"
  LIVE_ROOT=$root
  : >"$root/error.log"
  start_apache "$root" "$http" >/dev/null || { log "handshakes $v: start failed"; stop_apache "$root"; return 0; }
  if [ "$v" = mdactor_swapped ]; then
    live_swap "$root/md"
    secs=$(wait_live "$root") || { live_failed "$root" "$v"; return 0; }
    add live_load_s "$v" "$HS_N" "$secs"
    certs=staged
  fi
  # Warm-up: the MPM starts the children the load needs now, not during the measurement (a
  # child started after a swap loads every live set first: a cost per child, not per handshake).
  "$WORK/hs" "$https" "$WORK/hs-store/names" "$HS_WARMUP" "$HS_PROCS" >/dev/null
  if [ "$v" = mdactor_swapped ]; then wait_live "$root" >/dev/null || { live_failed "$root" "$v"; return 0; }; fi
  for pick in 0 $((HS_N / 2)) $((HS_N - 1)); do
    check_served "$https" "${names[$pick]}" "$WORK/hs-store/$certs/${names[$pick]}/pubcert.secp256r1.pem" ||
      { log "$v does not serve $certs/${names[$pick]}"; tail -5 "$root/error.log" >&2; }
  done
  k0=$(children "$root")
  c0=$(server_cpu "$(apache_pid "$root")")
  out=$("$WORK/hs" "$https" "$WORK/hs-store/names" "$HS_SECS" "$HS_PROCS")
  c1=$(server_cpu "$(apache_pid "$root")")
  k1=$(children "$root")
  [ "$k0" = "$k1" ] || log "handshakes $v: children $k0 -> $k1 during the measurement (figures include their start)"
  us=$(echo "$c0 $c1 ${out% *} $HS_SECS" | awk '{n = $3 * $4; if (n > 0) printf "%.0f\n", ($2 - $1) * 1e6 / n; else print "nan"}')
  add hs_per_s "$v" "$HS_N" "${out% *}"
  add hs_cpu_us "$v" "$HS_N" "$us"
  log "handshakes $v N=$HS_N round $r: ${out% *}/s (${out#* } failed), server CPU ${us} us per handshake$(
    [ -z "$secs" ] || echo "; every child served the swapped sets ${secs}s after live.json")"
  if [ "$v" = mdactor_swapped ] && ! grep -q '"generation": 1,' "$root/md/mdactor/live.json"; then
    log "handshakes $v: live.json was rewritten during the measurement (by the engine?)"
  fi
  stop_apache "$root"
}

# ---------------------------------------------------------------- run
CLOSED_PORT=$(free_port)
echo "mod_mdactor ($MDACTOR_SO) vs Debian mod_md $(dpkg-query -W -f='${Version}' apache2 2>/dev/null)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rounds: $ROUNDS (start parts: $START_ROUNDS), parts: $PARTS"

if has_part certify; then
  HTTP_PORT=$(free_port)
  HTTPS_PORT=$(free_port)
  start_pebble "$HTTP_PORT"
  cp "$CA_FILE" "$WORK/ca.pem" && chmod 644 "$WORK/ca.pem" && CA_FILE="$WORK/ca.pem"
  for key in $CERT_KEYS; do
    for n in $CERT_COUNTS; do
      for r in $(seq 1 "$ROUNDS"); do
        for m in $(order "$r"); do certify_run "$m" "$n" "$key" "$r"; done
      done
    done
  done
fi

want_start=0
has_part start && want_start=1
counts=""
[ "$want_start" = 1 ] && counts=$START_COUNTS
has_part status && { case " $counts " in *" $STATUS_N "*) ;; *) counts="$counts $STATUS_N" ;; esac; }
for n in $counts; do
  rounds=$START_ROUNDS
  [ "$want_start" = 1 ] || rounds=1
  for r in $(seq 1 "$rounds"); do
    for m in $(order "$r"); do start_run "$m" "$n" "$r"; done
  done
done

if has_part handshakes || has_part live; then
  mkdir -p "$WORK/hs-store"
  log "making $HS_N certificates$(has_part live && echo " and $HS_N more to swap in")"
  make_cert_store "$WORK/hs-store" "$HS_N" "$(has_part live && echo staged || true)"
  build_hs_client
  HS_HTTP=$(free_port)
  HS_HTTPS=$(free_port)
  for r in $(seq 1 "$ROUNDS"); do
    for v in $(hs_order "$r"); do handshake_run "$v" "$r"; done
  done
fi

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || b + 0 == 0) print "-"; else printf "%.2fx\n", a / b}'; }
row() {   # row METRIC CASE LABEL [inverse]
  local a b
  a=$(med "$1" mod_md "$2"); b=$(med "$1" mdactor "$2")
  if [ "${4:-}" = inverse ]; then
    printf '| %-34s | %10s | %10s | %8s |\n' "$3" "$a" "$b" "$(ratio "$b" "$a")"
  else
    printf '| %-34s | %10s | %10s | %8s |\n' "$3" "$a" "$b" "$(ratio "$a" "$b")"
  fi
}
if has_part certify || has_part start || has_part status || has_part handshakes; then
  echo
  echo "medians; ratio = mod_md / mdactor (handshakes/s: mdactor / mod_md); > 1 means mdactor is better"
  printf '| %-34s | %10s | %10s | %8s |\n' figure mod_md mdactor ratio
  echo "|---|---|---|---|"
fi
if has_part certify; then
  for key in $CERT_KEYS; do
    for n in $CERT_COUNTS; do
      c="$n $key"
      row start "$c" "$key N=$n: start s"
      row certified "$c" "$key N=$n: start to certified s"
      row cpu "$c" "$key N=$n: CPU s"
      row rss_sum "$c" "$key N=$n: peak RSS sum MB"
      row rss_max "$c" "$key N=$n: peak RSS max MB"
      row pss "$c" "$key N=$n: PSS sum MB (at certified)"
    done
  done
fi
if [ "$want_start" = 1 ]; then
  for n in $START_COUNTS; do
    row start "$n" "CA down N=$n: start s"
    row start_cpu "$n" "CA down N=$n: CPU s (start+settle)"
    row parent_rss "$n" "CA down N=$n: parent RSS MB"
    row engine_rss "$n" "CA down N=$n: engine RSS MB"
    row tree_rss "$n" "CA down N=$n: all processes RSS MB"
    row tree_pss "$n" "CA down N=$n: all processes PSS MB"
  done
fi
if has_part status; then
  row status_ms "$STATUS_N" "md-status N=$STATUS_N: ms"
  row status_kb "$STATUS_N" "md-status N=$STATUS_N: response KB"
fi
if has_part handshakes; then
  row hs_per_s "$HS_N" "TLS handshakes/s, $HS_N certs" inverse
  row hs_cpu_us "$HS_N" "server CPU us per handshake"
fi
if has_part live; then
  label() {
    case $1 in
      mod_md) echo "mod_md, static certificates" ;;
      mdactor) echo "mdactor, live, nothing swapped" ;;
      mdactor_swapped) echo "mdactor, live, all $HS_N swapped" ;;
      mdactor_restart) echo "mdactor, MDActivation restart" ;;
    esac
  }
  echo
  echo "live activation: full TLS handshakes/s with $HS_N MDs, median of $ROUNDS rounds; ratio = variant / mod_md"
  echo "(server CPU: utime + stime of the apache2 processes per handshake; ratio = mod_md / variant)"
  printf '| %-32s | %12s | %6s | %-36s | %7s | %6s |\n' variant "handshakes/s" ratio "rounds" "CPU us" ratio
  echo "|---|---|---|---|---|---|"
  base=$(med hs_per_s mod_md "$HS_N")
  base_us=$(med hs_cpu_us mod_md "$HS_N")
  for v in $(hs_variants); do
    printf '| %-32s | %12s | %6s | %-36s | %7s | %6s |\n' "$(label "$v")" "$(med hs_per_s "$v" "$HS_N")" \
      "$(ratio "$(med hs_per_s "$v" "$HS_N")" "$base")" "$(echo ${R["hs_per_s|$v|$HS_N"]:-})" \
      "$(med hs_cpu_us "$v" "$HS_N")" "$(ratio "$base_us" "$(med hs_cpu_us "$v" "$HS_N")")"
  done
  case " $(hs_variants | xargs) " in *" mdactor_swapped "*)
    echo "swap: live.json written -> every child serves all $HS_N sets: median $(med live_load_s mdactor_swapped "$HS_N") s" \
      "(rounds: $(echo ${R["live_load_s|mdactor_swapped|$HS_N"]:-}))" ;;
  esac
fi
exit 0
