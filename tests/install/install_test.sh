#!/usr/bin/env bash
# Installs a build of xatm into a temporary prefix and builds and runs an outside project against
# it: proves that the installed headers, libraries, CMake package config and pkg-config files are
# complete. The consumer links xatm::core, both drivers (and xatm::prometheus when built), once
# through find_package(xatm) and once through pkg-config alone, plus a C program.
#
# Usage: install_test.sh BUILD_DIR CONSUMER_SOURCE_DIR CXX_COMPILER CMAKE GENERATOR CONFIG [SANITIZE]
#   SANITIZE: the build's XATM_SANITIZE value; the consumer is built with the same sanitizers,
#   since an instrumented static library only links into an instrumented program.
set -euo pipefail

if [[ $# -lt 6 ]]; then
  echo "usage: $0 BUILD_DIR CONSUMER_SOURCE_DIR CXX_COMPILER CMAKE GENERATOR CONFIG [SANITIZE]" >&2
  exit 2
fi
build_dir="$1"
consumer_dir="$2"
cxx="$3"
cmake="$4"
generator="$5"
config="${6:-Release}"
sanitize="${7:-}"
[[ -n "${config}" ]] || config=Release

work="$(mktemp -d "${TMPDIR:-/tmp}/xatm-install-test.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
prefix="${work}/prefix"

echo "--- cmake --install ${build_dir} --prefix ${prefix}"
"${cmake}" --install "${build_dir}" --config "${config}" --prefix "${prefix}"

# The top-level public headers must stay vendor-free (STYLE.md rule 1).
if grep -lE '#[[:space:]]*include[[:space:]]*[<"](boost/|mysql|cppconn/|libpq-fe\.h)' \
    "${prefix}"/include/xatm/*.h; then
  echo "FAIL: an installed header under include/xatm/ includes a vendor header (listed above)" >&2
  exit 1
fi

flags=()
if [[ -n "${sanitize}" ]]; then
  flags+=("-DCMAKE_CXX_FLAGS=-fsanitize=${sanitize} -fno-omit-frame-pointer"
          "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${sanitize}")
fi

echo "--- configure the consumer against ${prefix}"
"${cmake}" -S "${consumer_dir}" -B "${work}/consumer-build" -G "${generator}" \
  -DCMAKE_BUILD_TYPE="${config}" -DCMAKE_CXX_COMPILER="${cxx}" \
  -DCMAKE_PREFIX_PATH="${prefix}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF "${flags[@]}"

# find_package must have used the installed config, not a build tree or a system copy.
xatm_dir="$(sed -n 's/^xatm_DIR:PATH=//p' "${work}/consumer-build/CMakeCache.txt")"
if [[ "${xatm_dir}" != "${prefix}/"* ]]; then
  echo "FAIL: find_package(xatm) used '${xatm_dir}', not the install prefix ${prefix}" >&2
  exit 1
fi

echo "--- build the consumer"
"${cmake}" --build "${work}/consumer-build" --config "${config}"

echo "--- run the consumer"
consumer="$(find "${work}/consumer-build" -type f -name xatm_consumer -perm -u+x | head -n 1)"
"${consumer}"

# Built when the build has both drivers (the default), and then it must have been.
if grep -q '^XATM_WITH_MYSQL:BOOL=ON' "${build_dir}/CMakeCache.txt" &&
   grep -q '^XATM_WITH_POSTGRESQL:BOOL=ON' "${build_dir}/CMakeCache.txt"; then
  echo "--- run the drivers consumer (xatm::mysql, xatm::postgresql)"
  consumer="$(find "${work}/consumer-build" -type f -name xatm_drivers_consumer -perm -u+x |
              head -n 1)"
  if [[ -z "${consumer}" ]]; then
    echo "FAIL: the installed package lacks xatm::mysql or xatm::postgresql" >&2
    exit 1
  fi
  "${consumer}"

  echo "--- pkg-config: the same programs built from the installed .pc files alone"
  export PKG_CONFIG_PATH="$(dirname "$(find "${prefix}" -name xatm.pc | head -n 1)")"
  pc_flags=()
  [[ -n "${sanitize}" ]] && pc_flags=("-fsanitize=${sanitize}" -fno-omit-frame-pointer)
  # The libraries are static here (pkg-config --static adds their private dependencies).
  # Assigned first, so that a pkg-config failure stops the script (set -e).
  pc="$(pkg-config --static --cflags --libs xatm)"
  read -r -a core_libs <<<"${pc}"
  "${cxx}" -std=c++20 "${pc_flags[@]}" "${consumer_dir}/main.cc" -o "${work}/pc_consumer" \
    "${core_libs[@]}"
  "${work}/pc_consumer"
  pc="$(pkg-config --static --cflags --libs xatm-mysql xatm-postgresql)"
  read -r -a driver_libs <<<"${pc}"
  "${cxx}" -std=c++20 "${pc_flags[@]}" "${consumer_dir}/drivers_main.cc" \
    -o "${work}/pc_drivers_consumer" "${driver_libs[@]}"
  "${work}/pc_drivers_consumer"
  # C programs: compiled as C, linked by the C++ compiler (the libraries are C++ inside).
  cc="$(dirname "${cxx}")/cc"
  [[ -x "${cc}" ]] || cc=cc
  run_c_program() {  # run_c_program SOURCE PACKAGE
    local name cflags libs
    name="$(basename "$1" .c)"
    cflags="$(pkg-config --cflags "$2")"
    libs="$(pkg-config --static --libs "$2")"
    read -r -a c_flags <<<"${cflags}"
    read -r -a c_libs <<<"${libs}"
    "${cc}" -std=c99 -Wall -Werror "${pc_flags[@]}" "${c_flags[@]}" -c "$1" -o "${work}/${name}.o"
    "${cxx}" "${pc_flags[@]}" "${work}/${name}.o" -o "${work}/${name}" "${c_libs[@]}"
    "${work}/${name}"
  }
  run_c_program "${consumer_dir}/switch_main.c" xatm-postgresql
  run_c_program "${consumer_dir}/tx_main.c" xatm-tx
fi

# Built when the installed package has xatm::prometheus (XATM_WITH_PROMETHEUS=ON), and then it
# must have been: the build tree says whether it was.
if grep -q '^XATM_WITH_PROMETHEUS:BOOL=ON' "${build_dir}/CMakeCache.txt"; then
  echo "--- run the xatm::prometheus consumer"
  consumer="$(find "${work}/consumer-build" -type f -name xatm_prometheus_consumer -perm -u+x |
              head -n 1)"
  if [[ -z "${consumer}" ]]; then
    echo "FAIL: the installed package has no xatm::prometheus target" >&2
    exit 1
  fi
  "${consumer}"
fi
