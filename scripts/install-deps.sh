#!/usr/bin/env bash
# Installs the Debian 12 packages Rampart needs to build and test, when they are missing.
# Usage: scripts/install-deps.sh [build|test|fuzz|bench]...   (default: build)
set -euo pipefail

build_pkgs=(cmake ninja-build g++ pkg-config libexpat1-dev zlib1g-dev libarchive-dev
            libgmime-3.0-dev libsqlite3-dev libssl-dev libfmt-dev nlohmann-json3-dev libcli11-dev
            libcurl4-openssl-dev libtomlplusplus-dev libc-ares-dev libpsl-dev publicsuffix
            libldns-dev
)
# DKIM peers for tests/integration/dkim_interop_test.cpp: OpenDKIM (libopendkim-dev, driven
# in-process; opendkim-tools for opendkim-testmsg) and dkimpy (python3-dkim, with python3-nacl for
# Ed25519 and python3-dnspython to ask the test's Knot server).
test_pkgs=(libgtest-dev libgmock-dev python3 sqlite3 procps dovecot-imapd openssl knot knot-dnsutils
           libyaml-cpp-dev libopendkim-dev opendkim-tools python3-dkim python3-nacl python3-dnspython
           python3-aiosmtpd)
fuzz_pkgs=(clang-16 libclang-rt-16-dev)
# bench_dkim compares Rampart with libopendkim in-process and with dkimpy (see bench/README.md).
bench_pkgs=(python3 time libbenchmark-dev knot python3-spf libspf2-dev spfquery
            libopendkim-dev python3-dkim python3-nacl python3-dnspython)

want=("${build_pkgs[@]}")
for kind in "$@"; do
  case "$kind" in
    build) ;;
    test) want+=("${test_pkgs[@]}") ;;
    fuzz) want+=("${fuzz_pkgs[@]}") ;;
    bench) want+=("${bench_pkgs[@]}") ;;
    *) echo "install-deps: unknown set '$kind' (build, test, fuzz, bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
