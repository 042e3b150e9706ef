#!/usr/bin/env bash
# The sensor's EVE path on one core: parse and match against 1,000,000
# indicators (issue 16 goal: ≥ 100,000 events/s). Pinned to one CPU with
# taskset when it is installed; GOMAXPROCS is 1 either way.
#   bench/sensor-eve/run.sh
#   bench/sensor-eve/run.sh -events 5000000 -hit 5
# Extra flags go to the program (see go run ./bench/sensor-eve -h).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="$(mktemp -d)/sensor-eve"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/sensor-eve
cpu="${BENCH_CPU:-$(( $(nproc) - 1 ))}"
if command -v taskset >/dev/null; then
  GOMAXPROCS=1 taskset -c "$cpu" "$bin" "$@"
else
  GOMAXPROCS=1 "$bin" "$@"
fi
