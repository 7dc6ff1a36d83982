// Telemetry export: the OpenTelemetry SDK behind the API calls protocol code makes (telemetry/metrics.ts).
// Registered once per process at startup when configured: metrics read by Prometheus at /metrics on the
// HTTP listener ([metrics]) and/or pushed with traces to an OTLP/HTTP collector ([otlp]). Protocol code is
// untouched: its instruments turn from no-ops into real ones, its spans get exported.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, type MetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { requestClient } from '../http/server.ts';
import { resetInstruments } from './metrics.ts';

export interface TelemetryOptions {
  /** Serve Prometheus metrics ([metrics] enabled). */
  prometheus: boolean;
  /** OTLP/HTTP collector base URL ("http://collector:4318"); '' for none. */
  otlpEndpoint: string;
  /** Extra HTTP headers for the collector (e.g. an API key), "Name: value". */
  otlpHeaders: string[];
  /** How often metrics are pushed to the collector. */
  otlpIntervalMs: number;
  hostname: string;
}

export interface Telemetry {
  /** The /metrics handler, when Prometheus is on. */
  prometheus: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  /** Sends what is buffered (spans, the last metrics); at shutdown. */
  flush(): Promise<void>;
}

let registered: { telemetry: Telemetry; key: string } | null = null;

function headers(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  return out;
}

/**
 * Registers the SDK as `o` asks. The global providers cannot be replaced once set, so the first call in a
 * process decides (a second server in one test process gets the same; a different ask is an error).
 */
export function setupTelemetry(o: TelemetryOptions): Telemetry {
  const key = JSON.stringify(o);
  if (registered) {
    if (registered.key !== key) throw new Error('telemetry is already set up differently in this process');
    return registered.telemetry;
  }
  const resource = resourceFromAttributes({ 'service.name': 'petrel', 'host.name': o.hostname });
  const readers: MetricReader[] = [];
  let prometheus: PrometheusExporter | null = null;
  if (o.prometheus) readers.push((prometheus = new PrometheusExporter({ preventServerStart: true })));
  const base = o.otlpEndpoint.replace(/\/+$/, '');
  const otlpHeaders = headers(o.otlpHeaders);
  if (base)
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics`, headers: otlpHeaders }),
        exportIntervalMillis: o.otlpIntervalMs,
        exportTimeoutMillis: Math.min(30_000, o.otlpIntervalMs),
      }),
    );
  const meters = readers.length ? new MeterProvider({ resource, readers }) : null;
  if (meters) {
    metrics.setGlobalMeterProvider(meters);
    resetInstruments();
  }
  const tracer = base
    ? new TracerProvider({
        resource,
        spanProcessors: [
          new BatchSpanProcessor({
            exporter: new OTLPTraceExporter({ url: `${base}/v1/traces`, headers: otlpHeaders }),
            scheduledDelayMillis: Math.min(5000, o.otlpIntervalMs),
          }),
        ],
      })
    : null;
  if (tracer) trace.setGlobalTracerProvider(tracer);
  const p = prometheus;
  const telemetry: Telemetry = {
    prometheus: p ? (req, res) => p.getMetricsRequestHandler(req, res) : null,
    async flush() {
      await Promise.allSettled([tracer?.forceFlush(), meters?.forceFlush()]);
    },
  };
  registered = { telemetry, key };
  return telemetry;
}

const loopback = (ip: string | undefined) => !!ip && (/^(::ffff:)?127\./.test(ip) || ip === '::1');

/**
 * GET /metrics for scrapers: with `token` set, only a request carrying "Authorization: Bearer <token>";
 * without one, only clients on this host (least privilege: counters tell an outsider about our traffic).
 * Behind a trusted reverse proxy (oauth.trust_proxy) on this host every request comes from loopback, so
 * the client the proxy names (the last X-Forwarded-For entry) must be on this host too; the socket must
 * still be loopback, so a client that reaches the listener directly cannot claim 127.0.0.1 in the header.
 */
export function metricsRoute(
  token: string,
  serve: (req: IncomingMessage, res: ServerResponse) => void,
  trustProxy = false,
): (req: IncomingMessage, res: ServerResponse) => void {
  const want = Buffer.from(`Bearer ${token}`);
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (token) {
      const got = Buffer.from(String(req.headers.authorization ?? ''));
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"' }).end();
        return;
      }
    } else if (!loopback(req.socket.remoteAddress) || !loopback(requestClient(req, trustProxy))) {
      res.writeHead(403).end();
      return;
    }
    serve(req, res);
  };
}
