#!/usr/bin/env bash
# Rampart's stateless SYN scanner against its connect scanner and masscan,
# inside two network namespaces the program creates (a veth pair between
# them; nothing on the host's interfaces). Needs root.
#   bench/synscan/run.sh                 # 10.99.0.0/16 × 8 ports, unlimited rate, best of 3
#   bench/synscan/run.sh -rate 500000    # at a set rate
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v masscan >/dev/null; then
  echo "bench/synscan: masscan is not installed; for the comparison run: apt-get install -y masscan" >&2
fi
bin="$(mktemp -d)/synscan-bench"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/synscan
"$bin" "$@"
