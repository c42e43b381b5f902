#!/usr/bin/env bash
# Installs every Debian package fedactor needs to build, test and run.
# Idempotent: packages already present are left alone; `apt-get update` runs
# only when something is missing. Run as root (or with sudo) on Debian 12.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # actor framework, wire format, ML
  libcaf-dev capnproto libcapnp-dev libtorch-dev
  # TLS and the node certificates (the actor framework's OpenSSL module
  # uses the same library)
  libssl-dev
  # fuzzing: libFuzzer comes with clang's runtime libraries
  clang libclang-rt-14-dev
  # optimised BLAS for LibTorch: without it the reference BLAS is used and
  # training is ~10x slower; the OpenMP build honours one thread per worker
  libopenblas0-openmp
  # config, CLI, logging, tests, compression, JSON (the run report)
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev catch2 zlib1g-dev
  nlohmann-json3-dev
  # data: Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist
  dataset-fashion-mnist
  # multi-host tests (network namespaces) and process tools
  iproute2 procps
  # launch over SSH (the client), and its test's SSH server: dropbear-bin
  # holds only the programs, so no SSH service is installed or started
  openssh-client dropbear-bin
  # the report's test renders it in a headless browser
  chromium
  # benchmarks: peak memory of processes
  time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
