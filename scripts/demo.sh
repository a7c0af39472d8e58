#!/usr/bin/env bash
# Set up, build, and run one sample lesson end to end (default: the first).
#   ./scripts/demo.sh [samples/NN-name.pasm]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target polymer-as polymer-run polymer-dis
sample="${1:-samples/01-hello.pasm}"
echo "== assembling $sample (listing) =="
./build/bin/polymer-as "$sample" -o build/demo.pbc --listing
echo "== running build/demo.pbc =="
./build/bin/polymer-run build/demo.pbc
echo
echo "== a kernel on the Vulkan device (lavapipe here, or your GPU): samples/10-saxpy.pasm =="
./build/bin/polymer-run --backend vulkan --stats samples/10-saxpy.pasm
echo
