#!/usr/bin/env bash
# Runs the virtio libFuzzer harness for SECONDS on a scratch copy of the seeds.
set -euo pipefail
FUZZER=${1:?usage: run-fuzz.sh FUZZER SEED-DIR SECONDS}; SEEDS=${2:?}; SECS=${3:-60}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cp "$SEEDS"/* "$T/"
"$FUZZER" -max_total_time="$SECS" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
  -max_len=4096 -print_final_stats=1 "$T"
