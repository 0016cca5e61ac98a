#!/usr/bin/env bash
# Installs the Debian 12 packages xatm needs to build, test and run its integration tests.
#
# Idempotent and non-interactive: when every package is already installed it prints nothing and
# touches nothing (no apt-get update). Runs as root, or through sudo when not root.
# Usage: scripts/setup.sh   (from any directory)
set -euo pipefail

packages=(
  # toolchain; libclang-rt-14-dev holds clang's libFuzzer and sanitizer runtimes (scripts/fuzz.sh)
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # libraries (CLI11: the command line of xatm-recover)
  libboost-dev libboost-log-dev libboost-program-options-dev nlohmann-json3-dev libcli11-dev
  libmysqlcppconn-dev libpq-dev
  # xatm::prometheus (XATM_WITH_PROMETHEUS, on in scripts/test.sh) and the order_service example
  prometheus-cpp-dev
  # tests and benchmarks (gdb holds a MariaDB thread open in the detach-window test; debootstrap
  # makes the clean Debian 12 of the install.clean_debian12 test)
  libgtest-dev libgmock-dev libbenchmark-dev gdb debootstrap
  # database servers and clients for the integration and crash tests
  mariadb-server mariadb-client postgresql
)

missing=()
for package in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "${package}" 2>/dev/null || true)"
  if [[ "${status}" != "installed" ]]; then
    missing+=("${package}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ ${EUID} -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "setup.sh: missing packages: ${missing[*]}" >&2
  echo "setup.sh: not root and no sudo; install them as root" >&2
  exit 1
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq "${missing[@]}"
