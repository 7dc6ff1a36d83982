#!/usr/bin/env bash
# Runs the README quick start as a non-root user on a copy of this checkout: `npm start` must answer
# /healthz within 30 s on the default port and stop cleanly on SIGTERM. Used by .ci/run.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
user=petrel-smoke
id "$user" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/bash "$user"
work=$(mktemp -d /tmp/petrel-smoke.XXXXXX)
cp -a "$here" "$work/petrel"
rm -rf "$work/petrel/data"
chown -R "$user" "$work"
log="$work/start.log"
su -s /bin/bash "$user" -c "cd '$work/petrel' && exec npm start" >"$log" 2>&1 &
pid=$!
ok=0
for i in $(seq 1 30); do
  if curl -fsS http://127.0.0.1:8080/healthz >/dev/null 2>&1; then ok=1; echo "healthz answered after ${i}s"; break; fi
  sleep 1
done
# Not a terminal here (as under systemd): the one-time password goes to <data_dir>/admin-password, readable
# by the server's user only, and the log names the file instead of printing it.
pwfile="$work/petrel/data/admin-password"
grep -q "Password: in $pwfile" "$log" || { echo "the admin password file is not named"; ok=0; }
[ -s "$pwfile" ] && [ "$(stat -c %a "$pwfile")" = 600 ] || { echo "no private admin password file"; ok=0; }
if grep -q 'Password (shown only now)' "$log"; then echo "the admin password was printed to a log"; ok=0; fi
pkill -TERM -u "$user" -f 'petrel.js serve' || true
# Wait for the server process itself: npm and su may exit first (npm's shell gets the signal too), while
# the server is still saying goodbye.
for _ in $(seq 1 20); do
  if ! kill -0 "$pid" 2>/dev/null && ! pgrep -u "$user" -f 'petrel.js serve' >/dev/null; then break; fi
  sleep 0.5
done
if kill -0 "$pid" 2>/dev/null || pgrep -u "$user" -f 'petrel.js serve' >/dev/null; then
  echo "server did not stop on SIGTERM"; ok=0; pkill -KILL -u "$user" || true
fi
grep -q '"msg":"stopped"' "$log" || { echo "no clean stop logged"; ok=0; }
if [ "$ok" != 1 ]; then echo "quick start smoke FAILED; log:"; cat "$log"; rm -rf "$work"; exit 1; fi
echo "quick start smoke passed"
rm -rf "$work"
