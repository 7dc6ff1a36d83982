// Metrics export: the OpenTelemetry SDK's meter provider with a Prometheus reader, registered once per
// process when [metrics] is on, and served at /metrics on the HTTP listener. Protocol code is untouched:
// it records on the instruments of telemetry/metrics.ts, which this turns from no-ops into real ones.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { resetInstruments } from './metrics.ts';

let exporter: PrometheusExporter | null = null;

/**
 * Registers the SDK (the first call in a process; the global provider cannot be replaced, so later calls,
 * e.g. a second server in one test process, share it) and returns the handler that serves the text format.
 */
export function enableMetrics(): (req: IncomingMessage, res: ServerResponse) => void {
  if (!exporter) {
    const e = new PrometheusExporter({ preventServerStart: true });
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [e] }));
    resetInstruments();
    exporter = e;
  }
  const ex = exporter;
  return (req, res) => ex.getMetricsRequestHandler(req, res);
}

const loopback = (ip: string | undefined) => !!ip && (/^(::ffff:)?127\./.test(ip) || ip === '::1');

/**
 * GET /metrics for scrapers: with `token` set, only a request carrying "Authorization: Bearer <token>";
 * without one, only clients on this host (least privilege: counters tell an outsider about our traffic).
 */
export function metricsRoute(
  token: string,
  serve: (req: IncomingMessage, res: ServerResponse) => void,
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
    } else if (!loopback(req.socket.remoteAddress)) {
      res.writeHead(403).end();
      return;
    }
    serve(req, res);
  };
}
