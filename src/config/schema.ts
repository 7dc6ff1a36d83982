// The configuration schema: every key, its type, default and meaning. The config reference in README.md,
// the commented file `petrel init` writes, validation and PETREL_* overrides all come from this one table.
import { bool, type Infer, int, list, oneOf, section, str } from './define.ts';

const MB = 1024 * 1024;

function listener(doc: string, port: number, productionPort: number, enabled = true) {
  return section(doc, {
    enabled: bool(enabled, 'Whether this listener runs.'),
    bind: str('127.0.0.1', 'Address to listen on ("::" listens on every IPv4 and IPv6 address).', {
      production: '::',
    }),
    port: int(port, 'TCP port.', { min: 0, max: 65535, production: productionPort }),
  });
}

export const schema = section('Petrel configuration', {
  server: section('The server as a whole.', {
    hostname: str(
      'localhost',
      'Fully qualified name of this host: SMTP greeting, Received headers, HELO when sending.',
    ),
    data_dir: str(
      './data',
      'Directory for the SQLite database, blobs, TLS material and keys (relative to the working directory).',
    ),
    shutdown_grace_ms: int(10000, 'How long a shutdown waits for sessions to say goodbye before closing them.', {
      min: 0,
    }),
  }),
  store: section('Where metadata lives.', {
    backend: oneOf(['sqlite', 'postgres'] as const, 'sqlite', 'Metadata store: embedded SQLite or PostgreSQL.'),
    sqlite_path: str('', 'SQLite database file; empty means <data_dir>/petrel.db.'),
    postgres_url: str('', 'PostgreSQL connection URL, e.g. postgres://petrel@db/petrel.', { secret: true }),
    postgres_pool: int(10, 'PostgreSQL connections per Petrel process.', { min: 1, max: 1000 }),
  }),
  blobs: section('Where raw messages live (content-addressed, SHA-256).', {
    backend: oneOf(['fs', 'database'] as const, 'fs', 'Blob store: files on disk, or rows in the metadata database.'),
    path: str('', 'Blob directory for the fs backend; empty means <data_dir>/blobs.'),
  }),
  tls: section('TLS for every listener that uses it.', {
    cert: str('', 'PEM certificate chain; empty means a self-signed certificate generated in <data_dir>/tls.'),
    key: str('', 'PEM private key matching `cert`.', { secret: false }),
    min_version: oneOf(['TLSv1.2', 'TLSv1.3'] as const, 'TLSv1.2', 'Lowest TLS version accepted.'),
  }),
  log: section('Structured JSON logs on standard output.', {
    level: oneOf(
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const,
      'info',
      'Lowest level logged.',
    ),
  }),
  dns: section('The one DNS resolver every part of the server uses.', {
    nameservers: list([], 'Nameservers as "ip" or "ip:port"; empty means the system resolvers (/etc/resolv.conf).'),
    timeout_ms: int(5000, 'Timeout of one DNS query.', { min: 100 }),
    tries: int(2, 'Attempts per query.', { min: 1, max: 10 }),
  }),
  bootstrap: section('What the first start creates when the store holds no domain yet.', {
    domain: str('localhost', 'First domain.'),
    admin: str('admin', 'Local part of the first administrator account; its generated password is printed once.'),
  }),
  listeners: section('Network listeners. The defaults are the quick-start ports on 127.0.0.1.', {
    smtp: listener('SMTP for mail from the internet (MX).', 2525, 25),
    submission: listener('Submission with STARTTLS for users (RFC 6409).', 2587, 587),
    submissions: listener('Submission over implicit TLS (RFC 8314).', 2465, 465),
    lmtp: listener('LMTP for delivery from another MTA (off unless enabled).', 2024, 24, false),
    imap: listener('IMAP with STARTTLS.', 2143, 143),
    imaps: listener('IMAP over implicit TLS.', 2993, 993),
    pop3: listener('POP3 with STLS.', 2110, 110),
    pop3s: listener('POP3 over implicit TLS.', 2995, 995),
    http: section('HTTP: health checks now; web admin, JMAP and OAuth later.', {
      enabled: bool(true, 'Whether this listener runs.'),
      bind: str('127.0.0.1', 'Address to listen on.', { production: '::' }),
      port: int(8080, 'TCP port.', { min: 0, max: 65535, production: 443 }),
      tls: bool(false, 'Serve HTTPS with the [tls] certificate.', { production: true }),
    }),
  }),
  smtp: section('SMTP service limits and policy.', {
    max_message_size: int(50 * MB, 'Largest message accepted, in octets (announced in SIZE).', { min: 1024 }),
    max_recipients: int(100, 'Recipients per message.', { min: 1 }),
    max_connections: int(1000, 'Simultaneous SMTP connections, all listeners together.', { min: 1 }),
    max_connections_per_ip: int(20, 'Simultaneous SMTP connections from one IP address.', { min: 1 }),
  }),
  imap: section('IMAP service limits.', {
    max_connections: int(20000, 'Simultaneous IMAP connections.', { min: 1 }),
    max_connections_per_ip: int(200, 'Simultaneous IMAP connections from one IP address.', { min: 1 }),
    allow_plaintext_loopback: bool(true, 'Allow LOGIN without TLS from 127.0.0.0/8 and ::1 (never from elsewhere).'),
    max_message_size: int(50 * MB, 'Largest message APPEND accepts, in octets (announced as APPENDLIMIT).', {
      min: 1024,
    }),
    max_line_length: int(65536, 'Longest command line, without literals, in octets.', { min: 1024 }),
    idle_timeout_s: int(
      1800,
      'Seconds of silence before a logged-in session is logged out (RFC 9051: at least 30 minutes).',
      {
        min: 1,
      },
    ),
    preauth_timeout_s: int(180, 'Seconds of silence before a session that has not logged in is closed.', { min: 1 }),
  }),
  pop3: section('POP3 service limits.', {
    max_connections: int(5000, 'Simultaneous POP3 connections.', { min: 1 }),
    max_connections_per_ip: int(50, 'Simultaneous POP3 connections from one IP address.', { min: 1 }),
    allow_plaintext_loopback: bool(true, 'Allow USER/PASS without TLS from loopback addresses.'),
  }),
});

export type Config = Infer<typeof schema>;
