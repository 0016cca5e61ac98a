#!/usr/bin/env bash
# The README's run command: builds xatm, starts throwaway MariaDB and PostgreSQL servers, and runs
# examples/bank_transfer.cc: several threads move money between accounts in MariaDB and accounts
# in PostgreSQL, each transfer one global transaction, then the total is checked.
#
# Usage: scripts/demo.sh [THREADS=4] [TRANSFERS_PER_THREAD=250]   (from any directory)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${XATM_BUILD_DIR:-${repo_root}/build}"
threads="${1:-4}"
transfers="${2:-250}"

echo "=== setup: Debian packages"
"${repo_root}/scripts/setup.sh"
echo "=== build: ${build_dir}"
cmake -S "${repo_root}" -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "${build_dir}" --parallel "$(nproc)" --target bank_transfer
echo "=== servers"
"${repo_root}/scripts/test-servers.sh" start
trap '"${repo_root}/scripts/test-servers.sh" stop' EXIT
eval "$("${repo_root}/scripts/test-servers.sh" env)"
export XATM_TEST_MYSQL_SOCKET XATM_TEST_MYSQL_USER XATM_TEST_MYSQL_PASSWORD XATM_TEST_MYSQL_DATABASE \
       XATM_TEST_PG_CONNINFO
echo "=== bank_transfer: ${threads} threads x ${transfers} transfers between MariaDB and PostgreSQL"
"${build_dir}/examples/bank_transfer" --threads "${threads}" --transfers "${transfers}" \
  --log-dir "${build_dir}/demo-xatm-log"
