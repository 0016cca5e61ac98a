#!/usr/bin/env bash
# Installs the Debian packages that package_test.sh left in DEBS_DIR on a clean Debian 12: a
# minimal bookworm made by debootstrap, in a chroot. package_test.sh installs them on this
# machine, which already has every dependency (scripts/setup.sh); here apt has to fetch every one
# from the archive, so a Depends that a package lacks (say a -dev package that libxatm-dev's
# headers or CMake package config need) fails the install or the consumer build. Then, inside the
# chroot: xatm-recover --version, the consumers of package_test.sh built against /usr with
# find_package(xatm) and pkg-config and run, and apt-get purge.
#
# Needs root (debootstrap, chroot) and network access to the Debian archive; exits 77 (ctest:
# Skipped) when not root.
#
# Usage: clean_debian_test.sh DEBS_DIR CONSUMER_SOURCE_DIR [PROMETHEUS]
#   DEBS_DIR: holds libxatm_*.deb, libxatm-dev_*.deb and xatm-tools_*.deb (package_test.sh).
#   PROMETHEUS: ON when the packages have xatm::prometheus, to build and run its consumer too.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 DEBS_DIR CONSUMER_SOURCE_DIR [PROMETHEUS]" >&2
  exit 2
fi
debs_dir="$1"
consumer_dir="$2"
prometheus="${3:-OFF}"

if [[ ${EUID} -ne 0 ]]; then
  echo "SKIP: needs root, to debootstrap a Debian 12 and chroot into it (CI runs as root)"
  exit 77
fi
export PATH="${PATH}:/usr/sbin:/sbin"  # debootstrap and chroot live there; a user's PATH may lack it
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "FAIL: debootstrap is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi

debs=()
for package in libxatm libxatm-dev xatm-tools; do
  found=("${debs_dir}/${package}_"*.deb)
  if [[ ${#found[@]} -ne 1 || ! -f "${found[0]}" ]]; then
    echo "FAIL: want one ${package}_*.deb in ${debs_dir} (install.debian_packages leaves it there)" >&2
    exit 1
  fi
  debs+=("${found[0]}")
done
version="$(dpkg-deb -f "${debs[0]}" Version)"

work="$(mktemp -d "${TMPDIR:-/tmp}/xatm-clean-debian.XXXXXX")"
root="${work}/root"
cleanup() {
  # We mount nothing. debootstrap mounts /proc and /sys in the chroot while it runs and unmounts
  # them itself; should it be killed half-way, unmount them here, deepest first. rm never crosses
  # into a mount, so the host's /proc or /sys can never be reached through the chroot.
  local mount
  awk -v under="${root}/" 'index($2, under) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount -l "${mount}" || true; done
  rm -rf --one-file-system "${work}"
}
trap cleanup EXIT

quietly() {  # runs a step; shows its output only when it fails
  if ! "$@" >"${work}/step.log" 2>&1; then
    tail -n 60 "${work}/step.log" >&2
    echo "FAIL: $*" >&2
    exit 1
  fi
}

# Runs a command in the chroot with the environment of a fresh root login, none of ours.
in_root() {
  chroot "${root}" /usr/bin/env -i HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# The archive this machine installs from (a local mirror, say): the URI of the bookworm suite in
# its apt sources, deb822 (Debian 12's default) or the one-line format; deb.debian.org otherwise.
host_mirror() {
  local sources
  for sources in /etc/apt/sources.list.d/*.sources; do
    [[ -f "${sources}" ]] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }  # one record per stanza, one field per line
         { uri = ""; bookworm = 0
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^URIs:/) { split($i, word, /[ \t]+/); uri = word[2] }
             if ($i ~ /^Suites:.*[ \t]bookworm([ \t]|$)/) bookworm = 1
           }
           if (bookworm && uri != "") { print uri; exit } }' "${sources}"
  done
  if [[ -f /etc/apt/sources.list ]]; then
    awk '$1 == "deb" { i = 2
                       if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }  # skip [options]
                       if ($(i + 1) == "bookworm") { print $i; exit } }' /etc/apt/sources.list
  fi
}
mirror="$(host_mirror | head -n 1)"
mirror="${mirror:-http://deb.debian.org/debian}"

echo "--- debootstrap --variant=minbase bookworm from ${mirror}"
quietly debootstrap --variant=minbase bookworm "${root}" "${mirror}"

echo "--- the host's apt sources and resolv.conf"
# The packages' dependency versions come from dpkg-shlibdeps on this host, which has
# bookworm-updates and security as a real Debian 12 machine does: the chroot gets the same
# sources (instead of debootstrap's bookworm-only sources.list), and any keyring they name.
rm -f "${root}/etc/apt/sources.list"
if [[ -f /etc/apt/sources.list ]]; then cp /etc/apt/sources.list "${root}/etc/apt/"; fi
cp -r /etc/apt/sources.list.d/. "${root}/etc/apt/sources.list.d/"
if [[ -d /etc/apt/keyrings ]]; then cp -r /etc/apt/keyrings "${root}/etc/apt/"; fi
cp -L /etc/resolv.conf "${root}/etc/resolv.conf"
# dpkg logs through a pty, and the chroot has no /dev/pts (we mount nothing): without this, each
# install prints "E: Can not write log", harmless but alarming in a failure's log tail.
echo 'Dpkg::Use-Pty "0";' >"${root}/etc/apt/apt.conf.d/90xatm-no-pty"

# In /tmp, not /root: apt downloads (and reads local .debs) as the _apt user where it can.
mkdir "${root}/tmp/xatm-debs"
cp "${debs[@]}" "${root}/tmp/xatm-debs/"
cp -r "${consumer_dir}" "${root}/root/consumer"
chroot_debs=()
for deb in "${debs[@]}"; do chroot_debs+=("/tmp/xatm-debs/$(basename "${deb}")"); done

echo "--- apt-get update"
quietly in_root apt-get update

echo "--- apt-get install the three packages, every dependency from the archive"
# No Recommends: the Depends alone must be enough to build and run against the packages.
before="$(in_root dpkg-query -W | wc -l)"
quietly in_root apt-get install -y --no-install-recommends "${chroot_debs[@]}"
echo "  $(($(in_root dpkg-query -W | wc -l) - before - 3)) dependencies installed with them"

echo "--- xatm-recover --version"
printed="$(in_root xatm-recover --version)"
[[ "${printed}" == "xatm-recover ${version}" ]] || { echo "FAIL: printed '${printed}'" >&2; exit 1; }
echo "  ${printed}"

echo "--- apt-get install the build tools, nothing else"
quietly in_root apt-get install -y --no-install-recommends g++ gcc make cmake pkg-config

echo "--- find_package(xatm) from /usr"
quietly in_root cmake -S /root/consumer -B /root/consumer-build -DCMAKE_BUILD_TYPE=Release
quietly in_root cmake --build /root/consumer-build
in_root /root/consumer-build/xatm_consumer
in_root /root/consumer-build/xatm_drivers_consumer
if [[ "${prometheus}" == ON ]]; then in_root /root/consumer-build/xatm_prometheus_consumer; fi

echo "--- pkg-config from /usr"
pc="$(in_root pkg-config --cflags --libs xatm-mysql xatm-postgresql)"  # fails the script if missing
read -r -a flags <<<"${pc}"
quietly in_root c++ -std=c++20 /root/consumer/drivers_main.cc -o /root/pc_drivers "${flags[@]}"
in_root /root/pc_drivers
pc="$(in_root pkg-config --cflags --libs xatm-postgresql)"
read -r -a c_flags <<<"${pc}"
quietly in_root cc -std=c99 -Wall -Werror /root/consumer/switch_main.c -o /root/pc_c "${c_flags[@]}"
in_root /root/pc_c
pc="$(in_root pkg-config --cflags --libs xatm-tx)"
read -r -a c_flags <<<"${pc}"
quietly in_root cc -std=c99 -Wall -Werror /root/consumer/tx_main.c -o /root/pc_tx "${c_flags[@]}"
in_root /root/pc_tx

echo "--- apt-get purge"
quietly in_root apt-get purge -y libxatm libxatm-dev xatm-tools
for path in /usr/include/xatm /usr/bin/xatm-recover; do
  if [[ -e "${root}${path}" ]]; then echo "FAIL: apt-get purge left ${path}" >&2; exit 1; fi
done
echo "OK: the packages install on a clean Debian 12 with every dependency from the archive," \
     "programs build against them with CMake and pkg-config, and they purge cleanly"
