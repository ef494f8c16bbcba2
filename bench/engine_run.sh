#!/bin/bash
# Benchmark: the engine (`mdctl run --once`) against Debian's mod_md on the same pebble, in one
# run: N managed domains (two names each, one key each), all new, from an empty store.
#
#   bench/engine_run.sh [BUILD_DIR] [COUNTS] [KEYS]     e.g. bench/engine_run.sh build "10 100" "p256 rsa2048"
#
# mdactor: `mdctl run --config engine.json --once` (orders in flight: the default bound 8), timed
#   with /usr/bin/time: wall seconds, CPU seconds (user + sys), peak RSS, and the most orders
#   that ran at once (the engine's closing log line).
# mod_md: a private Apache (apache2 -d/-f, Debian's mod_md.so, MDPortMap to pebble's ports,
#   one TLS vhost per MD, MDRenewMode always), timed from `apache2 -k start` until every
#   staging/<md>/job.json says "finished": true (mod_md activates only at the next restart,
#   so this is the same point mdactor's --once reaches before activating in-process).
#   CPU seconds of mod_md: the Apache processes' utime + stime (from /proc) at that point.
# pebble runs with PEBBLE_VA_NOSLEEP=1 (tests/support/pebble.hpp): the figures measure the
# clients, not pebble's artificial validation delay. Everything on 127.0.0.1.
# KEEP=1 keeps the work directory (stores, Apache logs) for inspection.
set -euo pipefail
BUILD=${1:-build}
COUNTS=${2:-"10 100"}
KEYS=${3:-"p256 rsa2048"}
MDCTL=$(realpath "$BUILD/mdctl")
PEBBLE_RUN=$(realpath "$BUILD/pebble-run")
. "$(dirname "$0")/lib.sh"
[ -x "$MDCTL" ] && [ -x "$PEBBLE_RUN" ] || { echo "build first: cmake --build $BUILD" >&2; exit 1; }
MODS=/usr/lib/apache2/modules
[ -f "$MODS/mod_md.so" ] || { echo "needs Debian's apache2 (mod_md.so)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/mdactor-bench-XXXXXX)
chmod 755 "$WORK"   # the Apache children (www-data) read the store
PEBBLE_PID=""
APACHE_CONF=""
cleanup() {
  [ -n "$APACHE_CONF" ] && apache2 -d "$WORK" -f "$APACHE_CONF" -k stop 2>/dev/null || true
  [ -n "$PEBBLE_PID" ] && kill "$PEBBLE_PID" 2>/dev/null && wait "$PEBBLE_PID" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

HTTP_PORT=$(free_port)
HTTPS_PORT=$(free_port)

start_pebble "$HTTP_PORT"
cp "$CA_FILE" "$WORK/ca.pem" && chmod 644 "$WORK/ca.pem" && CA_FILE="$WORK/ca.pem"

# engine_config JSON for N MDs with KEY (p256 | rsa2048).
write_engine_json() {
  local n=$1 key=$2 store=$3 out=$4
  python3 - "$n" "$key" "$store" "$DIRECTORY" "$CA_FILE" "$HTTP_PORT" >"$out" <<'PY'
import json, sys
n, key, store, directory, ca, port = sys.argv[1:]
spec = {"type": "EC", "curve": "secp256r1"} if key == "p256" else {"type": "RSA", "bits": 2048}
mds = []
for i in range(int(n)):
    name = "e%d-%s.bench.test" % (i, key)
    mds.append({"md": {"name": name, "domains": [name, "www." + name],
                       "contacts": ["mailto:bench@example.test"],
                       "ca": {"urls": [directory], "agreement": "accepted",
                              "challenges": ["http-01"]},
                       "privkey": [spec]}, "used": True})
print(json.dumps({"version": 1, "settings": {"store-dir": store, "ca-certs": ca,
                  "http01-port": int(port)}, "mds": mds}, indent=1))
PY
}

# run_mdactor N KEY: prints "wall cpu rss_mb in_flight" (in_flight: the most orders that ran at
# once, from the engine's closing "engine: orders: ... at most N at once" line).
run_mdactor() {
  local n=$1 key=$2 dir="$WORK/mdactor-$1-$2" peak
  mkdir -p "$dir"
  write_engine_json "$n" "$key" "$dir/md" "$dir/engine.json"
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$MDCTL" run --config "$dir/engine.json" --once \
    --timeout 900 >"$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }
  peak=$(sed -n 's/.*engine: orders: .* at most \([0-9]*\) at once.*/\1/p' "$dir/log" | tail -1)
  awk -v p="${peak:-?}" '{printf "%.2f %.2f %.0f %s\n", $1, $2 + $3, $4 / 1024, p}' "$dir/time"
}

write_apache_conf() {
  local n=$1 key=$2 store=$3 out=$4 spec
  [ "$key" = p256 ] && spec=secp256r1 || spec="RSA 2048"
  {
    echo "ServerName localhost"
    echo "Listen 127.0.0.1:$HTTP_PORT"
    echo "Listen 127.0.0.1:$HTTPS_PORT"
    echo "PidFile $WORK/apache-$n-$key.pid"
    echo "ErrorLog $WORK/apache-$n-$key.error.log"
    echo "LogLevel md:info"
    echo "User www-data"
    echo "Group www-data"
    for m in mpm_event authz_core socache_shmcb ssl md; do
      echo "LoadModule ${m}_module $MODS/mod_${m}.so"
    done
    echo "MDStoreDir $store"
    echo "MDCertificateAuthority $DIRECTORY"
    echo "MDCACertificateFile $CA_FILE"
    echo "MDCertificateAgreement accepted"
    echo "MDContactEmail bench@example.test"
    echo "MDPortMap http:$HTTP_PORT https:$HTTPS_PORT"
    echo "MDCAChallenges http-01"
    echo "MDPrivateKeys $spec"
    echo "MDRenewMode always"
    for i in $(seq 0 $((n - 1))); do
      local name="a$i-$key.bench.test"
      echo "MDomain $name www.$name"
      echo "<VirtualHost 127.0.0.1:$HTTPS_PORT>"
      echo "  ServerName $name"
      echo "  ServerAlias www.$name"
      echo "  SSLEngine on"
      echo "</VirtualHost>"
    done
  } >"$out"
}

# Sum of utime + stime (seconds) of the Apache processes (parent and children).
apache_cpu() {
  local pid=$1 total=0 ticks
  ticks=$(getconf CLK_TCK)
  for p in $pid $(pgrep -P "$pid" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")))
  done
  echo "$total $ticks" | awk '{printf "%.2f\n", $1 / $2}'
}

# run_mod_md N KEY: prints "wall cpu".
run_mod_md() {
  local n=$1 key=$2 store="$WORK/modmd-$1-$2" conf="$WORK/apache-$1-$2.conf" t0 t1 done pid cpu
  write_apache_conf "$n" "$key" "$store" "$conf"
  APACHE_CONF=$conf
  t0=$(now)
  apache2 -d "$WORK" -f "$conf" -k start
  for _ in $(seq 1 9000); do
    done=$(grep -l '"finished": true' "$store"/staging/*/job.json 2>/dev/null | wc -l || true)
    [ "$done" -ge "$n" ] && break
    sleep 0.1
  done
  t1=$(now)
  pid=$(cat "$WORK/apache-$n-$key.pid")
  cpu=$(apache_cpu "$pid")
  apache2 -d "$WORK" -f "$conf" -k stop
  APACHE_CONF=""
  sleep 1
  [ "$done" -ge "$n" ] || { tail -20 "$WORK/apache-$n-$key.error.log" >&2; exit 1; }
  echo "$t0 $t1 $cpu" | awk '{printf "%.2f %.2f\n", $2 - $1, $3}'
}

echo "mdctl run --once vs Debian mod_md $(dpkg-query -W -f='${Version}' apache2 2>/dev/null), pebble"
echo "machine: $(nproc) cores, $(uname -r)"
printf '%-8s %5s | %9s %8s %8s %9s | %9s %8s | %8s\n' key MDs mdactor_s cpu_s rss_MB in_flight \
  mod_md_s cpu_s speedup
for key in $KEYS; do
  for n in $COUNTS; do
    read -r mw mc mr mf < <(run_mdactor "$n" "$key")
    read -r aw ac < <(run_mod_md "$n" "$key")
    printf '%-8s %5s | %9s %8s %8s %9s | %9s %8s | %7.1fx\n' "$key" "$n" "$mw" "$mc" "$mr" "$mf" "$aw" \
      "$ac" "$(echo "$aw $mw" | awk '{print $1 / $2}')"
  done
done
