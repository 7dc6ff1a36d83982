#!/usr/bin/env bash
# smtp-sink-stop.sh SCRATCH - stops the smtp-sink that smtp-sink-start.sh started there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
[ -n "${1:-}" ] || die "usage: $0 SCRATCH_DIR"
stop_pid "$1/smtp-sink/started.pid" smtp-sink
