#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer (g++, Debug,
# -D_GLIBCXX_ASSERTIONS), fuzz seed replays included: the `asan` preset in build-asan.
#
# Usage: scripts/sanitize.sh
# Environment:
#   RAMPART_SANITIZE_EXCLUDE  a ctest -E regular expression of tests to leave out
#   RAMPART_SANITIZE_BUILD    build folder (default: build-asan)
# Works from a clean clone: installs the build and test dependencies first when missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" build test

build=${RAMPART_SANITIZE_BUILD:-$root/build-asan}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ \
  -DRAMPART_SANITIZE=ON -DCMAKE_CXX_FLAGS=-D_GLIBCXX_ASSERTIONS
cmake --build "$build"

# Every finding fails the test that made it: leaks included, UBSan never just prints.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

exclude=()
if [[ -n ${RAMPART_SANITIZE_EXCLUDE:-} ]]; then exclude=(-E "$RAMPART_SANITIZE_EXCLUDE"); fi
ctest --test-dir "$build" --output-on-failure -j2 "${exclude[@]}"
