#!/usr/bin/env bash
# Proves that a release build of xatm, installed, carries none of the test-only crash points
# (testing/crash_points.cc, compiled in only with XATM_TESTING_HOOKS=ON): no installed library
# holds the XATM_CRASH_AT variable name or a crash_point symbol, so no environment variable can
# make a production process _exit(86). As a control, the same checks must find the hooks in the
# test build's own library, which has them.
#
# Usage: release_has_no_test_hooks.sh SOURCE_DIR TEST_BUILD_LIBRARY CXX_COMPILER CMAKE GENERATOR
set -euo pipefail

if [[ $# -ne 5 ]]; then
  echo "usage: $0 SOURCE_DIR TEST_BUILD_LIBRARY CXX_COMPILER CMAKE GENERATOR" >&2
  exit 2
fi
source_dir="$1"
test_library="$2"
cxx="$3"
cmake="$4"
generator="$5"

work="$(mktemp -d "${TMPDIR:-/tmp}/xatm-release-hooks.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# Prints what in LIBRARY betrays a crash point; exits 0 when something does.
has_hooks() {
  local library="$1" found=1
  if grep -a -q XATM_CRASH_AT "${library}"; then
    echo "  ${library}: holds the string XATM_CRASH_AT"
    found=0
  fi
  if nm -C "${library}" 2>/dev/null | grep -E ' [TtWw] .*(crash_point|set_crash_hook)'; then
    echo "  ${library}: defines the symbols above"
    found=0
  fi
  return "${found}"
}

echo "--- control: the test build's library has the hooks"
if ! has_hooks "${test_library}"; then
  echo "FAIL: the check finds no hook even in ${test_library}, built with XATM_TESTING_HOOKS=ON" >&2
  exit 1
fi

echo "--- configure and build a release (defaults: XATM_TESTING_HOOKS=OFF, no tests)"
# Quiet unless a step fails; then its output is shown.
quietly() {
  if ! "$@" >"${work}/step.log" 2>&1; then
    tail -n 60 "${work}/step.log" >&2
    echo "FAIL: $*" >&2
    exit 1
  fi
}
quietly "${cmake}" -S "${source_dir}" -B "${work}/build" -G "${generator}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="${cxx}" -DXATM_WITH_MYSQL=OFF -DXATM_WITH_POSTGRESQL=OFF
quietly "${cmake}" --build "${work}/build" --parallel "$(nproc)"
quietly "${cmake}" --install "${work}/build" --prefix "${work}/prefix"

echo "--- the installed libraries"
status=0
while IFS= read -r library; do
  echo "  ${library#"${work}"/prefix/}"
  if has_hooks "${library}"; then status=1; fi
done < <(find "${work}/prefix" -type f \( -name '*.a' -o -name '*.so*' \))
if [[ ${status} -ne 0 ]]; then
  echo "FAIL: an installed release library carries a test hook (above)" >&2
  exit 1
fi
echo "OK: no installed library carries a test hook"
