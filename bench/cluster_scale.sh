#!/bin/bash
# Benchmark: clusters on etcd at scale (issue 18; docs/BENCHMARKS.md, "Clusters"). Starts a
# 3-member etcd (Debian's etcd-server) on free loopback ports under a temp dir, then runs
# cluster-bench (bench/cluster_scale.cpp): 3 servers' cluster parts, N MDs (CLUSTER_MDS,
# default 10000), R renewals (RENEWALS, default 20). Prints the figures with the file-store
# baseline measured in the same run.
#
#   bench/cluster_scale.sh [BUILD_DIR]
#   CLUSTER_MDS=1000 bench/cluster_scale.sh build
set -euo pipefail
BUILD=${1:-build}
N=${CLUSTER_MDS:-10000}
R=${RENEWALS:-20}
BIN=$(realpath "$BUILD/cluster-bench")
[ -x "$BIN" ] || { echo "build first: cmake --build $BUILD --target cluster-bench" >&2; exit 1; }
command -v etcd >/dev/null || { echo "needs etcd (Debian package etcd-server)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/mdactor-cluster-scale-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -a CP PP
for i in 0 1 2; do CP[$i]=$(free_port); PP[$i]=$(free_port); done
INITIAL="m0=http://127.0.0.1:${PP[0]},m1=http://127.0.0.1:${PP[1]},m2=http://127.0.0.1:${PP[2]}"
for i in 0 1 2; do
  etcd --name m$i --data-dir "$WORK/m$i" \
    --listen-peer-urls http://127.0.0.1:${PP[$i]} --initial-advertise-peer-urls http://127.0.0.1:${PP[$i]} \
    --listen-client-urls http://127.0.0.1:${CP[$i]} --advertise-client-urls http://127.0.0.1:${CP[$i]} \
    --initial-cluster "$INITIAL" --initial-cluster-token bench --initial-cluster-state new \
    --quota-backend-bytes 8589934592 >"$WORK/m$i.log" 2>&1 &
  PIDS+=($!)
done
EPS="http://127.0.0.1:${CP[0]},http://127.0.0.1:${CP[1]},http://127.0.0.1:${CP[2]}"
for _ in $(seq 100); do
  curl -s "http://127.0.0.1:${CP[0]}/health" | grep -q '"true"' && break
  sleep 0.2
done
echo "cluster-bench: 3 etcd members, $N MDs, $R renewals ($(nproc) CPUs, $(date -u +%FT%TZ))"
"$BIN" "$EPS" "$N" "$R"
