#!/usr/bin/env bash
# postfix-start.sh SCRATCH - a private Postfix on 127.0.0.1:SMTP_PORT (10025) accepting mail for DOMAIN
# (example.test) and delivering it over LMTP to 127.0.0.1:LMTP_PORT (10024, the Dovecot above). Config,
# queue and logs under SCRATCH/postfix; /etc/postfix is only read. Needs root (master binds, daemons drop).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
S="${1:-}"; need_scratch "$S"
SMTP_PORT="${SMTP_PORT:-10025}"; LMTP_PORT="${LMTP_PORT:-10024}"; DOMAIN="${DOMAIN:-example.test}"
[ "$(id -u)" = 0 ] || die "postfix must be started as root"
P="$S/postfix"
mkdir -p "$P/etc" "$P/spool" "$P/data" "$P/log"
chown root:root "$P" "$P/etc" "$P/spool"; chmod 755 "$P" "$P/etc" "$P/spool"
chown postfix:postfix "$P/data" "$P/log"
cat > "$P/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.$DOMAIN
mydomain = $DOMAIN
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = $DOMAIN
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
local_transport = error:no local delivery
default_transport = error:no outbound delivery
relay_transport = error:no outbound delivery
alias_maps =
alias_database =
smtp_dns_support_level = disabled
biff = no
smtpd_banner = \$myhostname ESMTP
maillog_file = $P/log/maillog
maillog_file_prefixes = $P/log
CONF
cat > "$P/etc/master.cf" <<CONF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
postfix -c "$P/etc" start >/dev/null 2>&1 || die "postfix did not start; see $P/log/maillog"
for _ in $(seq 100); do [ -s "$P/spool/pid/master.pid" ] && break; sleep 0.1; done
[ -s "$P/spool/pid/master.pid" ] || die "postfix wrote no master.pid; see $P/log/maillog"
tr -dc 0-9 < "$P/spool/pid/master.pid" > "$P/started.pid"
wait_port 127.0.0.1 "$SMTP_PORT" 30 || die "postfix port $SMTP_PORT closed"
echo "postfix: pid $(cat "$P/started.pid"), SMTP $SMTP_PORT -> LMTP $LMTP_PORT for @$DOMAIN"
