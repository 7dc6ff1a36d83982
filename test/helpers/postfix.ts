// A private Postfix as the remote MTA for outbound tests: listens on a loopback address of the test's
// choosing, accepts mail for the given domains and stores it as Maildir files under a scratch directory
// (virtual delivery), STARTTLS with a given certificate, and a log whose disconnect lines count commands.
// Needs root (the master binds the port and drops to the postfix user); never touches /etc/postfix.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitPort } from './peers.ts';

export interface Postfix {
  host: string;
  port: number;
  dir: string;
  /** Messages delivered to a mailbox (local@domain), as stored (Postfix writes LF line ends). */
  mailbox(address: string): string[];
  /** The Postfix log so far. */
  log(): string;
  stop(): Promise<void>;
}

const NOBODY = 65534;

function idsOf(user: string): [number, number] {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no ${user} user (is the postfix package installed?)`);
  const f = line.split(':');
  return [Number(f[2]), Number(f[3])];
}

export async function startPostfix(opts: {
  host: string;
  port: number;
  /** Mailboxes to accept, local@domain. */
  users: string[];
  tls?: { cert: string; key: string };
  hostname?: string;
  /** Relay every message to this next hop ("[127.0.0.2]:2525") instead of storing it (benchmarks). */
  relayTo?: string;
}): Promise<Postfix> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-postfix-'));
  // Postfix's daemons run as postfix and nobody: they must traverse the scratch directory.
  chmodSync(dir, 0o755);
  const etc = join(dir, 'etc');
  const spool = join(dir, 'spool');
  const data = join(dir, 'data');
  const logDir = join(dir, 'log');
  const mail = join(dir, 'mail');
  for (const d of [etc, spool, data, logDir, mail]) mkdirSync(d, { recursive: true, mode: 0o755 });
  const [postfixUid, postfixGid] = idsOf('postfix');
  chownSync(data, postfixUid, postfixGid);
  chownSync(logDir, postfixUid, postfixGid);
  chownSync(mail, NOBODY, NOBODY);
  const domains = [...new Set(opts.users.map((u) => u.split('@')[1]))];
  // texthash: tables need no postmap step.
  writeFileSync(
    join(etc, 'vmailbox'),
    opts.users.map((u) => `${u} ${u.split('@')[1]}/${u.split('@')[0]}/`).join('\n') + '\n',
  );
  const tls = opts.tls
    ? (() => {
        writeFileSync(join(etc, 'cert.pem'), opts.tls.cert);
        writeFileSync(join(etc, 'key.pem'), opts.tls.key, { mode: 0o600 });
        return `smtpd_tls_security_level = may
smtpd_tls_cert_file = ${etc}/cert.pem
smtpd_tls_key_file = ${etc}/key.pem
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1`;
      })()
    : 'smtpd_tls_security_level = none';
  writeFileSync(
    join(etc, 'main.cf'),
    `compatibility_level = 3.6
queue_directory = ${spool}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
myhostname = ${opts.hostname ?? 'mx.postfix.test'}
mydomain = postfix.test
mydestination =
# Only 127.0.0.1 is an interface address; master.cf binds the test's own loopback address explicitly.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
virtual_mailbox_domains = ${domains.join(', ')}
relay_domains =
virtual_mailbox_base = ${mail}
virtual_mailbox_maps = texthash:${etc}/vmailbox
virtual_uid_maps = static:${NOBODY}
virtual_gid_maps = static:${NOBODY}
virtual_transport = virtual
local_transport = error:local delivery disabled
alias_maps =
alias_database =
${
  opts.relayTo
    ? `relayhost = ${opts.relayTo}
default_transport = smtp
relay_transport = smtp
smtp_tls_security_level = none`
    : `default_transport = error:no outbound delivery from this test instance
relay_transport = error:no outbound delivery from this test instance`
}
smtp_dns_support_level = disabled
biff = no
append_dot_mydomain = no
smtpd_banner = $myhostname ESMTP
maillog_file = ${logDir}/maillog
maillog_file_prefixes = ${logDir}
${tls}
`,
  );
  writeFileSync(
    join(etc, 'master.cf'),
    `${opts.host}:${opts.port} inet n - n - - smtpd
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
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
smtp      unix  -       -       n       -       -       smtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
`,
  );
  // stdio ignored: the master keeps inherited pipes open.
  execFileSync('postfix', ['-c', etc, 'start'], { stdio: 'ignore' });
  const pidFile = join(spool, 'pid', 'master.pid');
  await waitPort(opts.port, opts.host, 30000);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return {
    host: opts.host,
    port: opts.port,
    dir,
    mailbox(address) {
      const [local, domain] = address.split('@');
      const md = join(mail, domain, local, 'new');
      if (!existsSync(md)) return [];
      return readdirSync(md)
        .sort()
        .map((f) => readFileSync(join(md, f), 'utf8'));
    },
    log() {
      const f = join(logDir, 'maillog');
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
    async stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
