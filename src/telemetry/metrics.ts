// Traces and metrics against @opentelemetry/api: no-ops until an SDK/exporter is registered at startup,
// so protocol code is instrumented once and exporting (OTLP, Prometheus) needs no change there.
import { type Attributes, context, metrics, type Span, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('petrel');

/**
 * The instruments, made from the global meter on first use. The metrics API has no proxy provider: an
 * instrument made before an SDK is registered stays a no-op for good, so telemetry/export.ts registers
 * the SDK and then calls resetInstruments() to have them made again from it.
 */
const makeInstruments = (meter = metrics.getMeter('petrel')) => ({
  connections: meter.createCounter('petrel.connections', { description: 'Connections accepted, by protocol' }),
  activeConnections: meter.createUpDownCounter('petrel.connections.active', {
    description: 'Connections open now, by protocol',
  }),
  rejectedConnections: meter.createCounter('petrel.connections.rejected', {
    description: 'Connections refused by limits, by protocol and reason',
  }),
  commands: meter.createCounter('petrel.commands', { description: 'Commands handled, by protocol, command, outcome' }),
  commandDuration: meter.createHistogram('petrel.command.duration', {
    description: 'Command latency',
    unit: 'ms',
  }),
  deliveries: meter.createCounter('petrel.deliveries', { description: 'Messages delivered to mailboxes, by outcome' }),
  deliveryDuration: meter.createHistogram('petrel.delivery.duration', { description: 'Delivery latency', unit: 'ms' }),
  authAttempts: meter.createCounter('petrel.auth.attempts', { description: 'Authentication attempts, by outcome' }),
  spamVerdicts: meter.createCounter('petrel.spam.verdicts', {
    description: 'Spam pipeline verdicts on mail from the internet, by action (accept, junk, reject, greylist)',
  }),
  spamTrapHits: meter.createCounter('petrel.spam.trap_hits', {
    description: 'Messages from the internet that reached a spam trap, by learned (true, false: an allowed sender)',
  }),
  outboundScans: meter.createCounter('petrel.spam.outbound', {
    description: 'Submitted messages the outbound scan judged, by result (clean, refused, error: sent unscanned)',
  }),
  spamDuration: meter.createHistogram('petrel.spam.duration', {
    description: 'Time of the whole spam pipeline per message',
    unit: 'ms',
  }),
  spamScanFailures: meter.createCounter('petrel.spam.scan.failures', {
    description:
      'Content scans that did not finish, by reason (timeout, lost: a worker died, busy: refused, the queue full)',
  }),
  virusScans: meter.createCounter('petrel.antivirus.scans', {
    description:
      'Messages scanned by clamd, by result (clean, infected, error: unscanned) and source (inbound, submission)',
  }),
  outboundSessions: meter.createCounter('petrel.outbound.sessions', {
    description:
      'SMTP sessions opened to other servers, by tls (none, unverified, verified, dane), policy (none, sts, tlsa) and result (ok or why the session could not carry mail)',
  }),
  queueRecipients: meter.createObservableGauge('petrel.queue.recipients', {
    description:
      'Recipients waiting in the outbound queue, by state (new: not tried yet; deferred: tried and retried later)',
  }),
});

type Instruments = ReturnType<typeof makeInstruments>;
let made: Instruments | null = null;

export const instruments: Instruments = new Proxy({} as Instruments, {
  get: (_, key: keyof Instruments) => {
    made ??= makeInstruments();
    return made[key];
  },
});

/** Makes the instruments again from the meter provider registered now (telemetry/export.ts). */
export function resetInstruments(): void {
  made = null;
}

/** Starts the span that covers one connection. */
export function connectionSpan(protocol: string, attrs: Attributes): Span {
  return tracer.startSpan(`${protocol}.connection`, { attributes: { 'petrel.protocol': protocol, ...attrs } });
}

/**
 * Runs one command inside a span and records its count and latency. The outcome attribute is what the
 * command returned ('ok', 'no', 'bad', ...) or 'error' when it threw.
 */
export async function instrumentCommand<T>(
  protocol: string,
  command: string,
  parent: Span | undefined,
  fn: () => Promise<T>,
  outcomeOf: (v: T) => string = () => 'ok',
): Promise<T> {
  const start = performance.now();
  const ctx = parent ? trace.setSpan(context.active(), parent) : undefined;
  const span = tracer.startSpan(`${protocol}.${command.toLowerCase()}`, undefined, ctx);
  let outcome = 'error';
  try {
    const v = await fn();
    outcome = outcomeOf(v);
    return v;
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw e;
  } finally {
    span.setAttribute('petrel.outcome', outcome);
    span.end();
    const attrs = { protocol, command: command.toUpperCase(), outcome };
    instruments.commands.add(1, attrs);
    instruments.commandDuration.record(performance.now() - start, attrs);
  }
}

/** Runs fn inside a span named `name` (delivery, queue runs, background jobs). */
export async function withSpan<T>(name: string, attrs: Attributes, fn: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name, { attributes: attrs });
  try {
    return await fn();
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw e;
  } finally {
    span.end();
  }
}
