// A DNS server of the test's own on 127.0.0.1 (UDP and TCP on one port) answering from records the test
// gives, so the resolver, MX routing and DKIM verification run against real DNS packets, never the internet.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';

export interface Zone {
  MX?: { preference: number; exchange: string }[];
  A?: string[];
  AAAA?: string[];
  /** Each record is a list of character-strings (concatenated by the reader). */
  TXT?: string[][];
  PTR?: string[];
  /** DANE records (RFC 6698), served for the "_25._tcp.<host>" name they are set on. */
  TLSA?: { usage: number; selector: number; matchingType: number; certificate: Buffer }[];
  SRV?: { priority: number; weight: number; port: number; target: string }[];
  /** An alias: questions of other types are answered with it and the target's records (RFC 1034 3.6.2). */
  CNAME?: string;
  /** A DNSSEC-signed name, as a validating resolver would see it: answers about it carry the AD bit when the
   *  query asked with AD or DO (RFC 6840 section 5.7), a CNAME chain only if every name on it is signed. */
  signed?: boolean;
}

export interface DnsServer {
  host: string;
  port: number;
  /** "127.0.0.1:PORT", what config dns.nameservers takes. */
  address: string;
  /** Names (lower case, no trailing dot) to their records; change it at any time. */
  zones: Map<string, Zone>;
  set(name: string, zone: Zone): void;
  /** Names answered with SERVFAIL (a broken upstream), to test temporary DNS failures. */
  failing: Set<string>;
  /** Names never answered (a nameserver that times out); "TYPE name" (e.g. "TXT x.test") for one type only. */
  silent: Set<string>;
  /** Hostile answers: "TYPE name" to the raw reply bytes made from the query (its id and question), sent
   *  as they are over UDP and TCP (null: no answer), for malformed, truncated or off-question replies. */
  raw: Map<string, (query: dnsPacket.DecodedPacket, udp: boolean) => Buffer | null>;
  /** Questions received, "TYPE name", in order. */
  queries: string[];
  /** How many queries came over TCP. */
  tcpQueries: number;
  /** How many answers carried the AD bit (signed names asked about by a DNSSEC-aware client). */
  adAnswers: number;
  stop(): Promise<void>;
  /** Lets the process exit while the server still runs (a server shared by a whole test file). */
  unref(): void;
}

type Answer = dnsPacket.Answer;

function answersFor(
  zones: Map<string, Zone>,
  q: dnsPacket.Question,
  hops = 0,
): { rcode: 'NOERROR' | 'NXDOMAIN'; answers: Answer[]; signed: boolean } {
  const name = q.name.toLowerCase().replace(/\.$/, '');
  const z = zones.get(name);
  if (!z) return { rcode: 'NXDOMAIN', answers: [], signed: false };
  const base = { name: q.name, ttl: 60, class: 'IN' as const };
  if (z.CNAME && q.type !== 'CNAME' && hops < 8) {
    const next = answersFor(zones, { ...q, name: z.CNAME }, hops + 1);
    return {
      rcode: next.rcode,
      answers: [{ ...base, type: 'CNAME', data: z.CNAME }, ...next.answers],
      signed: !!z.signed && next.signed,
    };
  }
  const answers: Answer[] = [];
  if (q.type === 'CNAME' && z.CNAME) answers.push({ ...base, type: 'CNAME', data: z.CNAME });
  if (q.type === 'TLSA') for (const t of z.TLSA ?? []) answers.push({ ...base, type: 'TLSA', data: t } as Answer);
  if (q.type === 'SRV') for (const t of z.SRV ?? []) answers.push({ ...base, type: 'SRV', data: t });
  if (q.type === 'MX') for (const mx of z.MX ?? []) answers.push({ ...base, type: 'MX', data: mx });
  if (q.type === 'A') for (const a of z.A ?? []) answers.push({ ...base, type: 'A', data: a });
  if (q.type === 'AAAA') for (const a of z.AAAA ?? []) answers.push({ ...base, type: 'AAAA', data: a });
  if (q.type === 'TXT') for (const t of z.TXT ?? []) answers.push({ ...base, type: 'TXT', data: t });
  if (q.type === 'PTR') for (const p of z.PTR ?? []) answers.push({ ...base, type: 'PTR', data: p });
  return { rcode: 'NOERROR', answers, signed: !!z.signed };
}

function respond(server: DnsServer, msg: Buffer, udp: boolean): Buffer | null {
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return null;
  }
  const q = query.questions?.[0];
  if (!q) return null;
  server.queries.push(`${q.type} ${q.name.toLowerCase()}`);
  const asked = q.name.toLowerCase().replace(/\.$/, '');
  if (server.silent.has(asked) || server.silent.has(`${q.type} ${asked}`)) return null;
  const raw = server.raw.get(`${q.type} ${asked}`);
  if (raw) return raw(query, udp);
  const fail = server.failing.has(q.name.toLowerCase().replace(/\.$/, ''));
  const { rcode, answers, signed } = fail
    ? { rcode: 'SERVFAIL', answers: [] as Answer[], signed: false }
    : answersFor(server.zones, q);
  const wantsAd =
    (query.flags ?? 0) & dnsPacket.AUTHENTIC_DATA ||
    (query.additionals ?? []).some((a) => a.type === 'OPT' && (a as dnsPacket.OptAnswer).flag_do);
  if (signed && wantsAd) server.adAnswers++;
  // dns-packet encodes the RCODE only through the low four bits of the flags (RFC 1035 section 4.1.1).
  const code = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 }[rcode] ?? 2;
  const reply = (list: Answer[], truncated: boolean) =>
    dnsPacket.encode({
      id: query.id,
      type: 'response',
      // AA, RD, RA; TC when the UDP answer does not fit (RFC 1035 section 4.2.1).
      flags:
        dnsPacket.AUTHORITATIVE_ANSWER |
        dnsPacket.RECURSION_DESIRED |
        dnsPacket.RECURSION_AVAILABLE |
        (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) |
        (signed && wantsAd ? dnsPacket.AUTHENTIC_DATA : 0) |
        code,
      questions: [q],
      answers: list,
    });
  const full = reply(answers, false);
  if (udp && full.length > 512) return reply([], true);
  return full;
}

/** Starts the server on 127.0.0.1, UDP and TCP on the same free port. */
export async function startDnsServer(zones: Record<string, Zone> = {}): Promise<DnsServer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await tryStart(zones);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 20) throw e;
    }
  }
}

async function tryStart(zones: Record<string, Zone>): Promise<DnsServer> {
  const host = '127.0.0.1';
  const udp: UdpSocket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, host, () => resolve());
  });
  const port = udp.address().port;
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      // RFC 1035 section 4.2.2: each message is preceded by a two-byte length.
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        server.tcpQueries++;
        const r = respond(server, msg, false);
        if (r) {
          const framed = Buffer.alloc(2 + r.length);
          framed.writeUInt16BE(r.length, 0);
          r.copy(framed, 2);
          s.write(framed);
        }
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => resolve());
    });
  } catch (e) {
    udp.close();
    throw e;
  }
  const server: DnsServer = {
    host,
    port,
    address: `${host}:${port}`,
    zones: new Map(Object.entries(zones).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v])),
    set(name, zone) {
      this.zones.set(name.toLowerCase().replace(/\.$/, ''), zone);
    },
    failing: new Set(),
    silent: new Set(),
    raw: new Map(),
    queries: [],
    tcpQueries: 0,
    adAnswers: 0,
    unref() {
      udp.unref();
      tcp.unref();
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
  udp.on('message', (msg, rinfo) => {
    const r = respond(server, msg, true);
    if (r) udp.send(r, rinfo.port, rinfo.address);
  });
  return server;
}
