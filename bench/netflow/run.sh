#!/usr/bin/env bash
# Rampart's NetFlow/IPFIX collector against nfdump's nfcapd on loopback
# (127.0.77.0/24 only), same generator, v5 and IPFIX.
#   bench/netflow/run.sh                       # 10M flows a run at 1M, 2M flows/s and unpaced
#   bench/netflow/run.sh -flows 30000000 -rates 2000000
# Needs: apt-get install -y nfdump (without it only Rampart is measured).
# Extra flags go to the program (see go run ./bench/netflow -h).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v nfcapd >/dev/null; then
  echo "bench/netflow: nfcapd is not installed; for the comparison run: apt-get install -y nfdump" >&2
fi
bin="$(mktemp -d)/netflow-bench"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/netflow
"$bin" "$@"
