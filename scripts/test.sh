#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install, build, run.
# Then each fuzz target's short pass (label fuzz), built with clang and
# ASan/UBSan in build-fuzz (tests/fuzz/CMakeLists.txt). Arguments go to the
# main suite's ctest; POLYMER_SKIP_FUZZ=1 leaves the fuzz pass out.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOLYMER_WERROR=ON
cmake --build build -j2
ctest --test-dir build -j2 --output-on-failure "$@"

if [ "${POLYMER_SKIP_FUZZ:-0}" != 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOLYMER_FUZZ=ON
  cmake --build build-fuzz -j2 --target fuzz_targets
  ctest --test-dir build-fuzz -j2 -L fuzz --output-on-failure
fi
