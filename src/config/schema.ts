// The configuration schema: every key, its type, default and meaning. The config reference in README.md,
// the commented file `petrel init` writes, validation and PETREL_* overrides all come from this one table.
import { bool, duration, type Infer, int, list, oneOf, section, size, str, tables } from './define.ts';
import { contentSections } from './spam-content.ts';

const MB = 1024 * 1024;

/**
 * TLS 1.3 suites (all AEAD), then for TLS 1.2 only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305:
 * forward secrecy and AEAD only, no CBC, RC4, 3DES, static RSA or anonymous suites (Mozilla's
 * "intermediate" profile without DHE). TLS 1.3 is preferred: OpenSSL picks the highest version both
 * sides speak.
 */
export const MODERN_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

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
    node_id: str(
      '',
      "This node's name where several share one store: the owner of the outbound queue work and the POP3 maildrop locks it takes (a node restarted after a crash takes back its own at once instead of waiting for queue.lease, or a minute). Empty: made once and kept in <data_dir>/node-id. Nodes that share a data directory must each set a different one; one running process per node id.",
    ),
    shutdown_grace_ms: int(10000, 'How long a shutdown waits for sessions to say goodbye before closing them.', {
      min: 0,
    }),
    stall_warning_ms: int(
      1000,
      'Log a warning ("event loop blocked") when the event loop, which every connection shares, was held ' +
        'this long by one piece of work; 0 turns the watch off.',
      { min: 0 },
    ),
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
    inline_max: size(
      128 * 1024,
      'With the fs backend, messages up to this many octets are kept in the metadata database instead, written in the same transaction as their metadata (one fsync per delivery, not three); 0 puts every message in a file.',
      { min: 0, max: 16 * MB },
    ),
  }),
  tls: section('TLS for every listener that uses it.', {
    cert: str('', 'PEM certificate chain; empty means a self-signed certificate generated in <data_dir>/tls.'),
    key: str('', 'PEM private key matching `cert`.', { secret: false }),
    min_version: oneOf(['TLSv1.2', 'TLSv1.3'] as const, 'TLSv1.2', 'Lowest TLS version accepted.'),
    ciphers: str(
      MODERN_CIPHERS,
      "OpenSSL cipher list: TLS_* names are the TLS 1.3 suites, the rest the TLS 1.2 ciphers (default: ECDHE with AES-GCM or ChaCha20-Poly1305 only); the server's order wins.",
    ),
    certificates: tables(
      section('One certificate served by SNI.', {
        domains: list([], 'Names this certificate is served for ("*.example.com" covers one label).', {
          production: ['example.com', 'mail.example.com'],
        }),
        cert: str('', 'PEM certificate chain file.', { production: '/etc/petrel/tls/example.com.crt' }),
        key: str('', 'PEM private key file.', { production: '/etc/petrel/tls/example.com.key' }),
      }),
      'Certificates chosen by the name a client asks for (SNI) on every TLS listener and STARTTLS; other names get `cert`/`key`. Re-read on SIGHUP.',
    ),
    watch_interval: duration(
      '30s',
      'How often the certificate files above are checked for changes; a change (e.g. a renewal by certbot) is loaded like a SIGHUP. "0" never.',
    ),
  }),
  acme: section(
    "Certificates from an ACME CA (RFC 8555, e.g. Let's Encrypt), kept in the store (shared by every node).",
    {
      enabled: bool(false, 'Obtain and renew certificates for `domains` automatically.'),
      directory_url: str(
        'https://acme-v02.api.letsencrypt.org/directory',
        "The CA's ACME directory URL (Let's Encrypt staging: https://acme-staging-v02.api.letsencrypt.org/directory).",
      ),
      email: str('', 'Contact address given to the CA (expiry notices).'),
      domains: list([], 'Names to certify, one certificate for all (empty: server.hostname).'),
      challenge: oneOf(
        ['tls-alpn-01', 'http-01'] as const,
        'tls-alpn-01',
        'How the CA checks control: tls-alpn-01 (RFC 8737) needs the HTTPS listener on port 443; http-01 needs the HTTP listener on port 80.',
      ),
      ca_bundle: str('', 'PEM file of CA certificates trusted when talking to the ACME server (a private or test CA).'),
      renew_before_days: int(
        30,
        'Renew when the certificate has fewer days left than this, or than a third of its lifetime when that is shorter (short-lived certificates).',
        { min: 1, max: 89 },
      ),
      mta_sts: bool(
        true,
        'Also certify mta-sts.<domain> of each hosted domain (a certificate each) once its DNS points at this server, so the MTA-STS policy (smtp.mta_sts_mode) is served over a valid certificate; checked with every renewal check.',
      ),
      reuse_key: bool(
        true,
        'Renew with the same private key, so DANE TLSA records of the key ("3 1 1") stay valid across renewals; false makes a new key each time (then publish the next key\'s TLSA record before each renewal).',
      ),
      check_interval: duration('12h', 'How often expiry is checked (ms, s, m, h, d).'),
    },
  ),
  client_setup: section(
    'What automatic client configuration (Thunderbird autoconfig, Outlook Autodiscover, Apple profiles, SRV records) advertises: the public name and ports, which may differ from the listeners behind a proxy or NAT.',
    {
      hostname: str('', 'Server name clients connect to; empty means server.hostname.'),
      imap_port: int(143, 'Public IMAP (STARTTLS) port.', { min: 0, max: 65535 }),
      imaps_port: int(993, 'Public IMAP over TLS port.', { min: 0, max: 65535 }),
      pop3_port: int(110, 'Public POP3 (STLS) port.', { min: 0, max: 65535 }),
      pop3s_port: int(995, 'Public POP3 over TLS port.', { min: 0, max: 65535 }),
      submission_port: int(587, 'Public submission (STARTTLS) port.', { min: 0, max: 65535 }),
      submissions_port: int(465, 'Public submission over TLS port.', { min: 0, max: 65535 }),
      display_name: str('', 'Provider name shown by clients; empty means the mail domain.'),
    },
  ),
  log: section('Structured JSON logs on standard output.', {
    level: oneOf(
      ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const,
      'info',
      'Lowest level logged.',
    ),
  }),
  metrics: section(
    'Prometheus metrics (OpenTelemetry instruments: connections, commands, deliveries, sign-ins, spam verdicts, with latency histograms) at /metrics on the HTTP listener.',
    {
      enabled: bool(false, 'Serve /metrics.'),
      token: str(
        '',
        'Bearer token a scraper must send (Authorization: Bearer <token>); empty: only clients on this host (loopback) may read /metrics (behind oauth.trust_proxy, the client the proxy forwards too).',
      ),
    },
  ),
  otlp: section(
    'OpenTelemetry export to a collector over OTLP/HTTP (JSON): the spans of every connection, command and delivery, and the metrics.',
    {
      endpoint: str(
        '',
        'Collector base URL, e.g. "http://127.0.0.1:4318" (/v1/traces and /v1/metrics are added); empty: no export.',
      ),
      headers: list([], 'Extra request headers for the collector, "Name: value" (e.g. an API key); never logged.'),
      interval: duration('60s', 'How often metrics are pushed (spans go in batches within 5 s).'),
    },
  ),
  dns: section('The one DNS resolver every part of the server uses.', {
    nameservers: list([], 'Nameservers as "ip" or "ip:port"; empty means the system resolvers (/etc/resolv.conf).'),
    timeout_ms: int(5000, 'Timeout of one DNS query.', { min: 100 }),
    tries: int(2, 'Attempts per query.', { min: 1, max: 10 }),
    trust_ad: bool(
      false,
      'Believe the DNSSEC validation (AD bit) of nameservers that are not on this host. DANE needs a validating resolver; one on 127.0.0.1 or ::1 is always believed, one across a network only with this set.',
    ),
  }),
  bootstrap: section('What the first start creates when the store holds no domain yet.', {
    domain: str('localhost', 'First domain.'),
    admin: str(
      'admin',
      'Local part of the first administrator account; its generated password is shown once: printed on a terminal, else written to <data_dir>/admin-password (mode 0600; removed when that password is changed).',
    ),
  }),
  listeners: section('Network listeners. The defaults are the quick-start ports on 127.0.0.1.', {
    smtp: listener('SMTP for mail from the internet (MX).', 2525, 25),
    submission: listener('Submission with STARTTLS for users (RFC 6409).', 2587, 587),
    submissions: listener('Submission over implicit TLS (RFC 8314).', 2465, 465),
    lmtp: listener('LMTP for delivery from another MTA (off unless enabled).', 2424, 24, false),
    imap: listener('IMAP with STARTTLS.', 2143, 143),
    imaps: listener('IMAP over implicit TLS.', 2993, 993),
    pop3: listener('POP3 with STLS.', 2110, 110),
    pop3s: listener('POP3 over implicit TLS.', 2995, 995),
    http: section(
      'HTTP: health checks (/healthz), Prometheus metrics (/metrics), the OAuth 2.0 / OpenID Connect provider (/oauth, /.well-known), the sign-in and self-service pages (/account), ACME HTTP-01 challenges. JMAP and the web admin are not built yet.',
      {
        enabled: bool(true, 'Whether this listener runs.'),
        bind: str('127.0.0.1', 'Address to listen on.', { production: '::' }),
        port: int(8080, 'TCP port.', { min: 0, max: 65535, production: 443 }),
        tls: bool(false, 'Serve HTTPS with the [tls] certificate.', { production: true }),
        hsts_max_age_s: int(
          -1,
          "HTTP Strict Transport Security (RFC 6797): seconds a browser that reached this listener over HTTPS (its own TLS, or a trusted proxy's per X-Forwarded-Proto with oauth.trust_proxy) must use only HTTPS for this host name, sent on every such answer and never over plain HTTP. -1: not sent (opt-in: a browser keeps the rule for this long even if HTTPS is later turned off, e.g. 31536000 for a year once the certificate renews by itself). 0: sends max-age=0, which makes browsers forget the rule (RFC 6797 section 6.1.1): the way to turn it off after it was on (keep it for as long as the max-age sent before, so every browser that noted the rule hears it); a browser that never noted the rule ignores it.",
          { min: -1 },
        ),
        hsts_include_subdomains: bool(
          false,
          'Add includeSubDomains to Strict-Transport-Security: every name under the host name a browser used (e.g. *.mail.example.com) becomes HTTPS-only too; only when all of them serve HTTPS.',
        ),
        max_connections: int(10000, 'Simultaneous HTTP connections.', { min: 1 }),
        max_connections_per_ip: int(
          200,
          'Simultaneous HTTP connections from one IP address (an IPv6 client: its /64).',
          { min: 1 },
        ),
        requests_per_minute_per_ip: int(
          1200,
          'HTTP requests per minute from one IP address (an IPv6 client: its /64) before it gets 429 Too Many Requests (0: no limit); behind a proxy with oauth.trust_proxy, per client address the proxy forwards.',
          { min: 0 },
        ),
      },
    ),
  }),
  smtp: section('SMTP service limits and policy.', {
    max_message_size: size(50 * MB, 'Largest message accepted, in octets (announced in SIZE).', { min: 1024 }),
    max_recipients: int(100, 'Recipients per message.', { min: 1 }),
    postmaster: str(
      '',
      'Where mail to postmaster@ a hosted domain goes when that domain has no account or alias of that name (RFC 5321 section 4.5.1: every domain must accept postmaster, in any case, and <Postmaster> alone): an address of ours or outside. Empty: the first administrator (the oldest enabled account with the admin role, as found at the time). An alias postmaster@domain (or a catch-all) takes precedence.',
    ),
    send_limit_window: duration('1d', 'Window of the sending limits of authenticated accounts below (fixed windows).'),
    send_limit_messages: int(
      0,
      'Messages one authenticated account may send per window (451 4.7.1 at MAIL FROM past it, logged); 0: no limit.',
      { min: 0, production: 1000 },
    ),
    send_limit_recipients: int(
      0,
      'Recipients one authenticated account may send to per window (451 4.7.1 at RCPT past it, logged): what a stolen password is used for; 0: no limit.',
      { min: 0, production: 2000 },
    ),
    send_limit_overrides: list(
      [],
      'Other limits for some accounts or domains, "address=messages:recipients" or "domain=messages:recipients" (0: no limit), e.g. "news@example.com=20000:100000".',
    ),
    max_connections: int(1000, 'Simultaneous connections on each SMTP listener (MX, submission, submissions, LMTP).', {
      min: 1,
    }),
    max_connections_per_ip: int(
      20,
      'Simultaneous connections from one IP address (an IPv6 client: its /64) on each SMTP listener.',
      { min: 1 },
    ),
    max_line_length: size(2048, 'Longest command line accepted, in octets (RFC 5321 asks for at least 512).', {
      min: 512,
    }),
    max_errors: int(20, 'Error replies a session may provoke before it is closed with 421.', { min: 1 }),
    max_header_size: size(
      256 * 1024,
      'Largest header section accepted, in octets; a larger one is refused with 552 5.3.4 (sendmail refuses ' +
        'past 32 KiB, Postfix keeps 100 KiB).',
      { min: 1024 },
    ),
    max_header_lines: int(
      5000,
      'Most header lines accepted, folded continuation lines included (552 5.3.4). Header parsing and ' +
        'DKIM/DMARC verification slow down faster than linearly with the number of lines.',
      { min: 100 },
    ),
    max_received: int(
      50,
      'Most Received fields accepted: past it the message is refused as a mail loop (554 5.4.6, RFC 5321 ' +
        'section 6.3; Postfix hopcount_limit is also 50).',
      { min: 10 },
    ),
    command_timeout_ms: int(
      300000,
      'Time allowed for each complete command line, and the longest silence between commands (RFC 5321 section 4.5.3.2.7).',
      {
        min: 100,
      },
    ),
    idle_timeout_ms: int(180000, 'Longest silence from the client while it sends a message (data block timeout).', {
      min: 100,
    }),
    data_timeout_ms: int(600000, 'Time allowed for one whole message transfer (DATA or one BDAT chunk).', {
      min: 100,
    }),
    bare_lf: oneOf(
      ['reject', 'normalise'] as const,
      'reject',
      'Message content with a bare LF or CR: refuse it (550 5.6.0), or turn the line ends into CRLF. ' +
        'Either way only CRLF.CRLF ends the data (no SMTP smuggling).',
    ),
    trusted_networks: list(
      [],
      'Networks (CIDR, e.g. "10.0.0.0/8") whose clients may relay without authenticating. Empty: nobody, ' +
        'loopback included.',
    ),
    allow_plaintext_loopback: bool(
      true,
      'Offer AUTH on submission without TLS to 127.0.0.0/8 and ::1 (never to other addresses).',
    ),
    srs: bool(
      true,
      'Rewrite the envelope sender of internet mail an alias forwards to another server (SRS: ' +
        'SRS0=...@alias-domain), so the receiver checks SPF against us, and relay bounces to such addresses ' +
        'back to the original sender. The key is generated once and kept in the store (shared by all nodes).',
    ),
    mta_sts_mode: oneOf(
      ['none', 'testing', 'enforce'] as const,
      'testing',
      'The MTA-STS policy (RFC 8461) served for every hosted domain at https://mta-sts.<domain>/.well-known/mta-sts.txt by the HTTP listener: "testing" (senders deliver anyway and may report), "enforce" once server.hostname has a certificate every sender trusts (ACME), "none" to retire a policy.',
    ),
    mta_sts_max_age: duration('7d', 'How long senders may keep the MTA-STS policy (max_age; at most one year).'),
    mta_sts_mx: list(
      [],
      'MX host names the MTA-STS policy allows besides server.hostname (backup MX hosts; "*.example.com" patterns allowed).',
    ),
    read_reports: bool(
      true,
      'Read the DMARC aggregate reports (RFC 9990) and SMTP TLS reports (RFC 8460) other servers send about hosted domains from mail as it is delivered, and keep them for `petrel reports`; the messages are delivered as usual.',
    ),
  }),
  queue: section('The outbound queue: delivery to other servers, retries, bounces (DSN).', {
    remote_port: int(25, 'TCP port of remote SMTP servers (25; tests point it at a port of their own).', {
      min: 1,
      max: 65535,
    }),
    mta_sts: bool(
      true,
      'Honour recipient domains\' MTA-STS policies (RFC 8461): under mode "enforce", mail goes only to the policy\'s MX hosts over STARTTLS with a verified certificate, else it waits in the queue.',
    ),
    dane: bool(
      true,
      "DANE for SMTP (RFC 7672): when a recipient domain's MX and its hosts' TLSA records are DNSSEC-signed, mail goes to those hosts only over STARTTLS with a certificate matching the TLSA records, else it waits in the queue. Takes effect with a DNSSEC-validating resolver (see dns.trust_ad).",
    ),
    dane_required: list(
      [],
      'Recipient domains that get mail only over DANE-authenticated TLS (RFC 7672 section 6): their MX and TLSA records must be DNSSEC-signed and match, else the mail waits. Needs queue.dane.',
    ),
    mta_sts_port: int(443, 'HTTPS port of MTA-STS policy hosts (443; tests point it at a port of their own).', {
      min: 1,
      max: 65535,
    }),
    retry_schedule: list(
      ['5m', '10m', '30m', '1h', '2h', '4h'],
      'Waits between attempts after a temporary failure (ms, s, m, h, d); the last one repeats.',
      { duration: true },
    ),
    lifetime: duration('5d', 'How long a message is retried before it is returned to its sender as failed.'),
    delay_warning: duration('4h', 'When the sender is told, once, that a message is still queued; "0" never.'),
    concurrency: int(20, 'Deliveries (connections) running at the same time, all destinations together.', {
      min: 1,
      max: 1000,
    }),
    destination_concurrency: int(
      5,
      'Connections to one destination domain at the same time; nodes sharing a PostgreSQL store count theirs together (give every node the same value).',
      { min: 1, max: 100 },
    ),
    max_messages_per_connection: int(100, 'Messages sent over one SMTP connection before it is closed.', {
      min: 1,
    }),
    connect_timeout_ms: int(30000, 'Timeout of one TCP connection to a remote server.', { min: 100 }),
    command_timeout_ms: int(
      300000,
      'Time a remote server has to send a whole reply (counted from the command, not from its last octet), and to take each 64 KiB block of what we send (RFC 5321 section 4.5.3.2).',
      { min: 100 },
    ),
    data_done_timeout_ms: int(
      600000,
      'Timeout waiting for the reply to the end of a message (final dot or last BDAT chunk). RFC 5321 section 4.5.3.2.6 asks at least 10 minutes: giving up after the remote server took the message sends it again (a duplicate). Never shorter than command_timeout_ms.',
      { min: 100 },
    ),
    lease: duration(
      '15m',
      'How long this node owns work it took; renewed every third of it while a delivery runs, so a slow server does not get the message again; expired leases (a node gone) are taken over (several nodes); a node that restarts after a crash takes its own back at once (server.node_id).',
    ),
    poll_interval: duration('30s', 'How often the queue looks for work other nodes or the CLI made due.'),
    starttls: bool(true, 'Use STARTTLS when a remote server offers it (opportunistic TLS, RFC 3207).'),
    tls_ca: str(
      '',
      'PEM file of extra CA certificates trusted when verifying remote servers (REQUIRETLS), besides the system ones.',
    ),
    tls_reports: section(
      'SMTP TLS reporting (RFC 8460): the results of outbound TLS sessions per recipient domain, sent once per period to the domains that publish a _smtp._tls record with rua= (mailto or https).',
      {
        enabled: bool(
          false,
          'Count TLS session results and send daily reports to the domains that ask for them. Off for a laptop; `petrel init` turns it on.',
          { production: true },
        ),
        interval: duration(
          '24h',
          'Reporting period (24h: one report per UTC day and domain, as RFC 8460 section 4.1 asks).',
        ),
        org_name: str('', 'Organisation named in reports (default: server.hostname).'),
        from: str(
          '',
          'Sender and contact of reports (default: noreply-tlsrpt@<server.hostname>); use an address of a domain Petrel signs for: receivers ignore reports without a DKIM signature of the reporting domain (RFC 8460 section 3).',
        ),
      },
    ),
  }),
  dkim: section('DKIM signing of outgoing mail (RFC 6376, RFC 8463); keys are made by `petrel dkim`.', {
    sign: bool(true, 'Sign outgoing mail for the sender domains that have keys.'),
    selector: str('petrel', 'Selector of keys generated by `petrel domain add` and `petrel dkim generate`.'),
    algorithm: oneOf(['rsa', 'ed25519'] as const, 'rsa', 'Algorithm of generated keys (rsa is 2048 bits).'),
  }),
  retention: section(
    'Automatic deletion of old mail in Junk and Trash (as Gmail does after 30 days): counted from when a message was put there (SAVEDATE); "0" keeps it.',
    {
      junk: duration('30d', 'Messages in each \\Junk mailbox are deleted this long after they were put there.'),
      trash: duration('30d', 'Messages in each \\Trash mailbox are deleted this long after they were put there.'),
    },
  ),
  imap: section('IMAP service limits.', {
    max_connections: int(20000, 'Simultaneous IMAP connections.', { min: 1 }),
    max_connections_per_ip: int(200, 'Simultaneous IMAP connections from one IP address (an IPv6 client: its /64).', {
      min: 1,
    }),
    allow_plaintext_loopback: bool(true, 'Allow LOGIN without TLS from 127.0.0.0/8 and ::1 (never from elsewhere).'),
    max_message_size: size(50 * MB, 'Largest message APPEND accepts, in octets (announced as APPENDLIMIT).', {
      min: 1024,
    }),
    max_line_length: size(65536, 'Longest command line, without literals, in octets.', { min: 1024 }),
    idle_timeout_s: int(
      1800,
      'Seconds of silence before a logged-in session is logged out (RFC 9051: at least 30 minutes).',
      {
        min: 1,
      },
    ),
    preauth_timeout_s: int(180, 'Seconds of silence before a session that has not logged in is closed.', { min: 1 }),
  }),
  security: section('Brute-force and abuse defence for every sign-in (IMAP, SMTP, POP3).', {
    max_failures_per_ip: int(
      10,
      'Failed sign-ins from one IP (an IPv6 client: its /64), within the window, that lock that IP out.',
      { min: 1 },
    ),
    max_failures_per_account: int(
      20,
      'Failed sign-ins for one account, within the window, that lock password sign-ins to it from IPs that never signed it in (its owner keeps known-good IPs and tokens).',
      { min: 1 },
    ),
    failure_window_s: int(900, 'Seconds over which failures are counted.', { min: 1 }),
    lockout_s: int(900, 'Seconds a lockout lasts.', { min: 1 }),
    failure_delay_ms: int(
      250,
      "Delay before the reply to an IP's first failed sign-in, doubled for each further failure from it within the window (as Dovecot's auth penalty: 2, 4, 8, 15 s); a success from that IP starts it again (but not its failure count, nor an account's).",
      { min: 0 },
    ),
    max_failure_delay_ms: int(5000, 'Longest delay before a failure reply.', { min: 0 }),
    connection_rate_per_ip: int(
      600,
      'New connections per minute from one IP (an IPv6 client: its /64), per listener, before connections are refused (0: no limit).',
      { min: 0 },
    ),
  }),
  spam: section('The spam filter: named checks with scores; the sum decides (see README, Spam protection).', {
    enabled: bool(true, 'Run the spam pipeline on mail from the internet (not on authenticated submission).'),
    junk_score: int(6, 'Score at or above which a message is delivered to Junk with X-Spam-Flag: YES.'),
    reject_score: int(15, 'Score at or above which a message is refused during DATA (550 5.7.1).'),
    timeout_ms: int(
      5000,
      'Time budget of the whole pipeline per message; unfinished checks score nothing. The first stage (sender authentication, DNS and Pyzor lookups, content) has four fifths of it, the checks that read its results (block and allow lists, reputation) the rest.',
      {
        min: 100,
      },
    ),
    weights: list([], 'Score overrides as "SYMBOL=score" (e.g. "RBL_SPAMHAUS_ZEN=8").'),
    rules: list(
      [],
      'Local rules as "NAME TARGET /REGEX/FLAGS SCORE [junk|reject]": TARGET is subject, from, to (To and Cc), reply-to, body (decoded text), url (each link of the bodies and attachments, normalised: scheme and host in lower case, IDN hosts as A-labels "xn--...", no trailing dot or default port, %-encoded letters, digits and "-._~" decoded, other %-escapes in upper case, the case of the path kept, e.g. "https://evil.example/login.php"), headers (every "Name: value") or header:NAME; FLAGS of i, m, s, u (e.g. "LOCAL_INVOICE subject /overdue invoice/i 3").',
    ),
    // -- sender authentication, connection and envelope checks --
    dns_timeout_ms: int(2000, 'Timeout of one DNS lookup made by a spam check (SPF, DKIM, DMARC, ARC, blocklists).', {
      min: 50,
    }),
    domain_thresholds: list(
      [],
      'Thresholds per recipient domain or account as "domain=junk:reject" or "user@domain=junk:reject" (e.g. "example.com=4:10"); an account\'s entry wins over its domain\'s; others use junk_score/reject_score.',
    ),
    verdicts_keep: duration(
      '90d',
      'How long stored verdicts (the symbols of each message, `petrel spam verdicts` and `stats`) are kept; "0" keeps them.',
    ),
    forward_junk: oneOf(
      ['forward', 'refuse'] as const,
      'forward',
      'Mail the filter takes for junk that an alias would forward to another server: "forward" passes it on marked (X-Spam-Flag: YES); "refuse" makes no forwarded copy (the local copies still go to Junk) and refuses a message that has no other recipient (550 5.7.1), so forwarding to a big provider does not teach it that we send spam.',
      { production: 'refuse' },
    ),
    user_junk_score: bool(
      true,
      'Let users choose their own junk threshold on the web at /account/spam (stricter or more lenient than the one the admin set for them, never past their refusal threshold).',
    ),
    user_settings_locked: list(
      [],
      'Domains, or single addresses, whose users may not change their own allow/block lists or junk threshold at /account/spam (shown, not editable; the admin still sets them with `petrel spam allow|block --account` and `petrel spam settings`). "Not spam", "Spam" and the Junk report choice stay theirs.',
    ),
    junk_keywords: bool(
      true,
      'Set $Junk (and $Phishing for phishing) on what the filter files into Junk, and keep $Junk / $NotJunk in step when a user moves or copies mail into or out of Junk, and take one off when a client sets the other (RFC 9051 section 2.3.2: they are mutually exclusive), so clients that show junk status by keyword agree with the mailbox.',
    ),
    exempt_recipients: list(
      ['postmaster', 'abuse'],
      'Recipients whose mail is scored (X-Spam-* headers, the verdict stored) but never refused, greylisted or filed into Junk as spam, as amavis\'s spam lovers: "local part" for that name in every hosted domain, or "user@domain". Complaints and reports sent to postmaster@ and abuse@ (RFC 2142) quote spam. Viruses are still refused.',
    ),
    auth: section('Sender authentication: SPF (RFC 7208), DKIM (RFC 6376, 8463), DMARC (RFC 7489), ARC (RFC 8617).', {
      enabled: bool(true, 'Verify SPF, DKIM, DMARC and ARC and add an Authentication-Results header (RFC 8601).'),
      dmarc_enforce: bool(
        true,
        'Honour DMARC policies: p=reject refuses with 550 5.7.1, p=quarantine delivers to Junk.',
      ),
      dmarc_no_enforce: list(
        [],
        'Author domains whose DMARC policy is only scored, never enforced (e.g. mailing-list heavy domains).',
      ),
      dkim_partial_body: oneOf(
        ['score', 'fail', 'accept'] as const,
        'score',
        'A DKIM signature with a body length (l=) that leaves part of the body unsigned (RFC 6376 section 8.2: content appended to a genuinely signed message): "score" counts it as no signature for our own trust (DKIM_PARTIAL_BODY; it does not authenticate the sender for allow lists, contacts or reputation, and a DMARC pass that rests on it alone counts as a failure, scored but not enforced), "fail" also enforces the DMARC policy then, "accept" trusts it as a full signature.',
      ),
      no_author_domain: oneOf(
        ['score', 'reject'] as const,
        'score',
        'A message with no domain in From to check DMARC against (no From field, "undisclosed-recipients:;", an address without a domain; RFC 7489 section 6.6.1): "score" adds DMARC_NO_AUTHOR_DOMAIN (dmarc=none in Authentication-Results), "reject" also refuses it (550 5.7.1), as receivers typically do with mail that has no From field.',
      ),
      arc_seal: bool(
        true,
        "ARC-seal mail from the internet that an alias forwards to another server, with the alias domain's DKIM key.",
      ),
      arc_trusted_sealers: list(
        [],
        'Domains whose ARC seals are trusted (mailing-list hosts, forwarders you rely on): when a message fails ' +
          'DMARC only because such a hop changed it, and that hop sealed a valid chain recording dmarc=pass, ' +
          'the DMARC policy is not enforced (symbol ARC_TRUSTED; RFC 8617 section 7.2).',
      ),
    }),
    dmarc_reports: section(
      'DMARC aggregate reports (RFC 9990): the DMARC results of mail from the internet, counted per sending IP and outcome, sent once per period to the addresses each author domain publishes (rua).',
      {
        enabled: bool(
          false,
          'Gather DMARC results and send each domain that asks for them (rua=mailto:...) a report per period. Off for a laptop; `petrel init` turns it on.',
          { production: true },
        ),
        interval: duration(
          '24h',
          'Reporting period; periods start at multiples of it since 1970-01-01 UTC (24h: one report per UTC day and domain).',
        ),
        org_name: str('', 'Reporting organisation named in reports (default: server.hostname).'),
        from: str(
          '',
          'Sender of reports (default: noreply-dmarc@<server.hostname>). Use an address of a domain Petrel hosts and signs for: reports must pass DMARC themselves (RFC 9990 section 3.5.2).',
        ),
        contact_info: str('', 'Extra contact details given in reports (extra_contact_info), e.g. a web page.'),
        max_records: int(10000, 'Most records (distinct outcomes) in one report; the most frequent are kept.', {
          min: 1,
        }),
      },
    ),
    dmarc_failure_reports: section(
      'DMARC failure reports (RFC 9991): one message per DMARC failure of mail from the internet, as the author domain asks (ruf=, fo=), in the ARF format (RFC 5965, RFC 6591) with the original header section only (never the body), rate-limited.',
      {
        enabled: bool(
          false,
          'Send failure reports to domains that ask for them. Off by default, as most large receivers do: a report shows a third party the headers of mail your users received.',
        ),
        from: str(
          '',
          'Sender of reports (default: noreply-dmarc@<server.hostname>). Use an address of a domain Petrel hosts and signs for: reports should pass DMARC (RFC 9991 section 5.1).',
        ),
        max_per_hour: int(
          20,
          'Most reports per author policy domain per hour; the rest are dropped (RFC 9991 section 8.1).',
          {
            min: 1,
          },
        ),
      },
    ),
    dnsbl: section('DNS blocklists on the client IP (IPv4 reversed octets, IPv6 nibbles).', {
      zones: list(
        [],
        'Zones as "zone" or "zone=CODE:SYMBOL:SCORE,..." where CODE is an address or a range "127.0.0.2-127.0.0.3" ' +
          'and SCORE a number or "reject" (e.g. "zen.spamhaus.org=127.0.0.2-127.0.0.3:SBL:6,127.0.0.10-127.0.0.11:PBL:2").',
      ),
      default_score: int(3, 'Score of a listing in a zone given without return codes (symbol RBL_<ZONE>).'),
      skip_txt: list(
        [],
        'Zones of `zones` (the zone part of the entry) whose TXT record is not looked up for a listed client. By default it is, as Postfix does, right after the listing and waited for briefly: its text (why the zone lists the client, often a lookup URL) is added to the detail and, when the listing refuses the message, to the 550 reply after "; ", as printable ASCII of at most 200 characters, without an access key.',
      ),
      monitor: list(
        [],
        "Zones `petrel domain check` looks this server's own addresses up in, besides those above: a listing there is why other servers refuse our mail.",
        { production: ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org'] },
      ),
    }),
    fcrdns: section('Forward-confirmed reverse DNS of the client IP.', {
      enabled: bool(true, 'Look up PTR names of the client and check that one of them resolves back to it.'),
    }),
    sender_domain: section(
      'Whether the MAIL FROM and From domains can take mail (as Postfix reject_unknown_sender_domain): SENDER_DOMAIN_* / FROM_DOMAIN_* NXDOMAIN (4), NULL_MX (4, RFC 7505), NO_MAIL (2: neither MX nor address).',
      {
        enabled: bool(
          false,
          'Look up the MX (then A/AAAA) of the MAIL FROM and From domains of mail from the internet. Off by default (as Postfix leaves reject_unknown_sender_domain out): a laptop or test setup often has no real DNS; `petrel init` turns it on.',
          { production: true },
        ),
        reject: bool(
          false,
          'Refuse (550 5.7.1 at the end of data) mail whose MAIL FROM domain does not exist or publishes a null MX, instead of scoring it.',
        ),
      },
    ),
    helo: section('HELO/EHLO name sanity.', {
      enabled: bool(true, 'Score HELO names that are bare IPs, not fully qualified, or claim to be us.'),
    }),
    greylist: section('Greylisting (triplet: client /24 or /64, sender, recipient); state shared through the store.', {
      enabled: bool(false, 'Defer the first message of an unknown triplet with 451 4.7.1.'),
      delay: duration('5m', 'How long a new triplet must wait before a retry is accepted.'),
      retry_window: duration('24h', 'A retry later than this after the first attempt starts over.'),
      lifetime: duration('36d', 'How long a passed triplet and a client network are remembered since last seen.'),
      auto_whitelist_after: int(
        5,
        'After this many passed triplets a client network is no longer greylisted (0: never).',
        {
          min: 0,
        },
      ),
      min_score: int(
        0,
        "Greylist only messages whose score (without greylisting) is at least this, as rspamd's greylist action does: mail that DMARC, DKIM or a known contact vouches for (a negative score) is not delayed. -100 greylists every unknown triplet, as Postgrey does.",
      ),
    }),
    rate_limit: section('Per client IP and per envelope sender message rates, checked at MAIL FROM (451 4.7.1).', {
      window: duration('1h', 'Length of the fixed counting window.'),
      per_ip: int(0, 'MAIL FROM commands per window from one client IP (an IPv6 client: its /64); 0: no limit.', {
        min: 0,
      }),
      per_sender: int(
        0,
        'Messages accepted per window from one envelope sender address, its per-message forms (BATV tags, VERP numbers, +extensions) as one (counted at the end of DATA/BDAT; MAIL FROM is refused once the limit is reached); 0: no limit.',
        { min: 0 },
      ),
    }),

    // -- content checks, digests, reputation --
    ...contentSections,

    // -- statistical classifier --
    bayes: section('The statistical classifier (Bayes): learns from users moving mail into and out of Junk.', {
      enabled: bool(true, 'Score messages with the Bayes classifier (BAYES_SPAM / BAYES_HAM).'),
      min_learns: int(50, 'Spam and ham messages each the global table needs before it is used.', { min: 1 }),
      account_min_learns: int(50, "Spam and ham messages each an account's own table needs before it is blended in.", {
        min: 1,
      }),
      account_weight: int(50, "Weight in percent of an account's own table against the global one.", {
        min: 0,
        max: 100,
      }),
      spam_score: int(7, 'Score of BAYES_SPAM at probability 99.9% and above; lower bands score a fraction.'),
      ham_score: int(-3, 'Score of BAYES_HAM at probability 0.1% and below; higher bands score a fraction.'),
      max_tokens: int(
        5_000_000,
        'Rows each table (global, each account) keeps: past it, at most hourly after a learn, the tokens ' +
          'least recently learned are dropped (about 440 rows per learned message; 0 keeps everything).',
        { min: 0 },
      ),
    }),
  }),
  pop3: section('POP3 service limits.', {
    max_connections: int(5000, 'Simultaneous POP3 connections.', { min: 1 }),
    max_connections_per_ip: int(50, 'Simultaneous POP3 connections from one IP address (an IPv6 client: its /64).', {
      min: 1,
    }),
    allow_plaintext_loopback: bool(
      true,
      'Allow USER/PASS and AUTH PLAIN without TLS from 127.0.0.0/8 and ::1 (never from elsewhere).',
    ),
    idle_timeout_ms: int(
      600000,
      'Idle time after which a session is closed without a reply; RFC 1939 asks for at least 10 minutes.',
      { min: 1000 },
    ),
    max_errors: int(10, 'Unknown or malformed commands and failed logins before a session is closed.', { min: 1 }),
    mark_seen: bool(
      true,
      'Set \\Seen on the messages a session retrieved with RETR (not TOP) when it ends with QUIT, as Dovecot does ' +
        '(its pop3_no_flag_updates = no); false leaves flags alone (mail also read over IMAP stays unread there after a POP3 download).',
    ),
  }),
  oauth: section(
    'OAuth 2.0 / OpenID Connect: Petrel as OpenID Provider, external identity providers, two-factor login.',
    {
      enabled: bool(true, 'Run the OpenID Provider (discovery, login page, tokens) on the HTTP listener.'),
      issuer: str(
        '',
        'Issuer URL (https://mail.example.com in production); empty means http://127.0.0.1:<HTTP port> (quick start).',
      ),
      mail_scope: str('mail', 'The scope a token must carry to sign in over IMAP, SMTP and POP3.'),
      clients: list(
        [],
        'Clients as "id=ID;secret=S;redirect_uris=URI URI;grant_types=authorization_code refresh_token device_code" (no secret: a public client, PKCE S256 required).',
        { secret: true },
      ),
      builtin_clients: bool(
        true,
        'Offer the public "thunderbird" client (loopback redirects, any port; code, refresh and device grants) to mail apps.',
      ),
      access_token_ttl_s: int(3600, 'Lifetime of an access token.', { min: 60 }),
      refresh_token_ttl_s: int(30 * 86400, 'Lifetime of a refresh token (each use rotates it for public clients).', {
        min: 300,
      }),
      device_code_ttl_s: int(600, 'How long a device code (RFC 8628) waits for the user.', { min: 60 }),
      session_ttl_s: int(86400, 'Lifetime of a login session (OpenID Provider and the /account pages).', { min: 300 }),
      external_idps: list(
        [],
        'External identity providers whose JWT access tokens are accepted, as "issuer=URL;jwks_uri=URL;audience=A;claim=email[;scope=S][;domains=a.test,b.test]"; the claim names the Petrel account. With domains, the provider signs in accounts of those domains only (otherwise any account); a token whose email claim is marked email_verified=false is refused.',
      ),
      clock_tolerance_s: int(30, "Clock skew allowed when checking external tokens' times.", { min: 0, max: 600 }),
      totp_issuer: str('Petrel', 'Issuer name authenticator apps show beside a TOTP code.'),
      trust_proxy: bool(
        false,
        'Trust X-Forwarded-Proto/Host/For from a reverse proxy that terminates TLS in front of the HTTP listener: the OAuth endpoints, sign-in and /account pages take https from X-Forwarded-Proto (Secure cookies) and the client address, which the brute-force limiter counts, from the last X-Forwarded-For entry (the proxy must append the address it saw, as nginx $proxy_add_x_forwarded_for does; "192.0.2.7:51234" and "[2001:db8::1]:443" count without the port, an entry that is no address counts as the proxy). The RFC 7239 Forwarded header is not read: a proxy that appends X-Forwarded-For passes on a Forwarded header the client wrote.',
      ),
    },
  ),
});

export type Config = Infer<typeof schema>;
