#!/usr/bin/env bash
# postfix-stop.sh SCRATCH - stops the Postfix that postfix-start.sh started there (its master pid only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
[ -n "${1:-}" ] || die "usage: $0 SCRATCH_DIR"
stop_pid "$1/postfix/started.pid" postfix
