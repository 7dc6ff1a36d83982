// The spam filter's instruments on the telemetry seam (@opentelemetry/api): a recording meter provider,
// registered before the server's modules load (metrics.getMeter is not a proxy), sees one verdict per
// message by action, the pipeline's duration, and content scans stopped at their time limit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { metrics } from '@opentelemetry/api';

type Point = { value: number; attrs: Record<string, unknown> };
const points = new Map<string, Point[]>();
const instrument = (name: string) => {
  const rec = (value: number, attrs: Record<string, unknown> = {}) => {
    const list = points.get(name) ?? [];
    list.push({ value, attrs });
    points.set(name, list);
  };
  return { add: rec, record: rec, addCallback() {}, removeCallback() {} };
};
const meter = {
  createCounter: instrument,
  createUpDownCounter: instrument,
  createHistogram: instrument,
  createGauge: instrument,
  createObservableGauge: instrument,
  createObservableCounter: instrument,
  createObservableUpDownCounter: instrument,
  addBatchObservableCallback() {},
  removeBatchObservableCallback() {},
};
metrics.setGlobalMeterProvider({ getMeter: () => meter } as never);

const { message, send, startSpamWorld } = await import('./fixture.ts');
type World = Awaited<ReturnType<typeof startSpamWorld>>;

const total = (name: string, attrs: Record<string, unknown>) =>
  (points.get(name) ?? [])
    .filter((p) => Object.entries(attrs).every(([k, v]) => p.attrs[k] === v))
    .reduce((a, p) => a + p.value, 0);

let f: World;
let slow: World;
before(async () => {
  f = await startSpamWorld({});
  slow = await startSpamWorld({ configure: (c) => (c.spam.scan.timeout_ms = 1) });
  await slow.app.spamScanner.ready();
});
after(async () => {
  await f.stop();
  await slow.stop();
});

test('each message counts one verdict by action, and the pipeline time', async () => {
  const before = total('petrel.spam.verdicts', { action: 'accept' });
  const durations = points.get('petrel.spam.duration')?.length ?? 0;
  for (const n of [1, 2]) {
    const r = await send(f, {
      ip: '127.0.0.1',
      helo: 'mx.sender.test',
      from: 'a@sender.test',
      raw: message('a@sender.test', `hello ${n}`),
    });
    assert.equal(r.code, 250, r.response);
  }
  assert.equal(total('petrel.spam.verdicts', { action: 'accept' }), before + 2);
  const d = points.get('petrel.spam.duration') ?? [];
  assert.equal(d.length, durations + 2);
  assert.ok(d.every((p) => p.value >= 0 && p.value < 60_000));
});

test('a content scan stopped at its limit is counted', async () => {
  const body = `${'a. '.repeat(400_000)}\r\n`;
  const r = await send(slow, {
    ip: '127.0.0.1',
    helo: 'mx.sender.test',
    from: 'a@sender.test',
    raw: message('a@sender.test', 'big', '', body),
  });
  assert.equal(r.code, 250, r.response);
  assert.ok(total('petrel.spam.scan.failures', { reason: 'timeout' }) >= 1);
});
