#!/bin/bash
# Resident data against a node that pauses: two polymer-node processes, one of
# them stopped (SIGSTOP) for OFF seconds every ON seconds, well under the
# heartbeat timeout, so it is never dropped but its claims get backup copies.
# The run's whole y (--dump-region) must equal the home alone's. Not a test:
# a check to run by hand (docs/benchmarks.md, "Resident data").
#
#   tests/bench/cluster/pulse_check.sh [RUNS] [PROGRAM]   (ON=0.1 OFF=0.05 by default;
#   EXTRA: more polymer-run options, e.g. EXTRA=--data-at-home)
#
# Prints `same` or `DIFFERENT` per run, with the element ranges that differ
# and by how many launches; status 1 if any run differed.
set -u
BIN=${BIN:-build/bin}
RUNS=${1:-5}
PROGRAM=${2:-$(dirname "$0")/resident.pasm}
ON=${ON:-0.1} OFF=${OFF:-0.05}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/token"
chmod 600 "$DIR/token"
"$BIN/polymer-run" --backend cpu --dump-region y "$PROGRAM" > "$DIR/home.txt" 2>/dev/null || exit 2
bad=0
for run in $(seq 1 "$RUNS"); do
    rm -f "$DIR/a1" "$DIR/a2"
    "$BIN/polymer-node" --listen 127.0.0.1:0 --address-file "$DIR/a1" --token-file "$DIR/token" --log-level error --name n1 2>/dev/null & n1=$!
    "$BIN/polymer-node" --listen 127.0.0.1:0 --address-file "$DIR/a2" --token-file "$DIR/token" --log-level error --name n2 2>/dev/null & n2=$!
    while [ ! -s "$DIR/a1" ] || [ ! -s "$DIR/a2" ]; do sleep 0.05; done
    ( while kill -0 $n2 2>/dev/null; do sleep "$ON"; kill -STOP $n2; sleep "$OFF"; kill -CONT $n2; done ) 2>/dev/null & pulse=$!
    "$BIN/polymer-run" --backend cpu --stats --nodes "$(cat "$DIR/a1"),$(cat "$DIR/a2")" --token-file "$DIR/token" \
        --no-local-work ${EXTRA:-} --dump-region y "$PROGRAM" > "$DIR/nodes.txt" 2> "$DIR/nodes.err"
    kill $pulse; wait $pulse 2>/dev/null; kill -CONT $n2; kill $n1 $n2; wait $n1 $n2 2>/dev/null
    if cmp -s "$DIR/home.txt" "$DIR/nodes.txt"; then echo "run $run: same"; continue; fi
    bad=$((bad + 1))
    echo "run $run: DIFFERENT: $(head -1 "$DIR/nodes.txt") against $(head -1 "$DIR/home.txt")"
    grep -o "node n[12] .*backups won [0-9]*" "$DIR/nodes.err" | sed -E 's/ \(.*\):.*backups won/: backups won/'
    # y[i] = 1 + a*L*i after L launches: which elements are off, by how many.
    python3 - "$DIR/home.txt" "$DIR/nodes.txt" <<'PY'
import sys
def values(path):
    v = []
    for line in open(path):
        if line.lstrip().startswith("["):
            v.extend(int(w) for w in line.split()[1:])
    return v
home, nodes = values(sys.argv[1]), values(sys.argv[2])
runs, start = [], None
for i in range(len(home) + 1):
    off = i < len(home) and home[i] != nodes[i]
    if off and start is None: start = i
    if not off and start is not None: runs.append((start, i)); start = None
for s, e in runs:
    i = max(s, 1)
    d = (nodes[i] - home[i]) % (1 << 32)
    k = next((k for k in range(-1000, 1001) if (3 * k * i - d) % (1 << 32) == 0), None)
    print(f"  elements [{s}, {e}): {e - s}, {k:+d} launches" if k is not None else f"  elements [{s}, {e}): {e - s}")
PY
done
echo "$bad of $RUNS runs differed"
[ "$bad" -eq 0 ]
