# lib.sh - helpers for the benchmark peer scripts (sourced): die, scratch checks, port waits, pid stops.

die() { echo "ERROR: $*" >&2; exit 1; }

# need_scratch DIR: an absolute scratch directory (created), never a system path.
need_scratch() {
  local d="${1:-}"
  [ -n "$d" ] || die "usage: $0 SCRATCH_DIR"
  case "$d" in /*) ;; *) die "scratch dir must be absolute: $d" ;; esac
  case "$d" in /|/etc|/etc/*|/usr|/usr/*|/var/spool/postfix*) die "refusing scratch dir $d" ;; esac
  mkdir -p "$d"
  chmod 755 "$d"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# wait_port HOST PORT [SECONDS]
wait_port() {
  local i=0
  while ! port_open "$1" "$2"; do
    i=$((i + 1)); [ "$i" -ge $(( ${3:-30} * 10 )) ] && return 1
    sleep 0.1
  done
}

wait_port_closed() {
  local i=0
  while port_open "$1" "$2"; do
    i=$((i + 1)); [ "$i" -ge $(( ${3:-30} * 10 )) ] && return 1
    sleep 0.1
  done
}

pid_alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo Z)" != Z ]
}

# stop_pid PIDFILE NAME: TERM the recorded process, KILL it after 10 s.
stop_pid() {
  local pf="$1" name="$2" pid
  [ -f "$pf" ] || { echo "$name: not running (no $pf)"; return 0; }
  pid="$(head -n1 "$pf" | tr -dc 0-9)"
  if pid_alive "$pid"; then
    kill -TERM "$pid"
    for _ in $(seq 100); do pid_alive "$pid" || break; sleep 0.1; done
    pid_alive "$pid" && kill -KILL "$pid"
  fi
  rm -f "$pf"
  echo "$name: stopped"
}
