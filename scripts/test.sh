#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install, build, run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOLYMER_WERROR=ON
cmake --build build -j2
ctest --test-dir build -j2 --output-on-failure "$@"
