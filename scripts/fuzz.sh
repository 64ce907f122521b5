#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of every parser of outside input (STYLE §8 "Fuzz").
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  time per target (default 60)
#   TARGET   a fuzz/fuzz_<target>.cpp (default: every one); each needs fuzz/seeds/<target>/ and
#            fuzz/dict/<target>.dict
# Environment:
#   RAMPART_FUZZ_WORKDIR  scratch folder for corpora and crash artifacts (default: a new mktemp -d;
#                         kept when something failed, removed otherwise)
#   RAMPART_FUZZ_BUILD    build folder (default: build-fuzz)
#
# Installs clang-16 if needed, configures build-fuzz with clang++-16 and RAMPART_FUZZ=ON, builds
# the fuzz targets only, then runs each for SECONDS with libFuzzer under ASan/UBSan, starting from
# a scratch copy of fuzz/seeds/<target>/ (never writing into the repository). Prints the runs
# executed per target; exits non-zero if any target crashed, leaked, timed out or ran out of
# memory, after printing the reproducer's path. A reproducer belongs in fuzz/seeds/<target>/ as
# crash-<short-description> once minimised (fuzz/README.md says how).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: $0 [SECONDS] [TARGET]... (targets: fuzz/fuzz_<target>.cpp)" >&2
  exit 2
fi
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$root"/fuzz/fuzz_*.cpp; do
    t=${f##*/fuzz_}
    targets+=("${t%.cpp}")
  done
fi
for t in "${targets[@]}"; do
  if [[ ! -d $root/fuzz/seeds/$t ]]; then
    echo "fuzz.sh: unknown target '$t' (no fuzz/seeds/$t)" >&2
    exit 2
  fi
  # libFuzzer exits at once, with an empty log, when -dict names a missing file.
  if [[ ! -f $root/fuzz/dict/$t.dict ]]; then
    echo "fuzz.sh: target '$t' has no dictionary fuzz/dict/$t.dict" >&2
    exit 2
  fi
done

"$root/scripts/install-deps.sh" build fuzz

build=${RAMPART_FUZZ_BUILD:-$root/build-fuzz}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-16 -DRAMPART_FUZZ=ON >/dev/null
cmake --build "$build" --target "${targets[@]/#/fuzz_}"

work=${RAMPART_FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/rampart-fuzz.XXXXXX")}
mkdir -p "$work"

# Leak checking stays on (libFuzzer's default); UBSan findings abort (-fno-sanitize-recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
for t in "${targets[@]}"; do
  corpus=$work/corpus/$t
  artifacts=$work/artifacts/$t
  log=$work/$t.log
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp "$root/fuzz/seeds/$t"/* "$corpus/"
  echo "== fuzz_$t: ${seconds}s from $(ls "$corpus" | wc -l) seeds, log $log"
  set +e
  # The corpus copy is the only folder libFuzzer writes new inputs to; the seeds stay read-only.
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -dict="$root/fuzz/dict/$t.dict" -artifact_prefix="$artifacts/" \
    "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -1)
  [[ -n $runs ]] || runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  summary+=("fuzz_$t: ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) files, exit $rc")
  if ((rc != 0)); then
    failed+=("$t")
    echo "!! fuzz_$t failed (exit $rc). Last lines of $log:" >&2
    grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|deadly signal|Test unit written' "$log" >&2 || true
    for f in "$artifacts"/*; do
      [[ -e $f ]] || continue
      echo "   reproducer: $f" >&2
      echo "   replay:     $build/fuzz/fuzz_$t $f" >&2
      echo "   minimise:   $build/fuzz/fuzz_$t -minimize_crash=1 -runs=10000 $f" >&2
    done
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: FAILED: ${failed[*]} (work folder kept: $work)" >&2
  exit 1
fi
if [[ -z ${RAMPART_FUZZ_WORKDIR:-} ]]; then rm -rf "$work"; fi
echo "fuzz.sh: no crashes"
