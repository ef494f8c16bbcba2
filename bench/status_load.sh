#!/bin/bash
# Benchmark: how long md-status takes while the public status handler is under load (issue 14
# item 5). A private Apache (own ServerRoot under a temp dir, 127.0.0.1, mpm_event, User
# www-data) with mod_mdactor.so and N MDs (STATUS_LOAD_MDS, default 1000; no vhosts, MDRenewMode
# manual, the CA unreachable, so nothing changes while it runs); then, for each phase:
#   idle   md-status alone;
#   load   ab keeps CONCURRENCY (default 200) /.httpd/certificate-status requests in flight
#          (Host spread over 10 of the MDs) and SLOW (default 50) clients trickle one byte
#          every 0.5 s into the engine's status socket (python3), reconnecting when dropped.
# Prints, per phase, the median and the largest curl time_total of REQS (default 20) md-status
# requests, how many of them the workers answered from the status file instead of the engine
# (MDA0168 lines in the error log, LogLevel md:debug), and for "load" the certificate-status
# requests per second ab saw and its failed requests.
#
#   bench/status_load.sh [BUILD_DIR]
#   STATUS_LOAD_MDS=10000 REQS=50 bench/status_load.sh build
# KEEP=1 keeps the work directory (store, configuration, logs).
set -euo pipefail
BUILD=${1:-build}
N=${STATUS_LOAD_MDS:-1000}
CONCURRENCY=${CONCURRENCY:-200}
SLOW=${SLOW:-50}
REQS=${REQS:-20}
MDACTOR_SO=$(realpath "$BUILD/mod_mdactor.so")
MODS=/usr/lib/apache2/modules
. "$(dirname "$0")/lib.sh"
[ -f "$MDACTOR_SO" ] || { echo "build first: cmake --build $BUILD --target mod_mdactor" >&2; exit 1; }
command -v ab >/dev/null || { echo "needs ab (apache2-utils)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/mdactor-status-load-XXXXXX)
chmod 755 "$WORK"
ROOT=$WORK/apache
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -f "$ROOT/httpd.pid" ] && apache2 -d "$ROOT" -f "$ROOT/httpd.conf" -k stop 2>/dev/null || true
  sleep 1
  [ -n "${KEEP:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

HTTP=$(free_port)
mkdir -p "$ROOT/htdocs"
{
  echo "ServerRoot $ROOT"
  echo "DefaultRuntimeDir $ROOT"
  echo "PidFile $ROOT/httpd.pid"
  echo "ErrorLog $ROOT/error.log"
  echo "LogLevel notice md:debug"
  echo "ServerName localhost"
  echo "DocumentRoot $ROOT/htdocs"
  echo "User www-data"
  echo "Group www-data"
  echo "Listen 127.0.0.1:$HTTP"
  for m in mpm_event authz_core socache_shmcb ssl; do echo "LoadModule ${m}_module $MODS/mod_${m}.so"; done
  echo "LoadModule md_module $MDACTOR_SO"
  echo "MDStoreDir $ROOT/md"
  echo "MDCertificateAuthority https://127.0.0.1:$(free_port)/dir"
  echo "MDCertificateAgreement accepted"
  echo "MDContactEmail bench@example.test"
  echo "MDRenewMode manual"
  echo "<Location /md-status>"
  echo "  SetHandler md-status"
  echo "</Location>"
  for i in $(seq 0 $((N - 1))); do echo "MDomain d$i.load.test"; done
} >"$ROOT/httpd.conf"

log "starting Apache with $N MDs"
apache2 -d "$ROOT" -f "$ROOT/httpd.conf" -k start || { tail -20 "$ROOT/error.log" >&2; exit 1; }
SOCK=$ROOT/md/mdactor/status.sock
for _ in $(seq 1 600); do
  n=$(curl -s "http://127.0.0.1:$HTTP/md-status" | grep -c '"name": "d' || true)
  [ "$n" -ge "$N" ] && [ -S "$SOCK" ] && break
  sleep 0.5
done
[ "$n" -ge "$N" ] || { log "md-status does not list $N MDs"; exit 1; }

# measure PHASE: REQS md-status requests; prints "PHASE median max fallbacks"
measure() {
  local before times
  before=$(grep -c MDA0168 "$ROOT/error.log" || true)
  times=$(for _ in $(seq 1 "$REQS"); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$HTTP/md-status"
    sleep 0.1
  done)
  printf '%-5s md-status median %s s, max %s s, from the status file %s of %s\n' "$1" \
    "$(echo "$times" | median)" "$(echo "$times" | sort -n | tail -1)" \
    "$(($(grep -c MDA0168 "$ROOT/error.log" || true) - before))" "$REQS"
}

measure idle

log "load: $CONCURRENCY certificate-status requests in flight, $SLOW slow socket clients"
python3 - "$SOCK" "$SLOW" <<'PY' &
import socket, sys, time
path, count = sys.argv[1], int(sys.argv[2])
line = b"GET md-status\n"
socks = [None] * count
step = 0
while True:
    for i in range(count):
        try:
            if socks[i] is None:
                socks[i] = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                socks[i].connect(path)
            socks[i].send(line[step % (len(line) - 1):][:1])
        except OSError:
            if socks[i] is not None:
                socks[i].close()
            socks[i] = None
    step += 1
    time.sleep(0.5)
PY
PIDS+=($!)
for h in $(seq 0 9); do
  ab -q -t 3600 -n 100000000 -c $((CONCURRENCY / 10)) -H "Host: d$((h * N / 10)).load.test" \
    "http://127.0.0.1:$HTTP/.httpd/certificate-status" >"$WORK/ab-$h.out" 2>&1 &
  PIDS+=($!)
done
sleep 2
cs_before=$(grep -c MDA0170 "$ROOT/error.log" || true)
t0=$(now)
measure load
t1=$(now)
cs_file=$(($(grep -c MDA0170 "$ROOT/error.log" || true) - cs_before))
for p in "${PIDS[@]:1}"; do kill -INT "$p" 2>/dev/null || true; done
sleep 1
rps=$(cat "$WORK"/ab-*.out | awk '/^Requests per second/ {s += $4} END {printf "%.0f", s}')
failed=$(cat "$WORK"/ab-*.out | awk '/^Failed requests/ {s += $3} END {print s + 0}')
echo "load  certificate-status: $rps requests/s (ab, summed), $failed failed, $cs_file read from the status file" \
  "during the $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s of md-status requests"
