#!/usr/bin/env bash
# Installs the Debian 12 packages Polymer builds, tests and runs with.
# Idempotent: packages already present are left alone.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ pkg-config      # build
  libasio-dev                           # standalone Asio (cluster)
  libvulkan-dev mesa-vulkan-drivers     # Vulkan loader + lavapipe, a CPU Vulkan device
  vulkan-validationlayers vulkan-tools  # validation in tests, vulkaninfo
  glslang-dev glslang-tools spirv-tools # GLSL -> SPIR-V, spirv-val
  libcli11-dev                          # command-line parsing
  googletest libgtest-dev               # tests
  libssl-dev                            # HMAC for node authentication, TLS 1.3 for --tls
  libisal-dev                           # CRC-32 of the cluster's wire frames (ISA-L: tens of GB/s)
  clang libclang-rt-14-dev              # libFuzzer targets (optional build)
  lua5.4 luajit                         # benchmark references
  libedit-dev                           # the debugger REPL's line editing, history and tab completion
  tmux                                  # the debugger's real-terminal test (tests/debugger)
  iproute2                              # `ip netns` for the cluster's network-namespace test (root only)
  vim                                   # the generated syntax file's test (tests/editors)
  dpkg-dev                              # CPack's Debian package: dpkg-shlibdeps finds its dependencies (tests/package)
  help2man                              # the tools' man pages, from their --help (cmake/man_pages.cmake)
  libsystemd-dev                        # sd_notify: polymer-node tells systemd it is ready (Type=notify)
  systemd                               # systemd-analyze verify checks the packaged unit (tests/package)
  libopenmpi-dev openmpi-bin            # polymer-run --mpi under mpirun/srun (optional in CMake; its test runs mpirun)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
