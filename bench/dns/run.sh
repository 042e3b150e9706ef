#!/usr/bin/env bash
# Rampart's protective resolver against Unbound with the same 1,000,000-name
# block list (RPZ for Unbound), both pinned to one core, dnsperf as the
# client; prints QPS, resident memory and list load/reload times and the
# ratios. Binds 127.77.0.1-3 (ports 5391-5393) only.
#   bench/dns/run.sh                      # 1,000,000 blocked + 20,000 allowed, 2 × 20 s per server
#   bench/dns/run.sh -blocked 100000 -d 5s
# Needs: apt-get install -y unbound dnsperf (and Go to build).
# Extra flags go to the program (see go run ./bench/dns -h).
set -euo pipefail
cd "$(dirname "$0")/../.."
for bin in /usr/sbin/unbound dnsperf taskset; do
  if ! command -v "$bin" >/dev/null; then
    echo "bench/dns: $bin is missing; run: apt-get install -y unbound dnsperf" >&2
    exit 1
  fi
done
bin="$(mktemp -d)/dns-bench"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/dns
"$bin" "$@"
