// `openssl s_client` as an independent TLS client: which version and cipher a server accepts, and which
// certificate it serves for a name, over implicit TLS or STARTTLS (smtp, imap, pop3).
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';

export interface SClientOptions {
  port: number;
  starttls?: 'smtp' | 'imap' | 'pop3';
  servername?: string;
  /** e.g. '-tls1_2'. */
  version?: '-tls1' | '-tls1_1' | '-tls1_2' | '-tls1_3';
  /** TLS 1.2-and-below cipher list offered by the client. */
  cipher?: string;
}

export interface SClientResult {
  /** The handshake completed. */
  ok: boolean;
  protocol: string | null;
  cipher: string | null;
  /** The leaf certificate the server sent. */
  cert: X509Certificate | null;
  output: string;
}

export function sClient(o: SClientOptions): Promise<SClientResult> {
  const args = ['s_client', '-connect', `127.0.0.1:${o.port}`];
  if (o.starttls) args.push('-starttls', o.starttls);
  if (o.servername) args.push('-servername', o.servername);
  else args.push('-noservername');
  if (o.version) args.push(o.version);
  // SECLEVEL=0 lets the client offer old versions and weak ciphers at all: a refusal must come from the server.
  if (o.version === '-tls1' || o.version === '-tls1_1' || o.cipher)
    args.push('-cipher', `${o.cipher ?? 'DEFAULT'}@SECLEVEL=0`);
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 15000 }, (_err, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`;
      const m = /New, (\S+), Cipher is (\S+)/.exec(stdout);
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0];
      const ok = !!m && m[2] !== '(NONE)';
      resolve({
        ok,
        // "New, TLSv1.0, ..." names the cipher's own version; the session block has the negotiated one.
        protocol: ok ? (/^\s*Protocol\s*:\s*(\S+)/m.exec(stdout)?.[1] ?? m![1]) : null,
        cipher: ok ? m![2] : null,
        cert: pem ? new X509Certificate(pem) : null,
        output,
      });
    });
    child.stdin?.end();
  });
}

/**
 * Asks for a TLS 1.2 renegotiation ("R" on s_client's input) once the handshake is done, and tells whether the
 * server went through with it (a second ServerHello) or refused it (s_client ends: a server that sends a
 * no_renegotiation alert makes it fail the handshake it started).
 */
export function sClientRenegotiate(o: Omit<SClientOptions, 'version' | 'cipher'>): Promise<{
  renegotiated: boolean;
  output: string;
}> {
  const args = ['s_client', '-connect', `127.0.0.1:${o.port}`, '-tls1_2', '-msg'];
  if (o.starttls) args.push('-starttls', o.starttls);
  if (o.servername) args.push('-servername', o.servername);
  else args.push('-noservername');
  return new Promise((resolve) => {
    const child = spawn('openssl', args);
    let output = '';
    let asked = false;
    const timer = setTimeout(() => child.kill(), 15000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!asked && /Verify return code/.test(output)) {
        asked = true;
        child.stdin.write('R\n');
      }
      if ((output.match(/, ServerHello\b/g) ?? []).length > 1) child.kill();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ renegotiated: (output.match(/, ServerHello\b/g) ?? []).length > 1, output });
    });
  });
}
