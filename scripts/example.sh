#!/usr/bin/env bash
# The main job on the embedded default: build, ingest the sample reports shipped in examples/
# into rampart.db (SQLite, in the repository's top folder), print the per-domain summary, then
# who sends as acme.example and what to do about each sender (the inventory in
# examples/rampart.toml; offline, so no DNS is needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh -DRAMPART_TESTS=OFF
set +e
./build/apps/rampart/rampart ingest --db rampart.db examples/reports
status=$?
set -e
# 0: everything stored; 1: something refused (listed above). Anything else is a real failure.
if (( status > 1 )); then exit "$status"; fi
./build/apps/rampart/rampart summary --db rampart.db
echo
set +e
./build/apps/rampart/rampart senders acme.example --db rampart.db --config examples/rampart.toml \
  --offline --since 2026-11-01 --until 2026-11-06
status=$?
set -e
# 0: every sender passes; 1: some need attention (the sample data has spoofers on purpose).
if (( status > 1 )); then exit "$status"; fi
echo
# Where each configured domain stands in its rollout (enrolled at its plan's first step), and what
# the daily tick would do (dry run, offline: nothing is changed or published).
./build/apps/rampart/rampart status --db rampart.db --config examples/rampart.toml
echo
./build/apps/rampart/rampart advance --db rampart.db --config examples/rampart.toml --offline --dry-run
