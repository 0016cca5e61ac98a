#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test (all ctest labels).
#
# Usage: scripts/test.sh   (from any directory)
# Environment:
#   XATM_BUILD_DIR    build directory (default: <repo>/build; relative paths are relative to the
#                     current directory)
#   XATM_CMAKE_ARGS   extra arguments for the cmake configure step, split on whitespace
#                     (e.g. "-DCMAKE_BUILD_TYPE=Debug -DXATM_SANITIZE=address,undefined")
#   XATM_CTEST_ARGS   extra arguments for ctest (e.g. "-L unit"), split on whitespace
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${XATM_BUILD_DIR:-${repo_root}/build}"
jobs="$(nproc)"
read -r -a cmake_args <<<"${XATM_CMAKE_ARGS:-}"
read -r -a ctest_args <<<"${XATM_CTEST_ARGS:-}"

section() { printf '\n=== %s ===\n' "$*"; }

section "setup: Debian packages"
"${repo_root}/scripts/setup.sh"

section "configure: ${build_dir}"
# The tests need the library's crash points, which a release build leaves out. The optional
# xatm::prometheus target is built and tested too (with examples/order_service).
cmake -S "${repo_root}" -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXATM_BUILD_TESTS=ON -DXATM_TESTING_HOOKS=ON -DXATM_WITH_PROMETHEUS=ON "${cmake_args[@]}"

section "build (${jobs} jobs)"
cmake --build "${build_dir}" --parallel "${jobs}"

section "test"
cd "${build_dir}"
ctest --output-on-failure --no-tests=error --parallel "${jobs}" "${ctest_args[@]}"

section "all tests passed"
