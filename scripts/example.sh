#!/usr/bin/env bash
# The main job on the embedded default: build, ingest the sample reports shipped in examples/
# into rampart.db (SQLite, in the repository's top folder) and print the per-domain summary.
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
