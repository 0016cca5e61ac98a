#!/usr/bin/env bash
# The long crash soak: N kill -9 crashes of transfers between MariaDB and PostgreSQL, each
# followed by recovery and the invariant checks of tests/crash (sum of balances unchanged, no
# branch left prepared, the ledgers of both databases agreeing with each other and with every
# answer commit() gave), once with decisions in the file log and once each with PostgreSQL's and
# MariaDB's decision table (logging last resource), and once with the decision log in PostgreSQL
# (every recovery a takeover of the killed node). It prints one line per variant:
#   crash-soak: runs=N violations=V leftovers=L decision_table=<data source.table|none> log=<file|postgresql.table>
#
# Usage: scripts/crash-soak.sh [ITERATIONS=2000] [SEED]     (from any directory)
# Environment: XATM_BUILD_DIR (default <repo>/build), as for scripts/test.sh.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${XATM_BUILD_DIR:-${repo_root}/build}"
iterations="${1:-2000}"
seed="${2:-}"

"${repo_root}/scripts/setup.sh"
cmake -S "${repo_root}" -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXATM_BUILD_TESTS=ON -DXATM_TESTING_HOOKS=ON >/dev/null
cmake --build "${build_dir}" --parallel "$(nproc)" --target xatm_crash_tests xatm_crash_worker

"${repo_root}/scripts/test-servers.sh" start
trap '"${repo_root}/scripts/test-servers.sh" stop' EXIT

export XATM_CRASH_ITERATIONS="${iterations}"
[ -n "${seed}" ] && export XATM_CRASH_SEED="${seed}"
"${build_dir}/tests/crash/xatm_crash_tests" 2>&1 | grep -v '^\[20' | tee "${build_dir}/crash-soak.log" |
  grep -E '^(crash|\[  (PASSED|FAILED))|Failure|seed' || true
# Every variant ran, and none found a violation or a leftover.
[ "$(grep -c '^crash-soak: runs=[0-9]* violations=0 leftovers=0 ' "${build_dir}/crash-soak.log")" -eq 4 ]
