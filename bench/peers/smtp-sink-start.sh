#!/usr/bin/env bash
# smtp-sink-start.sh SCRATCH - Postfix's smtp-sink on 127.0.0.1:SINK_PORT (10026): accepts and discards
# every message, the protocol's upper bound on this machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
S="${1:-}"; need_scratch "$S"
PORT="${SINK_PORT:-10026}"
K="$S/smtp-sink"; mkdir -p "$K"
setsid smtp-sink -u nobody -m 1024 127.0.0.1:"$PORT" 1024 > "$K/sink.log" 2>&1 < /dev/null &
echo $! > "$K/started.pid"
wait_port 127.0.0.1 "$PORT" 30 || die "smtp-sink did not listen; see $K/sink.log"
echo "smtp-sink: pid $(cat "$K/started.pid"), port $PORT"
