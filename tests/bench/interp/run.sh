#!/usr/bin/env bash
# Interpreter benchmark: six programs, each written in Polymer assembly, Lua
# and C++, run by polymer-run in every execution mode (--exec in-order,
# frames, ooo and spec; ooo is polymer-run's default), by lua5.4, by
# `luajit -joff` (LuaJIT's interpreter, JIT off) and as a g++ -O2 binary.
# Checks that every implementation and every mode prints the same result
# (MISMATCH and exit status 1 otherwise), then prints two tables: CPU times
# with their ratios to C++, and the target ratios (each mode against
# in-order, Lua and LuaJIT against the default mode).
#
#   tests/bench/interp/run.sh [path/to/polymer-run]
#   PROGRAMS="fib vecloop" tests/bench/interp/run.sh build/bin/polymer-run
#
# The programs (sizes fixed in each of the three sources):
#   fib      recursive fib(32): calls, returns, the value stack.
#   loop     sum of (i*i) mod 7 for i < 90,000,000: integer arithmetic and a
#            loop branch, 5 instructions per iteration.
#   sieve    primes <= 10,000,000, sieve of Eratosthenes: byte loads and
#            stores in a u8 region.
#   mandel   Mandelbrot escape counts over a 600 x 600 grid: binary64
#            arithmetic.
#   vecloop  one small vector op (vadd of two 4-element i64 regions, then
#            vsumi), then loop's scalar loop for 30,000,000 iterations, the
#            vector result read only after it: what scalar code costs in each
#            mode once the program has a vector op in flight (in Lua and C++
#            the "vector op" is a 4-element loop).
#   nbody    16 bodies, 30,000 time steps: per step 13 vector ops on f64
#            regions (vfillf, vfma, vmul, a vdot reduction for the kinetic
#            energy, a branch on it) around a scalar loop over the 120 body
#            pairs (ld.f64/st.f64, fsqrt, fdiv): vector ops mixed with scalar
#            code, the case the out-of-order modes are for.
#
# Environment:
#   PROGRAMS         the programs to run, separated by spaces (default: all six).
#   BASELINE         another polymer-run (e.g. the last release's) whose
#                    --exec in-order runs beside, for "in-order no slower than
#                    before": adds a column to the target table.
#   REPEATS          runs of each Polymer mode, Lua and LuaJIT; the least CPU
#                    time counts (default 3; C++ is always the best of 3).
#   POLYMER_BACKEND  polymer-run's --backend for the four mode columns
#                    (default: cpu). The four scalar programs run on the CPU
#                    backend either way; with `auto` a program with vector ops
#                    also starts Vulkan (lavapipe on the development VM: about
#                    50 ms of CPU time and 60 MiB more memory per run), which
#                    the modes do not change. The "no flags" column is always
#                    polymer-run's defaults (ooo, auto): what a user gets.
#
# Builds nothing of Polymer: pass polymer-run's path, or it uses
# build/bin/polymer-run. Times are CPU time (user + system) of the whole
# process, start-up and (for polymer-run) assembling included, the least of
# REPEATS runs, taken round robin (every implementation once per round): one
# run on a shared 2-core machine swings by 10-20 %, more than the differences
# between modes that the targets are about. The default
# run takes about a minute on the 2-core development VM.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
runner="${1:-$root/build/bin/polymer-run}"
all_programs=(fib loop sieve mandel vecloop nbody)
read -r -a programs <<<"${PROGRAMS:-${all_programs[*]}}"
# polymer-run's execution modes, in table order; ooo is the default.
modes=(in-order frames ooo spec)
default_mode=ooo
backend="${POLYMER_BACKEND:-cpu}"
repeats="${REPEATS:-3}"

die() { echo "run.sh: $*" >&2; exit 1; }
[[ -x "$runner" ]] || die "polymer-run not found at '$runner' (pass its path as the first argument)"
for tool in g++ lua5.4 luajit; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (scripts/setup.sh installs it)"
done
((${#programs[@]} > 0)) || die "PROGRAMS is empty (choose from: ${all_programs[*]})"
for p in "${programs[@]}"; do
    for ext in pasm lua cpp; do
        [[ -f "$here/$p.$ext" ]] || die "no program '$p' ($here/$p.$ext is missing; choose from: ${all_programs[*]})"
    done
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started="$(date +%s)"

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

# keep_least NAME CMD...: `measure` once; LEAST[NAME] keeps the least CPU
# time over calls (a shared machine only ever adds time) and LEAST_RSS[NAME]
# that run's peak memory.
declare -A LEAST=() LEAST_RSS=()
keep_least() {
    local name="$1"
    shift
    measure "$name" "$@"
    if [[ -z "${LEAST[$name]:-}" ]] || awk -v a="$SECONDS_TAKEN" -v b="${LEAST[$name]}" 'BEGIN { exit !(a < b) }'; then
        LEAST[$name]="$SECONDS_TAKEN"
        LEAST_RSS[$name]="$RSS_KIB"
    fi
}

# What polymer-run --stats reports on stderr, e.g.
#   polymer-run: 1359 instructions in 0.000 s (233.8 M instructions/s, 4.28 ns/instruction)
instructions_from_stats() {
    grep -i 'instructions' "$1" | head -n 1 | tr -d ',_' | grep -oE '[0-9]+' | head -n 1
}

# ratio A B [DECIMALS]: A / B as "1.5x" ("-" when B is 0).
ratio() {
    awk -v a="$1" -v b="$2" -v d="${3:-1}" 'BEGIN { if (b > 0) printf "%.*fx", d, a / b; else printf "-" }'
}
ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }

mismatches=()
time_rows=()
target_rows=()
for p in "${programs[@]}"; do
    echo "run.sh: $p: C++" >&2
    for _ in 1 2 3; do keep_least "$p.cpp" "$work/$p"; done
    t_cpp="${LEAST[$p.cpp]}"
    expected="$(cat "$work/$p.cpp.out")"

    # Round robin: each repetition runs every implementation once, so a
    # disturbance on the shared machine hits them alike rather than one mode.
    for ((rep = 1; rep <= repeats; ++rep)); do
        echo "run.sh: $p: round $rep of $repeats" >&2
        for mode in "${modes[@]}"; do
            # --no-loop-kernels: the mode columns measure the interpreter and
            # the reorder engine, so loops the assembler made kernels of
            # (docs/loop-kernels.md) run as written here.
            keep_least "$p.$mode" "$runner" --stats --no-loop-kernels --backend "$backend" --exec "$mode" "$here/$p.pasm"
        done
        # What a user gets with no flags at all: the default mode on the
        # default backend (auto: on a machine without a GPU, lavapipe starts
        # as soon as the program has a vector op or kernel, even if it routes
        # them to the CPU), loop kernels included.
        keep_least "$p.defaults" "$runner" "$here/$p.pasm"
        if [[ -n "${BASELINE:-}" ]]; then
            keep_least "$p.baseline" "$BASELINE" --backend "$backend" --exec in-order "$here/$p.pasm"
        fi
        keep_least "$p.lua" lua5.4 "$here/$p.lua"
        keep_least "$p.luajit" luajit -joff "$here/$p.lua"
    done
    declare -A t_mode=() instr_mode=()
    for mode in "${modes[@]}"; do
        t_mode[$mode]="${LEAST[$p.$mode]}"
        instr_mode[$mode]="$(instructions_from_stats "$work/$p.$mode.err" || true)"
    done
    rss_poly="${LEAST_RSS[$p.$default_mode]}"
    t_defaults="${LEAST[$p.defaults]}"
    t_base="${LEAST[$p.baseline]:-}"
    t_lua="${LEAST[$p.lua]}"
    rss_lua="${LEAST_RSS[$p.lua]}"
    t_jit="${LEAST[$p.luajit]}"

    impls=("${modes[@]}" defaults lua luajit)
    [[ -z "$t_base" ]] || impls+=(baseline)
    for impl in "${impls[@]}"; do
        got="$(cat "$work/$p.$impl.out")"
        if [[ "$got" != "$expected" ]]; then
            label="$impl"
            [[ "$impl" == lua || "$impl" == luajit ]] || label="polymer-run --exec $impl"
            [[ "$impl" != defaults ]] || label="polymer-run with no flags"
            [[ "$impl" != baseline ]] || label="$BASELINE --exec in-order"
            mismatches+=("MISMATCH in $p: C++ printed '$expected' but $label printed '$got'")
            echo "${mismatches[-1]}" >&2
        fi
    done
    # Every mode runs the same instructions (docs/execution.md); say so if not.
    for mode in "${modes[@]}"; do
        if [[ "${instr_mode[$mode]}" != "${instr_mode[$default_mode]}" ]]; then
            echo "run.sh: note: $p: --exec $mode reports ${instr_mode[$mode]:-?} instructions, --exec $default_mode ${instr_mode[$default_mode]:-?}" >&2
        fi
    done

    # From CPU time rather than the wall time --stats measures, which counts
    # waiting for a core on a busy machine.
    t_poly="${t_mode[$default_mode]}"
    instr="${instr_mode[$default_mode]}"
    if [[ -n "$instr" ]]; then
        nspi="$(awk -v s="$t_poly" -v n="$instr" 'BEGIN { printf "%.2f", s * 1e9 / n }')"
    else
        instr="?"
        nspi="?"
    fi
    row="| $p | $expected | $(ms "$t_cpp") |"
    for mode in "${modes[@]}"; do
        row+=" $(ms "${t_mode[$mode]}") ($(ratio "${t_mode[$mode]}" "$t_cpp")) |"
    done
    row+=" $(ms "$t_defaults") ($(ratio "$t_defaults" "$t_cpp")) | $(ms "$t_lua") ($(ratio "$t_lua" "$t_cpp")) | $(ms "$t_jit") ($(ratio "$t_jit" "$t_cpp")) | $instr | $nspi | $((rss_poly / 1024)) | $((rss_lua / 1024)) |"
    time_rows+=("$row")

    t_in="${t_mode[in-order]}"
    row="| $p | $(ratio "$t_poly" "$t_in" 2) | $(ratio "${t_mode[frames]}" "$t_in" 2) | $(ratio "${t_mode[spec]}" "$t_in" 2) | $(ratio "$t_lua" "$t_poly" 2) | $(ratio "$t_jit" "$t_poly" 2) | $(ratio "$t_jit" "$t_in" 2) |"
    [[ -z "$t_base" ]] || row+=" $(ms "$t_base") | $(ratio "$t_in" "$t_base" 2) |"
    target_rows+=("$row")
    unset t_mode instr_mode
done

echo "polymer-run: $runner (--backend $backend)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "CPU ms (user + system), the least of $repeats runs each (C++: of 3); (x C++) = time / C++ time."
echo "Polymer columns are \`polymer-run --exec MODE\`; ooo is the default mode. Instructions and ns/instruction are the default mode's."
echo
echo "| program | result | C++ ms | in-order ms (x C++) | frames ms (x C++) | ooo (default) ms (x C++) | spec ms (x C++) | no flags (ooo, --backend auto) ms (x C++) | Lua 5.4 ms (x C++) | LuaJIT -joff ms (x C++) | Polymer instructions | ns/instruction (ooo, CPU) | Polymer ooo max RSS MiB | Lua max RSS MiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${time_rows[@]}"
echo
echo "Target ratios (CPU time / CPU time). Mode / in-order: 1.00x = the mode costs nothing over in-order, above 1 it is slower."
echo "Lua or LuaJIT / ooo: above 1 = Polymer's default mode is faster."
echo
if [[ -n "${BASELINE:-}" ]]; then
    echo "Baseline: $BASELINE (--exec in-order)."
    echo
    echo "| program | ooo (default) / in-order | frames / in-order | spec / in-order | Lua 5.4 / ooo | LuaJIT -joff / ooo | LuaJIT -joff / in-order | baseline in-order ms | in-order / baseline in-order |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
else
    echo "| program | ooo (default) / in-order | frames / in-order | spec / in-order | Lua 5.4 / ooo | LuaJIT -joff / ooo | LuaJIT -joff / in-order |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
fi
printf '%s\n' "${target_rows[@]}"
echo
echo "Wall time of this run: $(($(date +%s) - started)) s."

if ((${#mismatches[@]} > 0)); then
    echo
    printf '%s\n' "${mismatches[@]}"
    die "the implementations disagree (see MISMATCH above)"
fi
