#!/usr/bin/env bash
# Interpreter benchmark: four programs, each written in Polymer assembly, Lua
# and C++, run by polymer-run, lua5.4, `luajit -joff` (LuaJIT's interpreter,
# JIT off) and as a g++ -O2 binary. Checks that every implementation prints
# the same number, then prints a table of wall times and ratios to C++, with
# Polymer's instruction count, ns per instruction and peak memory.
#
#   tests/bench/interp/run.sh [path/to/polymer-run]
#
# Builds nothing of Polymer: pass polymer-run's path, or it uses
# build/bin/polymer-run. Times are CPU time (user + system) of the whole
# process, start-up and (for polymer-run) assembling included. Each
# measurement is one run (C++: the best of three, since its times are a few
# milliseconds and the ratios divide by them).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
runner="${1:-$root/build/bin/polymer-run}"
programs=(fib loop sieve mandel)

die() { echo "run.sh: $*" >&2; exit 1; }
[[ -x "$runner" ]] || die "polymer-run not found at '$runner' (pass its path as the first argument)"
for tool in g++ lua5.4 luajit; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (scripts/setup.sh installs it)"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

g++ -O2 -std=c++20 -o "$work/measure" "$here/measure.cpp"
for p in "${programs[@]}"; do
    g++ -O2 -std=c++20 -o "$work/$p" "$here/$p.cpp"
done

# measure NAME CMD...: runs CMD, leaves its stdout in $work/NAME.out, its
# stderr in $work/NAME.err and sets SECONDS_TAKEN (CPU time, user + system:
# the machine may be shared, and time spent waiting for a core is not the
# program's), WALL_SECONDS and RSS_KIB.
measure() {
    local name="$1"
    shift
    if ! "$work/measure" "$work/$name.res" "$@" >"$work/$name.out" 2>"$work/$name.err"; then
        cat "$work/$name.err" >&2
        die "'$*' failed"
    fi
    read -r WALL_SECONDS SECONDS_TAKEN RSS_KIB _ <"$work/$name.res"
}

# What polymer-run --stats reports on stderr, e.g.
#   polymer-run: 1359 instructions in 0.000 s (233.8 M instructions/s, 4.28 ns/instruction)
instructions_from_stats() {
    grep -i 'instructions' "$1" | head -n 1 | tr -d ',_' | grep -oE '[0-9]+' | head -n 1
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }

mismatch=0
rows=()
for p in "${programs[@]}"; do
    best=""
    for _ in 1 2 3; do
        measure "$p.cpp" "$work/$p"
        if [[ -z "$best" ]] || awk -v a="$SECONDS_TAKEN" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best="$SECONDS_TAKEN"
        fi
    done
    t_cpp="$best"
    expected="$(cat "$work/$p.cpp.out")"

    measure "$p.pasm" "$runner" --stats "$here/$p.pasm"
    t_poly="$SECONDS_TAKEN"
    rss_poly="$RSS_KIB"
    instr="$(instructions_from_stats "$work/$p.pasm.err" || true)"
    measure "$p.lua" lua5.4 "$here/$p.lua"
    t_lua="$SECONDS_TAKEN"
    rss_lua="$RSS_KIB"
    measure "$p.luajit" luajit -joff "$here/$p.lua"
    t_jit="$SECONDS_TAKEN"

    for impl in pasm lua luajit; do
        got="$(cat "$work/$p.$impl.out")"
        if [[ "$got" != "$expected" ]]; then
            echo "MISMATCH in $p: C++ printed '$expected' but $impl printed '$got'" >&2
            mismatch=1
        fi
    done

    # From CPU time rather than the wall time --stats measures, which counts
    # waiting for a core on a busy machine.
    if [[ -n "$instr" ]]; then
        nspi="$(awk -v s="$t_poly" -v n="$instr" 'BEGIN { printf "%.2f", s * 1e9 / n }')"
    else
        instr="?"
        nspi="?"
    fi
    rows+=("| $p | $expected | $(ms "$t_cpp") | $(ms "$t_poly") ($(ratio "$t_poly" "$t_cpp")) | $(ms "$t_lua") ($(ratio "$t_lua" "$t_cpp")) | $(ms "$t_jit") ($(ratio "$t_jit" "$t_cpp")) | $(ratio "$t_lua" "$t_poly") | $(ratio "$t_jit" "$t_poly") | $instr | $nspi | $((rss_poly / 1024)) | $((rss_lua / 1024)) |")
done

echo "polymer-run: $runner"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo
echo "CPU ms (user + system) of one run each; (x C++) = time / C++ time; speedup = other's time / Polymer's time."
echo
echo "| program | result | C++ ms | Polymer ms (x C++) | Lua 5.4 ms (x C++) | LuaJIT -joff ms (x C++) | Polymer speedup vs Lua | vs LuaJIT -joff | Polymer instructions | ns/instruction (CPU) | Polymer max RSS MiB | Lua max RSS MiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"

if ((mismatch)); then
    die "the implementations disagree (see MISMATCH above)"
fi
