#!/usr/bin/env bash
# Checks the include rules of docs/architecture.md ("Include rules"):
#   - include/ (the installed API and SDK) includes only include/ and system/vendor headers:
#     never src/, testing/ or a driver;
#   - drivers/<d>/ includes only include/, its own files (drivers/<d>/ and drivers/<d>/include/)
#     and vendor headers: never src/, testing/ (the fake RM included) or another driver;
#   - src/ never includes testing/ or a driver; the crash points reach src/ only through
#     src/testing_hooks.h, whose include of testing/crash_points.h is compiled only with
#     XATM_TESTING_HOOKS.
#   - src/prometheus/ (the optional xatm::prometheus) includes only include/, its own files
#     (src/prometheus/ and src/prometheus/include/) and vendor headers; the rest of src/ never
#     includes it: the core builds without prometheus-cpp.
# tools/, tests/, bench/, examples/ and testing/ may include anything.
#
# Every #include "..." and #include <...> is resolved the way a compiler with the build's include
# paths would find it: a quoted one first against the including file's directory, then against the
# directories the file's own target may use (allowed), then against every other include root of the
# tree (src/, the repository root, testing/, testing/fake/include/, src/prometheus/include/, the
# drivers'). What it resolves
# to decides; a header found nowhere in the tree is a system or vendor header and is not checked.
# Prints every violation as FILE:LINE: rule, exits 1 if there is one. Runs from any directory.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

shopt -s nullglob
drivers=()
for dir in drivers/*/; do
  drivers+=("${dir%/}")
done

# Include roots of the build that a target outside the rules' allowance could reach.
prometheus=src/prometheus
other_roots=(src . testing testing/fake/include "${prometheus}/include" tools)
for driver in "${drivers[@]}"; do
  other_roots+=("${driver}/include" "${driver}")
done

violations=0
exempt=""  # the one resolved path check() lets through for the current file

# resolve KIND FILE TARGET ROOT...: the repository-relative path the include names, or nothing.
resolve() {
  local kind="$1" file="$2" target="$3"
  shift 3
  local dirs=("$@")
  if [[ "${kind}" == '"' ]]; then
    dirs=("$(dirname "${file}")" "${dirs[@]}")
  fi
  local dir
  for dir in "${dirs[@]}"; do
    if [[ -f "${dir}/${target}" ]]; then
      realpath -m --relative-to=. "${dir}/${target}"
      return
    fi
  done
}

# Which area of the tree PATH is in: include, src/prometheus, src, testing, drivers/<d>, or other.
area_of() {
  local path="$1" driver
  case "${path}" in
    include/*) echo include ;;
    "${prometheus}"/*) echo "${prometheus}" ;;
    src/*) echo src ;;
    tx/*) echo tx ;;
    tools/tool_config.h) echo tool_config ;;
    tools/*) echo tools ;;
    testing/*) echo testing ;;
    drivers/*)
      for driver in "${drivers[@]}"; do
        if [[ "${path}" == "${driver}/include/"* ]]; then
          echo "${driver}/include"  # its public headers
          return
        fi
        if [[ "${path}" == "${driver}/"* ]]; then
          echo "${driver}"
          return
        fi
      done
      echo drivers ;;
    *) echo other ;;
  esac
}

# includes_of FILE: LINE<TAB>KIND<TAB>TARGET for every #include of FILE (KIND: " or <).
includes_of() {
  awk '
    match($0, /^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^">]+[">]/) {
      s = substr($0, RSTART, RLENGTH)
      sub(/^[[:space:]]*#[[:space:]]*include[[:space:]]*/, "", s)
      printf "%d\t%s\t%s\n", NR, substr(s, 1, 1), substr(s, 2, length(s) - 2)
    }' "$1"
}

# check FILE RULE ALLOWED_AREAS ROOT...: every include of FILE that resolves into the tree must
# resolve into one of ALLOWED_AREAS (space-separated areas of area_of); ROOT... are the include
# roots FILE's target may use.
check() {
  local file="$1" rule="$2" allowed_areas="$3"
  shift 3
  local roots=("$@")
  local line kind target resolved area
  while IFS=$'\t' read -r line kind target; do
    resolved="$(resolve "${kind}" "${file}" "${target}" "${roots[@]}" "${other_roots[@]}")"
    [[ -n "${resolved}" ]] || continue  # a system or vendor header
    [[ "${resolved}" != "${exempt}" ]] || continue
    area="$(area_of "${resolved}")"
    if [[ " ${allowed_areas} " != *" ${area} "* ]]; then
      echo "${file}:${line}: includes ${resolved}: ${rule}"
      violations=$((violations + 1))
    fi
  done < <(includes_of "${file}")
}

sources() { find "$@" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cc' -o -name '*.cpp' \) -print | sort; }

while IFS= read -r file; do
  check "${file}" "include/ includes only include/ (never src/, testing/ or a driver)" \
    "include" include
done < <(sources include)

while IFS= read -r file; do
  driver=""
  for candidate in "${drivers[@]}"; do
    if [[ "${file}" == "${candidate}/"* ]]; then
      driver="${candidate}"
    fi
  done
  if [[ -n "${driver}" ]]; then
    check "${file}" \
      "${driver}/ includes only include/xatm/ and its own files (never src/, testing/ or another driver)" \
      "include ${driver} ${driver}/include" include "${driver}/include" "${driver}"
  else
    check "${file}" "drivers/ includes only include/xatm/ (never src/ or testing/)" \
      "include" include
  fi
done < <(sources drivers)

# src/testing_hooks.h, the one door from src/ to testing/: it may include testing/crash_points.h
# (and nothing else of testing/, checked with the rest of src/ below), only inside
# #ifdef XATM_TESTING_HOOKS (before any #else), so that a release build includes none of it.
hooks=src/testing_hooks.h
if [[ -f "${hooks}" ]]; then
  while IFS=$'\t' read -r line what; do
    echo "${hooks}:${line}: ${what}"
    violations=$((violations + 1))
  done < <(awk '
    /^[[:space:]]*#[[:space:]]*if/ {
      depth++
      hooks_at[depth] = ($0 ~ /^[[:space:]]*#[[:space:]]*ifdef[[:space:]]+XATM_TESTING_HOOKS([[:space:]]|$)/ ||
                         $0 ~ /^[[:space:]]*#[[:space:]]*if[[:space:]]+defined[[:space:](]+XATM_TESTING_HOOKS/)
    }
    /^[[:space:]]*#[[:space:]]*(else|elif)/ { hooks_at[depth] = 0 }
    /^[[:space:]]*#[[:space:]]*endif/ { hooks_at[depth] = 0; depth-- }
    /^[[:space:]]*#[[:space:]]*include[[:space:]]*["<](\.\.\/)*testing\/crash_points\.h[">]/ {
      guarded = 0
      for (d = 1; d <= depth; d++) if (hooks_at[d]) guarded = 1
      if (!guarded) printf "%d\tincludes testing/crash_points.h outside #ifdef XATM_TESTING_HOOKS\n", NR
    }' "${hooks}")
fi

while IFS= read -r file; do
  exempt=""
  [[ "${file}" == "${hooks}" ]] && exempt=testing/crash_points.h  # checked above
  check "${file}" \
    "src/ never includes testing/ (crash points only through src/testing_hooks.h), a driver nor ${prometheus}/" \
    "include src" src include
done < <(sources src -path "${prometheus}" -prune -o)

exempt=""
while IFS= read -r file; do
  check "${file}" \
    "${prometheus}/ includes only include/xatm/ and its own files (never the rest of src/, testing/ or a driver)" \
    "include ${prometheus}" include "${prometheus}/include" "${prometheus}"
done < <(sources "${prometheus}")

# tx/ (xatm::tx, the X/Open TX API): the installed headers, the drivers' public headers and the
# config file reader of tools/ (compiled into it); never src/ or testing/.
driver_areas=""
driver_includes=()
for driver in "${drivers[@]}"; do
  driver_areas+=" ${driver}/include"
  driver_includes+=("${driver}/include")
done
while IFS= read -r file; do
  check "${file}"     "tx/ includes only include/xatm/, the drivers' public headers and tools/tool_config.h (never src/ or testing/)"     "include tx tool_config${driver_areas}" include tx "${driver_includes[@]}" tools
done < <(sources tx)

if [[ ${violations} -ne 0 ]]; then
  echo "check-includes: ${violations} violation(s) of the include rules (docs/architecture.md)" >&2
  exit 1
fi
echo "check-includes: include/, drivers/, src/, ${prometheus}/ and tx/ keep the include rules"
