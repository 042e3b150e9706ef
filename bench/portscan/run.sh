#!/usr/bin/env bash
# Rampart's port scanner against nmap -sT on loopback (127.77.0.0/16 only).
#   bench/portscan/run.sh            # 50 hosts × ports 1-10000, side by side
#   bench/portscan/run.sh -memtest   # 250 hosts × 65,535 ports, peak RSS
# Extra flags go to the program (see go run ./bench/portscan -h).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v nmap >/dev/null; then
  echo "bench/portscan: nmap is not installed; for the comparison run: apt-get install -y nmap" >&2
fi
bin="$(mktemp -d)/portscan-bench"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/portscan
"$bin" "$@"
