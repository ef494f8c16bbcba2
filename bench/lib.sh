# Shared by the bench/ scripts (sourced, not run): a free port and pebble started through
# build/pebble-run on 127.0.0.1. The caller sets WORK (a temp dir) and PEBBLE_RUN.

# A TCP port on 127.0.0.1 nobody listens on.
free_port() {
  local p
  while :; do
    p=$(shuf -i 20000-60999 -n 1)
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}

# start_pebble HTTP_PORT: pebble-run validating http-01 on HTTP_PORT; sets PEBBLE_PID,
# DIRECTORY and CA_FILE. pebble-run lives while fd 3 (its stdin fifo) stays open.
start_pebble() {
  mkfifo "$WORK/pebble.in"
  "$PEBBLE_RUN" --http-port "$1" <"$WORK/pebble.in" >"$WORK/pebble.out" 2>"$WORK/pebble.err" &
  PEBBLE_PID=$!
  exec 3>"$WORK/pebble.in"
  for _ in $(seq 1 200); do grep -q '^READY' "$WORK/pebble.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^READY' "$WORK/pebble.out" || { cat "$WORK/pebble.err" >&2; exit 1; }
  DIRECTORY=$(sed -n 's/^DIRECTORY=//p' "$WORK/pebble.out")
  CA_FILE=$(sed -n 's/^CA_FILE=//p' "$WORK/pebble.out")
}

now() { date +%s.%N; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# proc_tree PID: PID and all its descendants, one per line (read from /proc now).
proc_tree() {
  local p
  echo "$1"
  for p in $(pgrep -P "$1" || true); do proc_tree "$p"; done
}

# tree_cpu PID: CPU seconds (utime + stime, plus those of reaped children) of PID's process tree.
tree_cpu() {
  local ticks p total=0
  ticks=$(getconf CLK_TCK)
  for p in $(proc_tree "$1"); do
    [ -r "/proc/$p/stat" ] || continue
    # fields 14-17 counted after the ")" that closes comm (comm may contain spaces)
    total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13 + $14 + $15}')))
  done
  echo "$total $ticks" | awk '{printf "%.2f\n", $1 / $2}'
}

# server_cpu PID: CPU seconds (utime + stime) of the apache2 processes under PID (the parent and
# its children; not mdactor's engine or launcher, whose comm differs).
server_cpu() {
  local p total=0
  for p in $(proc_tree "$1"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = apache2 ] || continue
    # a process gone since proc_tree counts 0
    total=$((total + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{n = $12 + $13} END {print n + 0}')))
  done
  echo "$total $(getconf CLK_TCK)" | awk '{printf "%.2f\n", $1 / $2}'
}

# proc_kb PID FIELD: a /proc/PID/status field in kB (VmRSS, VmHWM); 0 when PID is gone.
proc_kb() { awk -v f="$2:" '$1 == f {print $2; found = 1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null || echo 0; }

# tree_mem PID FIELD: "sum_MB max_MB" of FIELD over PID's process tree.
tree_mem() {
  local p
  for p in $(proc_tree "$1"); do proc_kb "$p" "$2"; done |
    awk '{s += $1; if ($1 > m) m = $1} END {printf "%.1f %.1f\n", s / 1024, m / 1024}'
}

# tree_pss PID: the proportional set size (Pss, /proc/PID/smaps_rollup) summed over PID and its
# descendants, in MB: pages shared between processes (forks, libraries) count once in total,
# unlike summed RSS, which counts them in every process.
tree_pss() {
  local p
  for p in $(proc_tree "$1"); do
    awk '$1 == "Pss:" {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true
  done | awk '{s += $1} END {printf "%.1f\n", s / 1024}'
}

# wait_http PORT TIMEOUT_S: returns once http://127.0.0.1:PORT/ answers with any HTTP status
# (so a child process is serving, not just the listening socket bound); 1 on timeout.
wait_http() {
  local end code
  end=$(echo "$(now) $2" | awk '{printf "%.3f\n", $1 + $2}')
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null || true)
    [ -n "$code" ] && [ "$code" != 000 ] && return 0
    awk -v n="$(now)" -v e="$end" 'BEGIN {exit !(n > e)}' && return 1
    sleep 0.02
  done
}
