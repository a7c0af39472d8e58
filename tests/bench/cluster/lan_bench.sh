#!/bin/bash
# The home-lab LAN runs (docs/benchmarks.md, "Over a home-lab LAN"; issue 17,
# item 8): the resident-data and stencil programs over network namespaces
# whose links are limited to a home lab's 1 Gbit/s, with real polymer-run and
# polymer-node processes, wall time set against the time the bytes moved
# alone need at the link rate. Not a test: a benchmark to run by hand, as
# root (network namespaces); it says so and exits 0 otherwise.
#
#   tests/bench/cluster/lan_bench.sh [ROUNDS]    (default 3; each figure is the median)
#   RATE=1gbit DELAY=0.2ms  the links' rate and delay
#   CASES="a a-home b b-home b-whole"  which runs (all by default; below)
#   BIN=build/bin           where polymer-run and polymer-node are
#
# The LAN: a namespace per machine (the home, nodes n1..n3), 10.214.0.0/24,
# each direction of every link limited to RATE, one way between two machines
# delayed by DELAY. Where the kernel has sch_netem: one veth link per machine
# to a bridge in a namespace of its own (the switch), tc netem (rate RATE
# delay DELAY on the machine's side, rate RATE on the switch's). Else, where
# lan_switch is built (LAN_SWITCH, default $BIN/lan_switch): a TAP interface
# per machine, and lan_switch, a user-space switch that does the same (its
# delays come late by this machine's wake-up time: the check below measures
# the round trip). Else tbf (rate RATE, burst 128 KB) on veths and a bridge,
# which limits the rate only: the delay is then not emulated, and the script
# says so. A bulk TCP transfer and 100 small round trips between two
# namespaces check first that the limits apply.
#
# The nodes are started once, in their namespaces, and serve every run (as a
# LAN's nodes would be already running): the times do not include starting
# them. The cases, each checked against the home alone's output (MISMATCH,
# status 1, if it differs):
#   a        resident.pasm (50 x y := 3x + y, two 16 MiB regions), 2 nodes, --no-local-work
#   a-home   the same with --data-at-home (every launch sends x and y, returns y)
#   b        jacobi.pasm (50 Jacobi steps, 4096 x 4096 f32), 3 nodes, --no-local-work
#   b-home   the same with --data-at-home
#   b-whole  jacobi.pasm with a whole-buffer input instead of its window, 3 nodes
#            (only where jacobi.pasm has a window; else b is this run)
# Per case: wall time, bytes moved (--stats: bytes out and in summed over the
# nodes, plus node-to-node bytes where the nodes report them), bytes / RATE
# (the time those bytes alone need on one link), and the busiest direction
# of the home's link / RATE (all the home-node bytes share that link).
set -u
ROUNDS=${1:-3}
BIN=${BIN:-build/bin}
RATE=${RATE:-1gbit} DELAY=${DELAY:-0.2ms}
CASES=${CASES:-a a-home b b-home b-whole}
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "lan_bench: needs root (network namespaces, tc); not run"
    exit 0
fi
if ! ip netns list >/dev/null 2>&1; then
    echo "lan_bench: the ip tool (iproute2) cannot list network namespaces here; not run"
    exit 0
fi
for tool in polymer-run polymer-node; do
    [ -x "$BIN/$tool" ] || { echo "lan_bench: no $BIN/$tool (build it, or set BIN)" >&2; exit 2; }
done
BIN=$(cd "$BIN" && pwd)

LAN_SWITCH=${LAN_SWITCH:-$BIN/lan_switch}
TAG=$$
LAN=plan-$TAG-switch
HOSTS=(home n1 n2 n3)
ns() { echo "plan-$TAG-$1"; }
DIR=$(mktemp -d)
NODE_PIDS=()
SWITCH_PID=""
cleanup() {
    for pid in "${NODE_PIDS[@]}" $SWITCH_PID; do kill "$pid" 2>/dev/null; done
    for pid in "${NODE_PIDS[@]}" $SWITCH_PID; do wait "$pid" 2>/dev/null; done
    for h in "${HOSTS[@]}"; do ip netns del "$(ns "$h")" 2>/dev/null; done
    ip netns del "$LAN" 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "lan_bench: $*" >&2; exit 1; }

addr() { case $1 in home) echo 10.214.0.1 ;; n1) echo 10.214.0.2 ;; n2) echo 10.214.0.3 ;; n3) echo 10.214.0.4 ;; esac; }
for h in "${HOSTS[@]}"; do
    ip netns add "$(ns "$h")" && ip -n "$(ns "$h")" link set lo up || fail "cannot create the namespace of $h"
done

# Which LAN: netem where the kernel has it, else lan_switch, else tbf.
ip netns add "$LAN" || fail "cannot create the switch namespace"
if ip netns exec "$LAN" tc qdisc add dev lo root netem rate "$RATE" delay "$DELAY" 2>"$DIR/tc.err"; then
    KIND=netem
elif [ -x "$LAN_SWITCH" ]; then
    KIND=tap
else
    KIND=tbf
fi
ip netns exec "$LAN" tc qdisc del dev lo root 2>/dev/null

if [ "$KIND" = tap ]; then
    # One TAP interface "lan0" per machine; lan_switch holds them all.
    for h in "${HOSTS[@]}"; do
        ip -n "$(ns "$h")" tuntap add dev lan0 mode tap &&
            ip -n "$(ns "$h")" addr add "$(addr "$h")/24" dev lan0 &&
            ip -n "$(ns "$h")" link set lan0 up || fail "cannot create the TAP link of $h"
    done
    namespaces=()
    for h in "${HOSTS[@]}"; do namespaces+=("$(ns "$h")"); done
    "$LAN_SWITCH" --rate "$RATE" --delay "$DELAY" "${namespaces[@]}" > "$DIR/switch.out" 2> "$DIR/switch.err" &
    SWITCH_PID=$!
    for _ in $(seq 100); do [ -s "$DIR/switch.out" ] && break; sleep 0.05; done
    [ -s "$DIR/switch.out" ] || fail "lan_switch did not start: $(cat "$DIR/switch.err")"
    LIMIT="lan_switch (user space, TAP interfaces; the kernel has no sch_netem: $(head -1 "$DIR/tc.err")): $(cat "$DIR/switch.out")"
else
    # The switch, and one link per machine: "lan0" on the machine's side,
    # "pI" on the switch's.
    ip -n "$LAN" link add br0 type bridge && ip -n "$LAN" link set br0 up || fail "cannot create the bridge"
    i=0
    for h in "${HOSTS[@]}"; do
        i=$((i + 1))
        ip link add lan0 netns "$(ns "$h")" type veth peer name "p$i" netns "$LAN" &&
            ip -n "$LAN" link set "p$i" master br0 up &&
            ip -n "$(ns "$h")" addr add "$(addr "$h")/24" dev lan0 &&
            ip -n "$(ns "$h")" link set lan0 up || fail "cannot create the link of $h"
    done
    if [ "$KIND" = netem ]; then
        MACHINE_SIDE="netem rate $RATE delay $DELAY" SWITCH_SIDE="netem rate $RATE"
        LIMIT="netem rate $RATE delay $DELAY on each machine's side (one way between two machines: $DELAY), netem rate $RATE on the switch's side"
    else
        MACHINE_SIDE="tbf rate $RATE burst 128kb latency 50ms" SWITCH_SIDE="tbf rate $RATE burst 128kb latency 50ms"
        LIMIT="tbf rate $RATE burst 128kb latency 50ms on both sides of each link; the kernel has no sch_netem ($(head -1 "$DIR/tc.err")) and no lan_switch was built ($LAN_SWITCH), so the $DELAY delay is NOT emulated"
    fi
    i=0
    for h in "${HOSTS[@]}"; do
        i=$((i + 1))
        # shellcheck disable=SC2086 # the qdisc's words
        ip netns exec "$(ns "$h")" tc qdisc add dev lan0 root $MACHINE_SIDE &&
            ip netns exec "$LAN" tc qdisc add dev "p$i" root $SWITCH_SIDE || fail "cannot limit the link of $h"
    done
fi
RATE_BPS=$(python3 -c "
import re, sys
m = re.fullmatch(r'([0-9.]+)([kmg]?)bit', '$RATE')
if not m: sys.exit('lan_bench: RATE must be like 1gbit, 500mbit')
print(int(float(m[1]) * {'': 1, 'k': 1e3, 'm': 1e6, 'g': 1e9}[m[2]]))") || exit 2
echo "lan_bench: home 10.214.0.1, nodes n1..n3 10.214.0.2-4, one switch; limits: $LIMIT"

# The check: 100 round trips of 8 bytes between the home and n1 must take at
# least twice the delay (where it is emulated), and 200 MB over one TCP
# connection from the home to n1 at least the time the rate allows.
ip netns exec "$(ns n1)" python3 -c "
import socket
s = socket.create_server(('10.214.0.2', 9911)); c, _ = s.accept()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(100): c.sendall(c.recv(8, socket.MSG_WAITALL))
while c.recv(1 << 20): pass" &
sink=$!
sleep 0.5
check=$(ip netns exec "$(ns home)" python3 -c "
import socket, statistics, time
c = socket.create_connection(('10.214.0.2', 9911)); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
trips = []
for _ in range(100):
    t = time.perf_counter(); c.sendall(bytes(8)); c.recv(8, socket.MSG_WAITALL); trips.append(time.perf_counter() - t)
block = bytes(1 << 20); t = time.perf_counter()
for _ in range(200): c.sendall(block)
c.shutdown(socket.SHUT_WR); c.recv(1); print(f'{time.perf_counter() - t:.3f} {statistics.median(trips) * 1e3:.3f}')")
wait $sink
python3 - $check "$RATE_BPS" "$DELAY" "$KIND" <<'PY' || exit 1
import re, sys
s, rtt, rate, delay, kind = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
m = re.fullmatch(r'([0-9.]+)(s|ms|us)', delay)
delay_ms = float(m[1]) * {'s': 1e3, 'ms': 1, 'us': 1e-3}[m[2]] if m else 0.0
got = 200 * 2**20 * 8 / s
print(f"lan_bench: link check: 200 MiB home -> n1 in {s:.2f} s = {got / 1e6:.0f} Mbit/s ({got / rate:.2f}x the rate); "
      f"8-byte round trip home <-> n1 {rtt:.3f} ms (median of 100; twice the delay: {2 * delay_ms:.3f} ms)")
if got > 1.1 * rate:
    sys.exit("lan_bench: the limit does not apply (more than 1.1x the rate): stopping")
if kind != "tbf" and rtt < 2 * delay_ms:
    sys.exit("lan_bench: the delay does not apply (a round trip under twice the delay): stopping")
PY

# The nodes and their token.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/token"
chmod 600 "$DIR/token"
for h in n1 n2 n3; do
    ip netns exec "$(ns "$h")" "$BIN/polymer-node" --listen "$(addr "$h"):0" --address-file "$DIR/$h.addr" \
        --token-file "$DIR/token" --name "$h" --log-level error --no-vulkan-probe 2>"$DIR/$h.log" &
    NODE_PIDS+=($!)
done
for h in n1 n2 n3; do
    for _ in $(seq 200); do [ -s "$DIR/$h.addr" ] && break; sleep 0.05; done
    [ -s "$DIR/$h.addr" ] || fail "node $h wrote no address: $(cat "$DIR/$h.log")"
done
nodes() {  # the first $1 nodes' addresses, comma-separated
    local list=""
    for h in n1 n2 n3; do [ "$1" -gt 0 ] || break; list=$list${list:+,}$(cat "$DIR/$h.addr"); set -- $(($1 - 1)); done
    echo "$list"
}

# The programs. jacobi.pasm's step reads through a window where the
# windowed parameters exist; b-whole is its copy with a whole-buffer input.
RESIDENT=$HERE/resident.pasm JACOBI=$HERE/jacobi.pasm
WHOLE=""
if grep -q 'in x: f32\[i-W\.\.i+W\]' "$JACOBI"; then
    WHOLE=$DIR/jacobi-whole.pasm
    sed 's/in x: f32\[i-W\.\.i+W\]/in x: f32[]/' "$JACOBI" > "$WHOLE"
else
    echo "lan_bench: jacobi.pasm has no window: b is the whole-buffer program, b-whole is not run"
fi
in_home() { ip netns exec "$(ns home)" "$@"; }
for p in "$RESIDENT" "$JACOBI"; do
    in_home "$BIN/polymer-run" --backend cpu "$p" > "$DIR/$(basename "$p").expected" || fail "the home alone failed on $p"
done

# One case: ROUNDS runs, medians of wall time and bytes.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '\n| case | program | wall s, median [range] | home alone s | bytes moved, MB | bytes / rate, s | home link, busiest way / rate, s | wall / (bytes / rate) | wall / home link bound |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
run_case() {  # name program expected-output node-count options...
    local name=$1 program=$2 expected=$3 count=$4
    shift 4
    local walls=() moved=() busiest=() alone=()
    for _ in $(seq "$ROUNDS"); do
        local t0 t1
        t0=$(date +%s.%N)
        in_home "$BIN/polymer-run" --backend cpu "$program" > "$DIR/out" 2>/dev/null || fail "$name: the home alone failed"
        t1=$(date +%s.%N)
        alone+=("$(awk "BEGIN { print $t1 - $t0 }")")
        t0=$(date +%s.%N)
        in_home "$BIN/polymer-run" --backend cpu --stats --no-local-work --nodes "$(nodes "$count")" \
            --token-file "$DIR/token" "$@" "$program" > "$DIR/out" 2> "$DIR/err" || fail "$name failed: $(cat "$DIR/err")"
        t1=$(date +%s.%N)
        cmp -s "$DIR/out" "$expected" || fail "MISMATCH: $name printed $(cat "$DIR/out") where the home alone printed $(cat "$expected")"
        walls+=("$(awk "BEGIN { print $t1 - $t0 }")")
        # bytes out N in M per node (home <-> node), ", from other nodes K" (node <- node)
        read -r total busy < <(grep '^polymer-run: node ' "$DIR/err" | awk '
            { for (i = 1; i <= NF; ++i) {
                  if ($i == "bytes" && $(i + 1) == "out") { o += $(i + 2); n += $(i + 4) + 0 }
                  if ($i == "other" && $(i + 1) == "nodes") p += $(i + 2) + 0
              } }
            END { printf "%.0f %.0f\n", o + n + p, (o > n ? o : n) }')
        moved+=("$total")
        busiest+=("$busy")
    done
    local w m b a
    w=$(printf '%s\n' "${walls[@]}" | median)
    m=$(printf '%s\n' "${moved[@]}" | median)
    b=$(printf '%s\n' "${busiest[@]}" | median)
    a=$(printf '%s\n' "${alone[@]}" | median)
    python3 - "$name" "$(basename "$program"), $count nodes${*:+, $*}" "$w" "$m" "$b" "$a" "$RATE_BPS" \
        "$(printf '%s\n' "${walls[@]}" | sort -g | head -1)" "$(printf '%s\n' "${walls[@]}" | sort -g | tail -1)" <<'PY'
import sys
name, what, w, m, b, a, rate, lo, hi = sys.argv[1:]
w, m, b, a, rate, lo, hi = map(float, (w, m, b, a, rate, lo, hi))
need, home = m * 8 / rate, b * 8 / rate
def times(bound):
    return f"{w / bound:.2f}x" if bound else "-"
print(f"| {name} | {what} | {w:.2f} [{lo:.2f}..{hi:.2f}] | {a:.2f} | {m / 1e6:.1f} | {need:.2f} | {home:.2f} | {times(need)} | {times(home)} |")
PY
}
for c in $CASES; do
    case $c in
    a) run_case a "$RESIDENT" "$DIR/resident.pasm.expected" 2 ;;
    a-home) run_case a-home "$RESIDENT" "$DIR/resident.pasm.expected" 2 --data-at-home ;;
    b) run_case b "$JACOBI" "$DIR/jacobi.pasm.expected" 3 ;;
    b-home) run_case b-home "$JACOBI" "$DIR/jacobi.pasm.expected" 3 --data-at-home ;;
    b-whole) [ -n "$WHOLE" ] && run_case b-whole "$WHOLE" "$DIR/jacobi.pasm.expected" 3 ;;
    *) fail "unknown case '$c' (a a-home b b-home b-whole)" ;;
    esac
done
