#!/usr/bin/env bash
# dovecot-stop.sh SCRATCH - stops the Dovecot that dovecot-start.sh started there (its master pid only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
[ -n "${1:-}" ] || die "usage: $0 SCRATCH_DIR"
stop_pid "$1/dovecot/started.pid" dovecot
