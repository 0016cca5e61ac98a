#!/usr/bin/env bash
# Builds a release of xatm with shared libraries, packs it with `cpack -G DEB`, and checks the
# packages as a Debian 12 user gets them: their names and dependencies (apt resolves them from
# the archive, simulated), the libraries' SONAMEs, xatm-recover --version, and the installed
# tree used by an outside project three ways: find_package(xatm) (consumer/), pkg-config, and a
# C program. The packages are unpacked (dpkg-deb -x) into a scratch root; as root they are also
# installed with dpkg -i, used from /usr and purged.
#
# Usage: package_test.sh SOURCE_DIR CONSUMER_SOURCE_DIR CXX_COMPILER CMAKE CPACK GENERATOR DEBS_DIR
#                        [PROMETHEUS]
#   DEBS_DIR: where the three .deb files are left for clean_debian_test.sh (its *.deb are removed
#     first, so that a failed run leaves no stale packages behind).
#   PROMETHEUS: ON to build and check xatm::prometheus too.
set -euo pipefail

if [[ $# -lt 7 ]]; then
  echo "usage: $0 SOURCE_DIR CONSUMER_SOURCE_DIR CXX_COMPILER CMAKE CPACK GENERATOR DEBS_DIR [PROMETHEUS]" >&2
  exit 2
fi
source_dir="$1"
consumer_dir="$2"
cxx="$3"
cmake="$4"
cpack="$5"
generator="$6"
debs_dir="$7"
prometheus="${8:-OFF}"

mkdir -p "${debs_dir}"
rm -f "${debs_dir}"/*.deb

work="$(mktemp -d "${TMPDIR:-/tmp}/xatm-package-test.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
version="$(sed -n 's/^project(xatm VERSION \([0-9.]*\).*/\1/p' "${source_dir}/CMakeLists.txt")"

quietly() {  # runs a step; shows its output only when it fails
  if ! "$@" >"${work}/step.log" 2>&1; then
    tail -n 60 "${work}/step.log" >&2
    echo "FAIL: $*" >&2
    exit 1
  fi
}

echo "--- configure and build a release with shared libraries (version ${version})"
quietly "${cmake}" -S "${source_dir}" -B "${work}/build" -G "${generator}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="${cxx}" -DCMAKE_INSTALL_PREFIX=/usr \
  -DBUILD_SHARED_LIBS=ON -DXATM_WITH_PROMETHEUS="${prometheus}"
quietly "${cmake}" --build "${work}/build" --parallel "$(nproc)"

echo "--- cpack -G DEB"
(cd "${work}/build" && quietly "${cpack}" -G DEB)
mapfile -t debs < <(find "${work}/build" -maxdepth 1 -name '*.deb' | sort)
for package in libxatm libxatm-dev xatm-tools; do
  deb="$(printf '%s\n' "${debs[@]}" | grep "/${package}_${version}_" || true)"
  if [[ -z "${deb}" ]]; then
    echo "FAIL: no ${package}_${version}_*.deb among: ${debs[*]}" >&2
    exit 1
  fi
  echo "  ${package}: Depends: $(dpkg-deb -f "${deb}" Depends)"
done
cp "${debs[@]}" "${debs_dir}/"

echo "--- apt resolves every dependency (simulated install)"
if ! apt-get install --simulate -qq "${debs[@]}" >"${work}/apt.log" 2>&1; then
  cat "${work}/apt.log" >&2
  echo "FAIL: the packages cannot be installed on this Debian" >&2
  exit 1
fi

root="${work}/root"
for deb in "${debs[@]}"; do dpkg-deb -x "${deb}" "${root}"; done
libdir="$(dirname "$(find "${root}" -name 'libxatm.so.*' -type f | head -n 1)")"
export LD_LIBRARY_PATH="${libdir}"

echo "--- SONAMEs"
soversion="$(echo "${version}" | cut -d. -f1-2)"
[[ "${version}" == 0.* ]] || soversion="${version%%.*}"
for library in xatm xatm_mysql xatm_postgresql xatm_tx; do
  soname="$(readelf -d "${libdir}/lib${library}.so.${version}" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')"
  if [[ "${soname}" != "lib${library}.so.${soversion}" ]]; then
    echo "FAIL: lib${library}.so.${version} has SONAME '${soname}', not lib${library}.so.${soversion}" >&2
    exit 1
  fi
  echo "  lib${library}.so.${version}: ${soname}"
done

echo "--- xatm-recover --version"
printed="$("${root}/usr/bin/xatm-recover" --version)"
[[ "${printed}" == "xatm-recover ${version}" ]] || { echo "FAIL: printed '${printed}'" >&2; exit 1; }
echo "  ${printed}"

echo "--- one copy of the driver: the switch module uses the shared library"
if ! readelf -d "${libdir}/libxatm_postgresql_switch.so" | grep -q "libxatm_postgresql.so.${soversion}"; then
  echo "FAIL: libxatm_postgresql_switch.so does not link libxatm_postgresql.so.${soversion}" >&2
  exit 1
fi

echo "--- find_package(xatm) from the unpacked packages"
quietly "${cmake}" -S "${consumer_dir}" -B "${work}/consumer-build" -G "${generator}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="${cxx}" -DCMAKE_PREFIX_PATH="${root}/usr" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
quietly "${cmake}" --build "${work}/consumer-build"
"${work}/consumer-build/xatm_consumer"
"${work}/consumer-build/xatm_drivers_consumer"
if [[ "${prometheus}" == ON ]]; then "${work}/consumer-build/xatm_prometheus_consumer"; fi

echo "--- pkg-config from the unpacked packages"
export PKG_CONFIG_PATH="${libdir}/pkgconfig"
pc="$(pkg-config --cflags --libs xatm-mysql xatm-postgresql)"  # fails the script if missing
read -r -a flags <<<"${pc}"
"${cxx}" -std=c++20 "${consumer_dir}/drivers_main.cc" -o "${work}/pc_drivers" "${flags[@]}"
"${work}/pc_drivers"
pc="$(pkg-config --cflags --libs xatm-postgresql)"
read -r -a c_flags <<<"${pc}"
cc -std=c99 -Wall -Werror "${consumer_dir}/switch_main.c" -o "${work}/pc_c" "${c_flags[@]}"
"${work}/pc_c"
pc="$(pkg-config --cflags --libs xatm-tx)"
read -r -a c_flags <<<"${pc}"
cc -std=c99 -Wall -Werror "${consumer_dir}/tx_main.c" -o "${work}/pc_tx" "${c_flags[@]}"
"${work}/pc_tx"
# As root (CI), the packages are also installed for real with dpkg (their dependencies are
# installed already by scripts/setup.sh), used from /usr, and purged again.
if [[ ${EUID} -eq 0 ]] && ! dpkg-query -W libxatm >/dev/null 2>&1; then
  echo "--- dpkg -i, then a program built against /usr"
  trap 'dpkg --purge xatm-tools libxatm-dev libxatm >/dev/null 2>&1 || true; rm -rf "${work}"' EXIT
  quietly dpkg -i "${debs[@]}"
  unset LD_LIBRARY_PATH PKG_CONFIG_PATH
  printed="$(xatm-recover --version)"
  [[ "${printed}" == "xatm-recover ${version}" ]] || { echo "FAIL: installed tool printed '${printed}'" >&2; exit 1; }
  pc="$(pkg-config --cflags --libs xatm-mysql xatm-postgresql)"
  read -r -a flags <<<"${pc}"
  "${cxx}" -std=c++20 "${consumer_dir}/drivers_main.cc" -o "${work}/installed_drivers" "${flags[@]}"
  "${work}/installed_drivers"
  quietly dpkg --purge xatm-tools libxatm-dev libxatm
  if [[ -e /usr/include/xatm/tx.h ]]; then echo "FAIL: dpkg --purge left /usr/include/xatm" >&2; exit 1; fi
fi
echo "OK: the packages install, and programs build against them with CMake and pkg-config"
