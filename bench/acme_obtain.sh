#!/bin/bash
# Benchmark: `mdctl obtain` against Debian's lego on the same pebble, in one run.
#
#   bench/acme_obtain.sh [BUILD_DIR] [ROUNDS]
#
# For each key type (P-256, RSA 2048) it times obtaining 1 certificate, and 10 certificates one
# after another (10 names, one order each), alternating mdctl and lego round by round, and
# prints the medians side by side with the ratio lego/mdctl (> 1 means mdactor is faster).
# Everything runs on 127.0.0.1 under a temporary directory; pebble runs with
# PEBBLE_VA_NOSLEEP=1 (tests/support/pebble.hpp), so the figures measure the clients, not
# pebble's artificial validation delay. Needs: a build (cmake --build BUILD_DIR), lego
# (installed here from Debian's packages when missing).
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${2:-5}
MDCTL=$(realpath "$BUILD/mdctl")
PEBBLE_RUN=$(realpath "$BUILD/pebble-run")
. "$(dirname "$0")/lib.sh"
[ -x "$MDCTL" ] && [ -x "$PEBBLE_RUN" ] || { echo "build first: cmake --build $BUILD" >&2; exit 1; }
if ! command -v lego >/dev/null; then
  echo "installing lego (Debian package) for the comparison..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lego >/dev/null
fi

WORK=$(mktemp -d /tmp/mdactor-bench-XXXXXX)
PEBBLE_PID=""
cleanup() {
  [ -n "$PEBBLE_PID" ] && kill "$PEBBLE_PID" 2>/dev/null && wait "$PEBBLE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

HTTP_PORT=$(free_port)

start_pebble "$HTTP_PORT"

# run_mdctl KEY N RUN: N certificates one after another, one name each; prints seconds.
run_mdctl() {
  local key=$1 n=$2 run=$3 store="$WORK/md-$1-$2-$3" t0 t1
  t0=$(now)
  for i in $(seq 1 "$n"); do
    "$MDCTL" obtain --ca "$DIRECTORY" --ca-file "$CA_FILE" --store "$store" --key "$key" \
      --challenge http-01 --http-port "$HTTP_PORT" --contact bench@example.test --agree-tos \
      "m$i-r$run-$key.bench.test" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; exit 1; }
  done
  t1=$(now)
  echo "$t0 $t1" | awk '{printf "%.3f\n", $2 - $1}'
}

run_lego() {
  local key=$1 n=$2 run=$3 path="$WORK/lego-$1-$2-$3" t0 t1 lkey
  case $key in p256) lkey=ec256 ;; rsa2048) lkey=rsa2048 ;; esac
  t0=$(now)
  for i in $(seq 1 "$n"); do
    LEGO_CA_CERTIFICATES="$CA_FILE" lego --server "$DIRECTORY" --email bench@example.test \
      --accept-tos --path "$path" --key-type "$lkey" --http --http.port ":$HTTP_PORT" \
      --domains "l$i-r$run-$key.bench.test" run >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; exit 1; }
  done
  t1=$(now)
  echo "$t0 $t1" | awk '{printf "%.3f\n", $2 - $1}'
}


echo "mdctl obtain vs lego $(lego --version 2>/dev/null | awk '{print $3}'), pebble, $ROUNDS rounds, medians in seconds"
echo "machine: $(nproc) cores, $(uname -r)"
printf '%-8s %-6s %10s %10s %8s\n' key certs mdctl lego lego/mdctl
for key in p256 rsa2048; do
  for n in 1 10; do
    : >"$WORK/m.times"; : >"$WORK/l.times"
    for r in $(seq 1 "$ROUNDS"); do
      run_mdctl "$key" "$n" "$r" >>"$WORK/m.times"
      run_lego "$key" "$n" "$r" >>"$WORK/l.times"
    done
    m=$(median <"$WORK/m.times"); l=$(median <"$WORK/l.times")
    printf '%-8s %-6s %10s %10s %8s\n' "$key" "$n" "$m" "$l" "$(echo "$l $m" | awk '{printf "%.2fx", $1 / $2}')"
  done
done
