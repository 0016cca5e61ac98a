#!/usr/bin/env bash
# Runs bench/xa_bench (docs/performance.md) on throwaway servers and prints its table.
#
# Usage: scripts/bench.sh [xa_bench options...]   e.g. --threads 1,8 --duration 10
#
# 1. starts MariaDB + PostgreSQL under build-bench/ts (scripts/test-servers.sh; left running,
#    stop them with XATM_TEST_SERVERS_DIR=<repo>/build-bench/ts scripts/test-servers.sh stop);
# 2. builds xa_bench in build-bench (RelWithDebInfo, XATM_BUILD_BENCHMARKS=ON);
# 3. counts the TM's fdatasync/fsync calls per xatm 2PC transaction in a short run under
#    `strace -c -f` for each thread count (the decision log exposes no counter), unless
#    XATM_BENCH_NO_STRACE=1 or strace is missing;
# 4. runs xa_bench once at the given settings (default: threads 1,8,32, 4 s per point after a
#    1 s warm-up, about 2.5 minutes in all) and prints the table and the xa-bench lines.
# The decision log and the rawxa_sync file go to build-bench/bench/xa_bench.d (the build
# tree's disk, not /tmp).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${XATM_BENCH_BUILD_DIR:-${repo_root}/build-bench}"
export XATM_TEST_SERVERS_DIR="${XATM_TEST_SERVERS_DIR:-${build}/ts}"

"${repo_root}/scripts/test-servers.sh" start
eval "$("${repo_root}/scripts/test-servers.sh" env)"
export XATM_TEST_MYSQL_SOCKET XATM_TEST_MYSQL_USER XATM_TEST_MYSQL_PASSWORD XATM_TEST_MYSQL_DATABASE \
       XATM_TEST_PG_CONNINFO

cmake -S "${repo_root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DXATM_BUILD_BENCHMARKS=ON -DXATM_BUILD_TESTS=OFF >/dev/null
ninja -C "${build}" -j2 xa_bench >/dev/null
bench="${build}/bench/xa_bench"

# The thread counts asked for (to count fsyncs at each).
threads="1,8,32"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = "--threads" ] && [ $((i + 1)) -lt ${#args[@]} ]; then threads="${args[$((i + 1))]}"; fi
done

fsyncs=""
if [ "${XATM_BENCH_NO_STRACE:-0}" != 1 ] && command -v strace >/dev/null; then
  for n in ${threads//,/ }; do
    trace="$(mktemp)"
    out="$(strace -c -f -e trace=fdatasync,fsync -o "${trace}" \
             "${bench}" --variants xatm2pc --threads "${n}" --duration 1 --warmup 0 2>/dev/null)"
    tx="$(sed -n 's/^xa-bench-count: .* transactions=\([0-9]*\)$/\1/p' <<<"${out}")"
    # strace -c: "% time seconds usecs/call calls [errors] syscall"; the 4th field is calls.
    syncs="$(awk '$NF == "fdatasync" || $NF == "fsync" { n += $4 } END { print n + 0 }' "${trace}")"
    rm -f "${trace}"
    syncs=$((syncs > 0 ? syncs - 1 : 0))  # xa_bench's own fsync of the rawxa_sync file
    per_tx="$(awk -v s="${syncs}" -v t="${tx:-0}" 'BEGIN { if (t > 0) printf "%.2f", s / t; else print "n/a" }')"
    echo "fsyncs under strace: threads=${n} transactions=${tx:-0} fdatasync+fsync=${syncs} per_tx=${per_tx}"
    fsyncs="${fsyncs:+${fsyncs},}${n}=${per_tx}"
  done
fi

echo "uptime: $(uptime)"
exec "${bench}" ${fsyncs:+--xatm-fsyncs "${fsyncs}"} "$@"
