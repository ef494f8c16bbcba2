#!/bin/bash
# Benchmark: TLS handshakes per second with OCSP stapling (issue 6), in one run, three private
# Apaches (mpm_event, mod_ssl) serving the same P-256 certificate (leaf + CA, AIA OCSP URL of
# an `openssl ocsp` responder on loopback) as a static MDCertificateFile MD:
#   off    - mod_mdactor, MDStapling off (the no-stapling rate),
#   on     - mod_mdactor, MDStapling on (staple from the workers' cache),
#   mod_md - Debian's mod_md, MDStapling on.
#
#   bench/stapling.sh [BUILD_DIR] [ROUNDS] [SECONDS]      e.g. bench/stapling.sh build 5 5
#
# The client is a small OpenSSL program compiled here: THREADS (default 2) threads doing full
# handshakes (no session reuse, TLS 1.3, status_request sent) for SECONDS, counting handshakes
# and how many carried a staple. The three servers are measured alternately, ROUNDS times;
# medians and ratios are printed. Both Apaches wait until they staple before measuring.
# KEEP=1 keeps the work directory.
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-5}
SECS=${3:-5}
THREADS=${THREADS:-2}
MODULE=$(realpath "$BUILD/mod_mdactor.so")
. "$(dirname "$0")/lib.sh"
MODS=/usr/lib/apache2/modules
[ -f "$MODULE" ] || { echo "build first: cmake --build $BUILD --target mod_mdactor" >&2; exit 1; }
[ -f "$MODS/mod_md.so" ] || { echo "needs Debian's apache2 (mod_md.so)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/mdactor-stapling-XXXXXX)
chmod 755 "$WORK"
RESPONDER_PID=""
cleanup() {
  for s in off on mod_md; do
    [ -f "$WORK/$s/httpd.conf" ] && apache2 -d "$WORK/$s" -f "$WORK/$s/httpd.conf" -k stop 2>/dev/null || true
  done
  [ -n "$RESPONDER_PID" ] && kill "$RESPONDER_PID" 2>/dev/null && wait "$RESPONDER_PID" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# --- the client ---------------------------------------------------------------------------
cat >"$WORK/hs.c" <<'C'
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static int port; static const char* sni; static double secs; static SSL_CTX* ctx;
static double mono(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
typedef struct { long done, stapled, failed; } counts;
static void* loop(void* arg) {
  counts* c = arg; double end = mono() + secs;
  struct sockaddr_in sa; memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET; sa.sin_port = htons(port); sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  while (mono() < end) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) { close(fd); c->failed++; continue; }
    SSL* ssl = SSL_new(ctx); SSL_set_fd(ssl, fd); SSL_set_tlsext_host_name(ssl, sni);
    SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
    if (SSL_connect(ssl) == 1) {
      const unsigned char* resp = NULL;
      c->done++;
      if (SSL_get_tlsext_status_ocsp_resp(ssl, &resp) > 0 && resp) c->stapled++;
      SSL_shutdown(ssl);
    } else c->failed++;
    SSL_free(ssl); close(fd);
  }
  return NULL;
}
int main(int argc, char** argv) {
  if (argc != 5) { fprintf(stderr, "usage: hs PORT SNI SECONDS THREADS\n"); return 2; }
  port = atoi(argv[1]); sni = argv[2]; secs = atof(argv[3]); int n = atoi(argv[4]);
  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  pthread_t th[64]; counts c[64]; memset(c, 0, sizeof c);
  double t0 = mono();
  for (int i = 0; i < n; ++i) pthread_create(&th[i], NULL, loop, &c[i]);
  long done = 0, stapled = 0, failed = 0;
  for (int i = 0; i < n; ++i) { pthread_join(th[i], NULL); done += c[i].done; stapled += c[i].stapled; failed += c[i].failed; }
  double t = mono() - t0;
  printf("%.1f %ld %ld %ld\n", done / t, done, stapled, failed);
  return 0;
}
C
cc -O2 -o "$WORK/hs" "$WORK/hs.c" -lssl -lcrypto -lpthread

# --- the CA, the certificate, the responder --------------------------------------------------
OCSP_PORT=$(free_port)
CA=$WORK/ca
mkdir -p "$CA/newcerts"
: >"$CA/index.txt"
echo 1000 >"$CA/serial"
cat >"$CA/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
database = $CA/index.txt
new_certs_dir = $CA/newcerts
certificate = $CA/ca.pem
private_key = $CA/ca.key
serial = $CA/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[leaf_ext]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:bench.test
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$OCSP_PORT/
[ocsp_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
EOF
q() { "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CA/ca.key" -out "$CA/ca.pem" \
  -subj "/CN=Bench Stapling CA" -days 2 -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign
issue() {  # issue NAME CN EXTENSIONS
  q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CA/$1.key" \
    -out "$CA/$1.csr" -subj "/CN=$2"
  q openssl ca -batch -config "$CA/ca.cnf" -extensions "$3" -days 2 -notext -in "$CA/$1.csr" -out "$CA/$1.pem"
}
issue leaf bench.test leaf_ext
issue responder "Bench OCSP Responder" ocsp_ext
cat "$CA/leaf.pem" "$CA/ca.pem" >"$CA/chain.pem"
chmod 644 "$CA"/*.key "$CA"/*.pem
openssl ocsp -index "$CA/index.txt" -port "$OCSP_PORT" -rsigner "$CA/responder.pem" -rkey "$CA/responder.key" \
  -CA "$CA/ca.pem" -nmin 60 >"$WORK/responder.log" 2>&1 &
RESPONDER_PID=$!
for _ in $(seq 1 100); do grep -q "waiting for OCSP client connections" "$WORK/responder.log" && break; sleep 0.1; done

# --- the three Apaches -------------------------------------------------------------------------
declare -A PORT
conf() {  # conf NAME MODULE STAPLING
  local d="$WORK/$1" m
  mkdir -p "$d/htdocs" && chmod 755 "$d"
  PORT[$1]=$(free_port)
  {
    echo "ServerRoot $d"
    echo "PidFile $d/httpd.pid"
    echo "ErrorLog $d/error.log"
    echo "DefaultRuntimeDir $d"
    echo "LogLevel warn"
    echo "User www-data"
    echo "Group www-data"
    echo "ServerName localhost"
    echo "DocumentRoot $d/htdocs"
    for m in mpm_event authz_core socache_shmcb ssl; do
      echo "LoadModule ${m}_module $MODS/mod_${m}.so"
    done
    echo "LoadModule md_module $2"
    echo "Listen 127.0.0.1:${PORT[$1]} https"
    echo "MDStoreDir $d/md"
    echo "MDCertificateAuthority http://127.0.0.1:1/dir"
    echo "MDCertificateAgreement accepted"
    echo "MDStapling $3"
    echo "<MDomain bench.test>"
    echo "  MDCertificateFile $CA/chain.pem"
    echo "  MDCertificateKeyFile $CA/leaf.key"
    echo "</MDomain>"
    echo "<VirtualHost 127.0.0.1:${PORT[$1]}>"
    echo "  ServerName bench.test"
    echo "  SSLEngine on"
    echo "</VirtualHost>"
  } >"$d/httpd.conf"
  apache2 -d "$d" -f "$d/httpd.conf" -k start
}
conf off "$MODULE" off
conf on "$MODULE" on
conf mod_md "$MODS/mod_md.so" on

# Wait until the stapling servers staple.
for s in on mod_md; do
  ok=""
  for _ in $(seq 1 120); do
    read -r _ _ st _ < <("$WORK/hs" "${PORT[$s]}" bench.test 0.05 1)
    [ "${st:-0}" -gt 0 ] && { ok=1; break; }
    sleep 0.5
  done
  [ -n "$ok" ] || { echo "$s never stapled" >&2; tail -20 "$WORK/$s/error.log" >&2; exit 1; }
done

echo "TLS handshakes/s, OCSP stapling: mod_mdactor off/on vs Debian mod_md $(dpkg-query -W -f='${Version}' apache2 2>/dev/null) on"
echo "machine: $(nproc) cores, $(uname -r); client: $THREADS threads, TLS 1.3, P-256, ${SECS}s x $ROUNDS rounds"
printf '%-6s %-8s %10s %10s %8s %12s\n' round server hs_per_s handshakes stapled server_us/hs
for r in $(seq 1 "$ROUNDS"); do
  order="off on mod_md"
  [ $((r % 2)) -eq 0 ] && order="mod_md on off"
  for s in $order; do
    pid=$(cat "$WORK/$s/httpd.pid")
    c0=$(server_cpu "$pid")
    read -r rate done stapled failed < <("$WORK/hs" "${PORT[$s]}" bench.test "$SECS" "$THREADS")
    c1=$(server_cpu "$pid")
    us=$(echo "$c0 $c1 $done" | awk '{printf "%.0f", ($2 - $1) * 1e6 / ($3 > 0 ? $3 : 1)}')
    printf '%-6s %-8s %10s %10s %8s %12s\n' "$r" "$s" "$rate" "$done" "$stapled" "$us"
    echo "$rate" >>"$WORK/rates.$s"
    echo "$us" >>"$WORK/cpu.$s"
    [ "$failed" -eq 0 ] || echo "  ($failed failed handshakes)"
  done
done
ratio() { echo "$1 $2" | awk '{printf "%.3f", $1 / $2}'; }
m_off=$(median <"$WORK/rates.off"); m_on=$(median <"$WORK/rates.on"); m_md=$(median <"$WORK/rates.mod_md")
u_off=$(median <"$WORK/cpu.off"); u_on=$(median <"$WORK/cpu.on"); u_md=$(median <"$WORK/cpu.mod_md")
echo
printf 'median handshakes/s:        off %8s  on %8s  mod_md %8s\n' "$m_off" "$m_on" "$m_md"
printf 'median server us/handshake: off %8s  on %8s  mod_md %8s\n' "$u_off" "$u_on" "$u_md"
printf 'rate ratios: on/off %s (target >= 0.95), mod_md/off %s, on/mod_md %s\n' \
  "$(ratio "$m_on" "$m_off")" "$(ratio "$m_md" "$m_off")" "$(ratio "$m_on" "$m_md")"
printf 'cost ratios (off/x, higher is cheaper): off/on %s, off/mod_md %s\n' \
  "$(ratio "$u_off" "$u_on")" "$(ratio "$u_off" "$u_md")"
