#!/usr/bin/env bash
# Checks the include rules of docs/architecture.md:
#   - include/ (the installed headers) includes only include/ and the standard/vendor headers;
#   - drivers/ includes only include/, its own driver's files and vendor headers, never src/ or
#     testing/ (the driver SDK is include/xatm/driver/);
#   - src/ never includes testing/ (the crash points reach src/ only through src/testing_hooks.h,
#     compiled in with XATM_TESTING_HOOKS).
# Prints every violation as FILE:LINE: rule, and exits 1 if there is one. Run from anywhere.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

violations=0
report() {
  echo "$1: $2"
  violations=$((violations + 1))
}

# Where a quoted include of FILE resolves among DIRS (relative to the repository); empty if none.
resolve() {
  local file="$1" target="$2"
  shift 2
  local dir
  for dir in "$(dirname "${file}")" "$@"; do
    if [[ -f "${dir}/${target}" ]]; then
      realpath --relative-to=. "${dir}/${target}"
      return
    fi
  done
}

# A quoted include that names a file under src/ or testing/ (as the build's private include
# paths would find it).
internal_target() {
  local target="$1"
  if [[ -f "src/${target}" ]]; then echo "src/${target}"; return; fi
  if [[ -f "${target}" && ( "${target}" == src/* || "${target}" == testing/* ) ]]; then echo "${target}"; return; fi
  if [[ -f "testing/${target}" ]]; then echo "testing/${target}"; fi
}

while IFS= read -r file; do
  driver_include=""
  if [[ "${file}" == drivers/* ]]; then
    driver_dir="$(echo "${file}" | cut -d/ -f1-2)"
    driver_include="${driver_dir}/include"
  fi
  while IFS=: read -r line target; do
    resolved="$(resolve "${file}" "${target}" include ${driver_include:+"${driver_include}"} ${driver_dir:+"${driver_dir}"})"
    if [[ -n "${resolved}" && "${resolved}" != src/* && "${resolved}" != testing/* ]]; then
      continue  # its own header, the public API or the SDK
    fi
    internal="${resolved:-$(internal_target "${target}")}"
    [[ -n "${internal}" ]] || continue  # a vendor header found through the vendor's paths
    report "${file}:${line}" "includes ${internal} (include/ and drivers/ must not include src/ or testing/)"
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${file}" |
           sed -E 's/^([0-9]+):.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1:\2/')
done < <(find include drivers -type f \( -name '*.h' -o -name '*.cc' \) | sort)

while IFS= read -r file; do
  while IFS=: read -r line target; do
    if [[ "${target}" == testing/* || "${target}" == ../testing/* ]]; then
      report "${file}:${line}" "includes ${target} (src/ reaches testing/ only through testing_hooks.h)"
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${file}" |
           sed -E 's/^([0-9]+):.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1:\2/')
done < <(find src -type f \( -name '*.h' -o -name '*.cc' \) ! -name testing_hooks.h | sort)

if [[ ${violations} -ne 0 ]]; then
  echo "check-includes: ${violations} violation(s) of the include rules (docs/architecture.md)" >&2
  exit 1
fi
echo "check-includes: include/, drivers/ and src/ keep the include rules"
