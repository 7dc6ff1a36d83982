#!/usr/bin/env bash
# dovecot-start.sh SCRATCH [USERS] - a private Dovecot (IMAP, POP3, LMTP on 127.0.0.1) with its own config
# under SCRATCH/dovecot, users user1..userN (password "pass"), Maildir under SCRATCH/mail. Needs root.
# Ports: IMAP_PORT (10143), POP3_PORT (10110), LMTP_PORT (10024).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
S="${1:-}"; need_scratch "$S"
USERS="${2:-10}"
IMAP_PORT="${IMAP_PORT:-10143}"; POP3_PORT="${POP3_PORT:-10110}"; LMTP_PORT="${LMTP_PORT:-10024}"
OWNER=65534 # nobody: an unprivileged user that exists everywhere
D="$S/dovecot"
mkdir -p "$D/run" "$D/state" "$D/log" "$S/mail"
chown "$OWNER:$OWNER" "$S/mail"
: > "$D/users"
for i in $(seq 1 "$USERS"); do echo "user$i:{PLAIN}pass:$OWNER:$OWNER::$S/mail/user$i" >> "$D/users"; done
chmod 644 "$D/users"
cat > "$D/dovecot.conf" <<CONF
instance_name = petrel-bench-$LMTP_PORT
base_dir = $D/run
state_dir = $D/state
log_path = $D/log/dovecot.log
info_log_path = $D/log/info.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 100
default_process_limit = 1200
default_client_limit = 5000
mail_max_userip_connections = 2000
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $D/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $D/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
CONF
dovecot -c "$D/dovecot.conf"
for _ in $(seq 100); do [ -s "$D/run/master.pid" ] && break; sleep 0.1; done
[ -s "$D/run/master.pid" ] || die "dovecot did not start; see $D/log/dovecot.log"
cp "$D/run/master.pid" "$D/started.pid"
for p in "$IMAP_PORT" "$POP3_PORT" "$LMTP_PORT"; do wait_port 127.0.0.1 "$p" 30 || die "dovecot port $p closed"; done
echo "dovecot: pid $(cat "$D/started.pid"), IMAP $IMAP_PORT POP3 $POP3_PORT LMTP $LMTP_PORT"
