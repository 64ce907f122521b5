#!/usr/bin/env bash
# Installs what is missing, builds Rampart with its tests, and runs every test (CTest).
# RAMPART_WERROR=1 turns warnings into errors (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh build test
werror=OFF
[[ ${RAMPART_WERROR:-0} == 1 ]] && werror=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRAMPART_TESTS=ON \
      -DRAMPART_WERROR=$werror >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j "$(nproc)"
