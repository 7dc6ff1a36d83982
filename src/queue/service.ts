// The outbound queue as the rest of the server sees it: enqueue (normalise, DKIM-sign, store durably),
// the runner that delivers, and the DSNs it sends back (locally for our own senders, queued otherwise).

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ObservableResult } from '@opentelemetry/api';
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import { PetrelError } from '../core/errors.ts';
import type {
  BlobStore,
  DeliveredNotice,
  NewQueuedMessage,
  OutboundMessage,
  OutboundQueue,
  QueuedDsn,
  QueueEntry,
  Resolver,
  Store,
} from '../core/ports.ts';
import { isRoutableDomain } from '../directory/address.ts';
import type { DirectoryService } from '../directory/service.ts';
import type { DkimKeyring } from '../dkim/keys.ts';
import { authorDomain, signMessage } from '../dkim/sign.ts';
import { toALabel } from '../dns/resolver.ts';
import { createSecureLookup } from '../dns/secure.ts';
import type { MailService } from '../mailbox/service.ts';
import { getField, parseHeaderBlock } from '../mime/header.ts';
import { bareLineEnds, crlfLineEnds } from '../protocol/smtp/line-ends.ts';
import { toCrlf } from '../protocol/smtp-client/reply.ts';
import type { Srs } from '../smtp/srs.ts';
import type { Logger } from '../telemetry/log.ts';
import { instruments } from '../telemetry/metrics.ts';
import { deliverDomain } from './deliver.ts';
import { DestinationSlots, SLOT_TTL_MS } from './destination-slots.ts';
import { buildDsn, type DsnRecipient } from './dsn.ts';
import { MtaSts } from './mta-sts/service.ts';
import { nodeId } from './node-id.ts';
import { bounced, type Decision, type QueuePolicy } from './policy.ts';
import { QueueRunner } from './runner.ts';
import { TlsReporter } from './tls-reports/reporter.ts';

export interface OutboundDeps {
  config: Config;
  store: Store;
  blobs: BlobStore;
  mail: MailService;
  directory: DirectoryService;
  resolver: Resolver;
  dkim: DkimKeyring;
  log: Logger;
  /** Sender rewriting (smtp.srs): a DSN for an SRS address we made goes to the original sender. */
  srs?: () => Promise<Srs | undefined>;
  now?: () => number;
}

/** What a DSN writes in the transaction that records the outcomes it reports (QueuedDsn without them). */
type DsnWrite = Omit<QueuedDsn, 'rcpts'>;

/** Up to this size a failure DSN returns the whole message when the sender did not say (RET). */
const FULL_RETURN_LIMIT = 100 * 1024;

/** Reads the [queue] durations; a bad value stops the start with the key's name. */
export function queuePolicy(config: Config): QueuePolicy & { leaseMs: number; pollMs: number } {
  const q = config.queue;
  const schedule = q.retry_schedule.map((d, i) => parseDuration(d, `queue.retry_schedule[${i}]`));
  if (schedule.length === 0 || schedule.some((d) => d <= 0))
    throw new Error('queue.retry_schedule: needs at least one duration above 0');
  // Mandatory DANE without DANE lookups would deliver those domains' mail with no DANE at all.
  if (q.dane_required.length > 0 && !q.dane) throw new Error('queue.dane_required: needs queue.dane = true');
  return {
    retrySchedule: schedule,
    lifetimeMs: parseDuration(q.lifetime, 'queue.lifetime'),
    delayWarningMs: parseDuration(q.delay_warning, 'queue.delay_warning'),
    leaseMs: Math.max(1000, parseDuration(q.lease, 'queue.lease')),
    pollMs: Math.max(100, parseDuration(q.poll_interval, 'queue.poll_interval')),
  };
}

/** "local@domain" with the domain as an A-label (RFC 5891); address literals kept. */
export function routableAddress(address: string): { address: string; domain: string } {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1)
    throw new PetrelError('INVALID_ARGUMENT', `not a routable address: ${address}`);
  const rawDomain = address.slice(at + 1);
  const domain = rawDomain.startsWith('[') ? rawDomain : toALabel(rawDomain);
  if (!rawDomain.startsWith('[') && !isRoutableDomain(domain))
    throw new PetrelError('INVALID_ARGUMENT', `not a routable domain: ${rawDomain}`);
  return { address: `${address.slice(0, at)}@${domain}`, domain };
}

/** Whether the header section carries "TLS-Required: No" (RFC 8689 section 3), folded or not. */
export function tlsRequiredNo(raw: Buffer): boolean {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? Math.min(raw.length, 65536) : end).toString('latin1');
  return /(?:^|\r\n)TLS-Required:(?:[ \t]|\r\n[ \t])*No[ \t]*(?:\r\n(?![ \t])|$)/i.test(head);
}

export class OutboundService implements OutboundQueue {
  private readonly deps: OutboundDeps;
  readonly policy: ReturnType<typeof queuePolicy>;
  private readonly ca: string[] | undefined;
  private readonly now: () => number;
  private runner: QueueRunner | null = null;
  /** SMTP TLS reporting (queue.tls_reports): counts what deliveries found, sends the reports. */
  readonly tlsReports: TlsReporter;

  constructor(deps: OutboundDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.policy = queuePolicy(deps.config);
    const caFile = deps.config.queue.tls_ca;
    // One entry per certificate: Node reads only the first certificate of each PEM string it is given,
    // so a bundle file passed whole would trust its first CA alone.
    this.ca = caFile
      ? (readFileSync(caFile, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [])
      : undefined;
    this.tlsReports = new TlsReporter({
      config: deps.config,
      store: deps.store,
      resolver: deps.resolver,
      outbound: this,
      log: deps.log,
      now: deps.now,
      ca: this.ca,
    });
  }

  async enqueue(m: OutboundMessage): Promise<string> {
    const { store } = this.deps;
    if (m.recipients.length === 0) throw new PetrelError('INVALID_ARGUMENT', 'a message needs recipients');
    // Our own domains are delivered here: their MX is this server, which the queue refuses as a loop
    // (RFC 5321 section 5.1). What reaches this is mail the server writes itself (a DMARC or TLS report
    // to postmaster@ of a hosted domain, a DSN to a local sender); SMTP hands the queue other domains only.
    const remote: OutboundMessage['recipients'] = [];
    for (const r of m.recipients) {
      if (await this.deliverHere(m, r.address)) continue;
      remote.push(r);
    }
    if (remote.length === 0) return `local-${randomBytes(6).toString('hex').toUpperCase()}`;
    const queued = await this.prepare({ ...m, recipients: remote });
    await store.queue.insert(queued);
    this.logQueued(queued);
    this.runner?.kick();
    return queued.queueId;
  }

  /** The queue row of a message for other domains: signed (DKIM), its content in the blob store. */
  private async prepare(m: OutboundMessage): Promise<NewQueuedMessage> {
    const recipients = m.recipients.map((r) => ({
      ...routableAddress(r.address),
      orcpt: r.orcpt ?? null,
      notify: r.notify ?? null,
    }));
    // RFC 3030 section 3: a BINARYMIME body may hold any octet, a bare CR or LF included; only its header
    // section is text. The signature is made over the octets stored, which are the octets sent.
    const content = m.bodyType === 'BINARYMIME' ? crlfLineEnds(m.raw, true) : toCrlf(m.raw);
    const queueId = randomBytes(8).toString('hex').toUpperCase();
    const raw = m.dkimSign === false ? content : await this.sign(content, m.from, queueId);
    const { hash, size } = await this.deps.blobs.put(raw);
    const now = this.now();
    return {
      queueId,
      from: m.from,
      blobHash: hash,
      size,
      envId: m.envId ?? null,
      ret: m.ret ?? null,
      smtpUtf8: m.smtpUtf8 ?? false,
      requireTls: m.requireTls ?? false,
      // RFC 8689 section 4.1: REQUIRETLS on MAIL FROM wins over the header field.
      tlsOptional: !m.requireTls && tlsRequiredNo(raw),
      bodyType: m.bodyType ?? null,
      accountId: m.accountId ?? null,
      createdAt: now,
      expiresAt: now + this.policy.lifetimeMs,
      warnAt: this.policy.delayWarningMs > 0 ? now + this.policy.delayWarningMs : null,
      recipients,
    };
  }

  /** DKIM-signs for the author's domain (the From header, else the envelope sender) when we host it. */
  private async sign(raw: Buffer, from: string, queueId: string): Promise<Buffer> {
    const { config, dkim, directory, log } = this.deps;
    if (!config.dkim.sign) return raw;
    const domain = authorDomain(raw) ?? (from.includes('@') ? from.slice(from.lastIndexOf('@') + 1) : null);
    if (!domain) return raw;
    // Hosted first: the keyring caches what it reads per domain, and authors' domains are anyone's.
    if (!(await directory.isLocalDomain(domain))) return raw;
    const keys = await dkim.signingKeys(domain);
    if (keys.length === 0) return raw;
    // RFC 6376 section 5.3: a signer turns bare CR and LF into CRLF before signing and signs the message
    // as the verifier receives it. A BINARYMIME body keeps them (RFC 3030), and verifiers disagree on
    // what they mean (mailauth hashes a bare LF as CRLF, Mail::DKIM as it is): such a body goes unsigned.
    const bare = bareLineEnds(raw, false);
    if (bare.lf || bare.cr) {
      const messageId = getField(
        parseHeaderBlock(raw, 0, raw.length, { maxHeaderFields: 1000, maxHeaderLineLength: 998 }, []).fields,
        'message-id',
      );
      log.info({ queueId, messageId, domain }, 'DKIM: not signing a BINARYMIME body with bare CR or LF');
      return raw;
    }
    try {
      return await signMessage(raw, keys, new Date(this.now()));
    } catch (e) {
      // Better unsigned than not sent; the log says why (never the key).
      log.error({ domain, err: (e as Error).message }, 'DKIM signing failed; sending unsigned');
      return raw;
    }
  }

  /** Starts delivering (serve.ts); the CLI only enqueues and inspects. */
  start(): void {
    if (this.runner) return;
    instruments.queueRecipients.addCallback(this.observeQueue);
    const { config, log, blobs, resolver } = this.deps;
    const q = config.queue;
    const sts = q.mta_sts
      ? new MtaSts({
          store: this.deps.store,
          resolver,
          // RFC 8461 section 3.3 suggests a one-minute limit; the delivery of that domain waits for it.
          fetch: { port: q.mta_sts_port, ca: this.ca, timeoutMs: 30_000 },
          log,
          now: this.now,
          onFailure: (domain, type, reason, applied) =>
            this.tlsReports.note({ domain, policy: applied, failure: { type, reason } }),
        })
      : null;
    const daneRequired = new Set(q.dane_required.map((d) => toALabel(d)));
    const dane = q.dane
      ? createSecureLookup({
          nameservers: config.dns.nameservers,
          timeoutMs: config.dns.timeout_ms,
          tries: config.dns.tries,
          trustAd: config.dns.trust_ad,
        })
      : undefined;
    const owner = nodeId(config);
    this.runner = new QueueRunner({
      store: this.deps.store.queue,
      owner,
      leaseMs: this.policy.leaseMs,
      pollMs: this.policy.pollMs,
      concurrency: q.concurrency,
      perDestination: q.destination_concurrency,
      // Nodes sharing a PostgreSQL store count their sessions per domain together; SQLite has one node.
      slots:
        config.store.backend === 'postgres'
          ? new DestinationSlots({
              leases: this.deps.store.leases,
              node: owner,
              perDestination: q.destination_concurrency,
              ttlMs: Math.min(SLOT_TTL_MS, this.policy.leaseMs),
              log,
              now: this.now,
            })
          : undefined,
      policy: this.policy,
      log,
      now: this.now,
      deliver: (domain, entries, signal, deadline, settled) =>
        deliverDomain(
          domain,
          entries,
          {
            resolver,
            port: q.remote_port,
            heloName: config.server.hostname,
            selfNames: [config.server.hostname],
            connectTimeoutMs: q.connect_timeout_ms,
            commandTimeoutMs: q.command_timeout_ms,
            dataDoneTimeoutMs: q.data_done_timeout_ms,
            startTls: q.starttls,
            ca: this.ca,
            maxPerConnection: q.max_messages_per_connection,
            log,
            content: (m) => blobs.get(m.blobHash),
            mtaSts: sts ? (d) => sts.policyFor(d) : undefined,
            tlsReport: this.tlsReports.enabled ? (r) => this.tlsReports.note(r) : undefined,
            dane,
            daneRequired: (d) => daneRequired.has(d.toLowerCase()),
          },
          signal,
          deadline,
          settled,
        ),
      // Throws when the DSN can be neither delivered nor made: the runner then leaves its outcomes unrecorded.
      report: (entry, decisions) => this.makeReport(entry, decisions),
      announce: (rows, results) => this.deps.mail.announce(rows, results),
    });
    this.runner.start();
    // TLS reports of ended periods (one node at a time sends them).
    this.tlsReports.start();
  }

  /** Stops the runner: in-flight deliveries finish within graceMs or are released for retry. */
  async stop(graceMs: number): Promise<void> {
    instruments.queueRecipients.removeCallback(this.observeQueue);
    await Promise.all([this.runner?.stop(graceMs), this.tlsReports.stop()]);
    this.runner = null;
  }

  /** The queue gauge, read when metrics are collected (a scrape or a push): the whole shared queue. */
  private readonly observeQueue = async (result: ObservableResult): Promise<void> => {
    const c = await this.deps.store.queue.counts();
    result.observe(c.recipients - c.deferred, { state: 'new' });
    result.observe(c.deferred, { state: 'deferred' });
  };

  /** Makes queued work due now and wakes the runner (the CLI's retry goes through the store instead). */
  kick(): void {
    this.runner?.kick();
  }

  /**
   * Returns a message to its sender now (`petrel queue bounce`; Postfix's postsuper -e/-f): every recipient not
   * yet done fails (5.0.0) with one DSN for them, and the message is removed in the transaction that queues a
   * remote sender's DSN. A message being delivered now is refused (CONFLICT): the server may be taking it.
   */
  async bounce(queueId: string): Promise<{ recipients: number; dsn: 'queued' | 'delivered' | 'none' }> {
    const { store, config, log } = this.deps;
    const owner = `bounce:${nodeId(config)}:${process.pid}`;
    const now = this.now();
    const entry = await store.queue.leaseMessage(queueId, owner, now, this.policy.leaseMs);
    if (!entry) throw new PetrelError('NOT_FOUND', `no queued message ${queueId}`);
    if (entry === 'busy')
      throw new PetrelError(
        'CONFLICT',
        `${queueId} is being delivered now (it may be taken); try again when that attempt has ended`,
      );
    // Its message is in its recipients' mailboxes: there is nothing to return, only a "delivered" DSN owed.
    if (entry.message.notice) {
      await store.queue.release(owner).catch(() => {});
      throw new PetrelError(
        'INVALID_ARGUMENT',
        `${queueId} is a delivery notice (its message was delivered here); \`petrel queue delete\` drops it`,
      );
    }
    const decisions = entry.recipients.map((r) => bounced(entry.message, r));
    const reported = decisions.filter((d) => d.report);
    let dsn: DsnWrite | null = null;
    try {
      dsn = reported.length ? await this.makeReport(entry, decisions) : null;
    } catch (e) {
      await store.queue.release(owner).catch(() => {});
      throw new PetrelError('UNAVAILABLE', `${queueId}: the DSN could not be made (${(e as Error).message})`);
    }
    const { queued, appended } = await store.queue.update(
      owner,
      decisions.map((d) => d.update),
      dsn ? [{ rcpts: reported.map((d) => d.update.id), ...dsn }] : [],
    );
    if (dsn?.message && queued.length) {
      this.logQueued(dsn.message);
      this.runner?.kick();
    }
    for (const a of appended) this.deps.mail.announce(dsn?.local ?? [], a.results);
    log.info({ queueId, rcpts: decisions.length }, 'queue: bounced by the administrator');
    return {
      recipients: decisions.length,
      dsn: dsn?.message ? 'queued' : reported.length ? 'delivered' : 'none',
    };
  }

  /**
   * Builds the DSN for one message's reportable decisions (RFC 3461 section 5, RFC 3464), as what the
   * transaction that records the outcomes writes with them (once): the rows of a local sender's mailboxes,
   * the queue row to a remote sender.
   */
  private async makeReport(entry: QueueEntry, decisions: Decision[]): Promise<DsnWrite | null> {
    const m = entry.message;
    const { config, log } = this.deps;
    const items: DsnRecipient[] = [];
    for (const d of decisions) {
      if (!d.report) continue;
      const r = entry.recipients.find((x) => x.id === d.update.id)!;
      const fallback = d.report === 'failed' ? '5.0.0' : d.report === 'delayed' ? '4.0.0' : '2.0.0';
      const success = d.report === 'relayed' || d.report === 'delivered';
      items.push({
        address: r.address,
        orcpt: r.orcpt,
        action: d.report,
        status: success ? '2.0.0' : (d.update.lastStatus ?? fallback),
        remoteMta: d.update.remoteMta,
        diagnostic: d.update.lastReply,
        lastAttempt: d.update.lastAttempt,
        willRetryUntil: d.report === 'delayed' ? m.expiresAt : null,
      });
    }
    if (items.length === 0 || m.from === '') return null;
    const original = await this.deps.blobs.get(m.blobHash);
    const failure = items.some((i) => i.action === 'failed');
    // RFC 8689 section 5: a REQUIRETLS message's DSN carries only the header.
    let ret: 'FULL' | 'HDRS' =
      m.requireTls || !failure
        ? m.ret === 'FULL' && !m.requireTls
          ? 'FULL'
          : 'HDRS'
        : (m.ret ?? (original.length <= FULL_RETURN_LIMIT ? 'FULL' : 'HDRS'));
    // A DSN reaches a local sender's mailbox past its quotas (it is our mail), but the message it returns
    // is the sender's: whole only when it fits (RFC 3461 section 4.3 says SHOULD), else only its header.
    if (ret === 'FULL' && (await this.overQuotaHere(m.from, original.length))) ret = 'HDRS';
    const dsn = buildDsn({
      reportingMta: config.server.hostname,
      to: m.from,
      envId: m.envId,
      arrivalDate: m.createdAt,
      recipients: items,
      original,
      ret,
      now: this.now(),
      queueId: m.queueId,
    });
    const route = await this.dsnRoute(m.from, dsn, m.requireTls);
    const write = route.local ? await this.localRows(route.message) : { message: await this.prepare(route.message) };
    log.info({ queueId: m.queueId, to: m.from, actions: items.map((i) => i.action) }, 'queue: DSN made');
    return write;
  }

  /**
   * The notice a local delivery owes for recipients with NOTIFY=SUCCESS (RFC 3461 section 5.2.3: MUST), a
   * queue row to be written in the delivery's own transaction: the runner makes the "delivered" DSN from it
   * and retries that as any DSN (a blob or store error loses nothing). The DSN returns the header unless the
   * sender asked RET=FULL (section 4.3), as Postfix does (makeReport).
   */
  deliveredNotice(n: DeliveredNotice): NewQueuedMessage {
    const queueId = randomBytes(8).toString('hex').toUpperCase();
    this.deps.log.info({ id: n.id, queueId, to: n.from, rcpts: n.recipients.length }, 'queue: delivered DSN owed');
    return {
      queueId,
      from: n.from,
      blobHash: n.content.hash,
      size: n.content.size,
      envId: n.envId ?? null,
      ret: n.ret ?? null,
      smtpUtf8: n.smtpUtf8 ?? false,
      requireTls: n.requireTls ?? false,
      tlsOptional: false,
      bodyType: null,
      accountId: null,
      createdAt: n.arrivalDate,
      expiresAt: n.arrivalDate + this.policy.lifetimeMs,
      warnAt: null,
      notice: true,
      recipients: n.recipients.map((r) => ({
        ...routableAddress(r.address),
        orcpt: r.orcpt ?? null,
        notify: ['SUCCESS'],
      })),
    };
  }

  /**
   * Delivers to a recipient in one of our own domains (its accounts' mailboxes; its aliases' outside
   * targets through the queue); false for another domain. An unknown local address is logged and dropped:
   * only the server's own mail comes this way, and a DSN of it would come back here.
   */
  private async deliverHere(m: OutboundMessage, to: string): Promise<boolean> {
    const { directory, mail, log } = this.deps;
    const at = to.lastIndexOf('@');
    if (at <= 0 || to.startsWith('[', at + 1) || !(await directory.isLocalDomain(to.slice(at + 1)))) return false;
    const res = await directory.resolve(to);
    if (!res) {
      log.warn({ to, from: m.from }, 'queue: mail for an unknown local address dropped');
      return true;
    }
    if (res.accounts.length) {
      const raw = toCrlf(m.raw);
      await mail.deliver(
        raw,
        res.accounts.map((a) => ({
          accountId: a.id,
          prefix: `Return-Path: <${m.from}>\r\nDelivered-To: ${a.address}\r\n`,
          // The server's own mail (DSNs, reports to postmaster@) is never refused for a full mailbox.
          skipQuota: true,
        })),
      );
    }
    if (res.external.length)
      await this.enqueue({ ...m, recipients: res.external.map((address) => ({ address, notify: 'NEVER' })) });
    return true;
  }

  /** Whether `bytes` more for a local address would overrun a quota of an account it reaches. */
  private async overQuotaHere(to: string, bytes: number): Promise<boolean> {
    const { directory, mail } = this.deps;
    const at = to.lastIndexOf('@');
    if (at <= 0 || to.startsWith('[', at + 1) || !(await directory.isLocalDomain(to.slice(at + 1)))) return false;
    const res = await directory.resolve(to);
    if (!res?.accounts.length) return false;
    const levels = await mail.exceededTogether(res.accounts.map((account) => ({ account, bytes, messages: 1 })));
    return levels.some((l) => l !== null);
  }

  /**
   * The DSN as a message with a null reverse-path to the original sender (or to the sender behind an SRS
   * address of ours), and whether that address is in one of our domains.
   */
  private async dsnRoute(
    to: string,
    dsn: Buffer,
    requireTls: boolean,
  ): Promise<{ message: OutboundMessage; local: boolean }> {
    const { directory, srs } = this.deps;
    const at = to.lastIndexOf('@');
    // An SRS address is one of ours (in a hosted domain): the DSN goes to the sender behind it.
    const ours = await directory.isLocalDomain(to.slice(at + 1));
    const back = ours ? (await srs?.())?.reverse(to.slice(0, at), this.now()) : undefined;
    const address = back?.ok ? back.address : to;
    const message: OutboundMessage = { from: '', recipients: [{ address, notify: 'NEVER' }], raw: dsn, requireTls };
    const local = back?.ok ? await directory.isLocalDomain(address.slice(address.lastIndexOf('@') + 1)) : ours;
    return { message, local };
  }

  /**
   * A DSN to an address of our domains as rows of its accounts' mailboxes (the server's own mail: past
   * quotas) and, for an alias's outside targets, a queue row; nothing for an unknown address (logged, as
   * deliverHere drops it: a DSN of the DSN would come back here).
   */
  private async localRows(m: OutboundMessage): Promise<DsnWrite | null> {
    const { directory, mail, log } = this.deps;
    const to = m.recipients[0].address;
    const res = await directory.resolve(to);
    if (!res) {
      log.warn({ to, from: m.from }, 'queue: mail for an unknown local address dropped');
      return null;
    }
    const write: DsnWrite = {};
    if (res.accounts.length)
      write.local = await mail.deliveryRows(
        toCrlf(m.raw),
        res.accounts.map((a) => ({
          accountId: a.id,
          prefix: `Return-Path: <${m.from}>\r\nDelivered-To: ${a.address}\r\n`,
          skipQuota: true,
        })),
      );
    if (res.external.length)
      write.message = await this.prepare({
        ...m,
        recipients: res.external.map((address) => ({ address, notify: 'NEVER' as const })),
      });
    return write.local || write.message ? write : null;
  }

  /** The log line of a message queued (its queue id is the one the mail log names). */
  private logQueued(q: NewQueuedMessage): void {
    this.deps.log.info(
      { queueId: q.queueId, from: q.from, rcpts: q.recipients.length, size: q.size },
      'queue: accepted',
    );
  }
}
