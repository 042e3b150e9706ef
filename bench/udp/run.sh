#!/usr/bin/env bash
# Rampart's UDP scanner against nmap -sU on loopback (127.88.0.0/16 only).
#   bench/udp/run.sh                    # 1,024 hosts × the 10 listed UDP ports
#   bench/udp/run.sh -hosts 4096        # more hosts: the retry tail weighs less
# Binding ports under 1024 needs root (or CAP_NET_BIND_SERVICE).
# Extra flags go to the program (see go run ./bench/udp -h).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v nmap >/dev/null; then
  echo "bench/udp: nmap is not installed; for the comparison run: apt-get install -y nmap" >&2
fi
bin="$(mktemp -d)/udp-bench"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/udp
"$bin" "$@"
