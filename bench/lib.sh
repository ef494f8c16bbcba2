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
