#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in build-fuzz/, and runs
# each for SECONDS seconds (default 60) starting from its committed seed corpus. Fails when a
# target crashes, leaks, times out or trips a sanitizer, or when the build fails.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (from any directory; default: every target)
# Environment:
#   XATM_FUZZ_BUILD_DIR   build directory (default: <repo>/build-fuzz)
#   XATM_FUZZ_JOBS        targets fuzzed at the same time (default: nproc)
# Output, under the build directory: fuzz-logs/<target>.log (libFuzzer's output),
# fuzz-corpus/<target>/ (inputs found, kept between runs; tests/fuzz/corpus is never written),
# fuzz-artifacts/<target>/ (the input of a crash: rerun with build-fuzz/tests/fuzz/<target> FILE).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
build_dir="${XATM_FUZZ_BUILD_DIR:-${repo_root}/build-fuzz}"
jobs="${XATM_FUZZ_JOBS:-$(nproc)}"
all_targets=(log_reader_fuzzer xid_text_fuzzer xid_c_fuzzer xid_gtrid_fuzzer)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

if ! [[ "${seconds}" =~ ^[0-9]+$ ]] || [[ "${seconds}" -eq 0 ]]; then
  echo "fuzz.sh: SECONDS must be a positive integer, got '${seconds}'" >&2
  exit 2
fi
if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ not found; scripts/setup.sh installs clang" >&2
  exit 1
fi

echo "=== fuzz.sh: building ${targets[*]} in ${build_dir} ==="
cmake -S "${repo_root}" -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DXATM_BUILD_FUZZERS=ON \
  -DXATM_SANITIZE=address,undefined -DXATM_BUILD_TESTS=OFF -DXATM_BUILD_BENCHMARKS=OFF \
  -DXATM_WITH_MYSQL=OFF -DXATM_WITH_POSTGRESQL=OFF >/dev/null
cmake --build "${build_dir}" --parallel "$(nproc)" --target "${targets[@]}"

logs="${build_dir}/fuzz-logs"
mkdir -p "${logs}"

# Runs one target in the background; its exit status is collected by wait.
fuzz_one() {
  local target="$1"
  local corpus="${build_dir}/fuzz-corpus/${target}"
  local artifacts="${build_dir}/fuzz-artifacts/${target}"
  local seeds="${repo_root}/tests/fuzz/corpus/${target}"
  mkdir -p "${corpus}" "${artifacts}"
  # The first corpus directory receives new inputs; the seed directory is only read.
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "${build_dir}/tests/fuzz/${target}" -max_total_time="${seconds}" -timeout=25 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="${artifacts}/" \
    "${corpus}" "${seeds}" >"${logs}/${target}.log" 2>&1
}

echo "=== fuzz.sh: ${#targets[@]} targets, ${seconds} s each, ${jobs} at a time ==="
failed=()
pending=("${targets[@]}")
while [[ ${#pending[@]} -gt 0 ]]; do
  batch=("${pending[@]:0:${jobs}}")
  pending=("${pending[@]:${jobs}}")
  pids=()
  for target in "${batch[@]}"; do
    fuzz_one "${target}" &
    pids+=("$!")
  done
  for i in "${!batch[@]}"; do
    target="${batch[$i]}"
    if wait "${pids[$i]}"; then status=ok; else status=FAILED; failed+=("${target}"); fi
    runs="$(grep -o 'stat::number_of_executed_units: [0-9]*' "${logs}/${target}.log" |
      grep -o '[0-9]*$' || echo '?')"
    coverage="$(grep -o 'cov: [0-9]*' "${logs}/${target}.log" | tail -1 || true)"
    printf '%-20s %-6s %s runs in %s s, %s\n' "${target}" "${status}" "${runs}" "${seconds}" \
      "${coverage:-cov: ?}"
  done
done

if [[ ${#failed[@]} -gt 0 ]]; then
  for target in "${failed[@]}"; do
    echo "--- ${target}: last lines of ${logs}/${target}.log ---"
    tail -n 40 "${logs}/${target}.log"
  done
  echo "=== fuzz.sh: FAILED: ${failed[*]} (inputs in ${build_dir}/fuzz-artifacts/) ===" >&2
  exit 1
fi
echo "=== fuzz.sh: no crash in ${targets[*]} ==="
