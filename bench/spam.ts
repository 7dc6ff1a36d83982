// Spam filter accuracy and speed: Petrel's content pipeline (Bayes trained on TRAIN, network off) against
// SpamAssassin 4 (Bayes trained with sa-learn on the same TRAIN, local tests only, through spamd/spamc)
// and rspamd 3.4 (Bayes in Redis learned through its controller, network modules off: bench/lib/rspamd.ts),
// all scoring the same TEST messages of the SpamAssassin public corpus in one run.
//
//   node bench/spam.ts            full run (Petrel, SpamAssassin, rspamd), prints the table
//   node bench/spam.ts --no-sa    without SpamAssassin; --no-rspamd without rspamd
//   node bench/spam.ts --cv       4-fold cross-validation inside TRAIN (for tuning; TEST is never read)
//   node bench/spam.ts --cv-pipeline  the whole content pipeline, 4 folds inside TRAIN, and what each
//                                 symbol that fired does to false positives and misses (TEST never read);
//                                 with --dump, each held-out error's score and symbols
//   node bench/spam.ts --no-pool  without the second Petrel run (the server's way: scan workers, 16 in flight)
//   node bench/spam.ts --errors   also prints each TEST message Petrel gets wrong with its symbols (to find
//                                 which change moved a verdict; tuning on TEST is not allowed)
//
// Split: a message is in TEST when the first hex digit of the md5 in its file name is 0-4, else in TRAIN.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { defaults } from '../src/config/load.ts';
import { parseMessage } from '../src/mime/parse.ts';
import { openApp } from '../src/server/app.ts';
import { bayesSymbol } from '../src/spam/bayes/check.ts';
import { BayesClassifier } from '../src/spam/bayes/classifier.ts';
import { type ClassifyParams, classify, DEFAULT_PARAMS } from '../src/spam/bayes/classify.ts';
import { bayesFromConfig } from '../src/spam/bayes/index.ts';
import { buildChecks } from '../src/spam/checks/index.ts';
import { checkLocal } from '../src/spam/local-check.ts';
import { crlf, messagesInFile } from '../src/spam/mbox.ts';
import { ContentScanPool } from '../src/spam/scan/pool.ts';
import { scanOptions } from '../src/spam/scan/scanner.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { freePort, waitPort } from '../test/helpers/peers.ts';
import { corpusDir } from './lib/corpus.ts';
import { startRspamd } from './lib/rspamd.ts';

const run = promisify(execFile);
const args = new Set(process.argv.slice(2));

interface Item {
  file: string;
  group: string;
  spam: boolean;
  hard: boolean;
  md5: string;
}

function corpusItems(): Item[] {
  const dir = corpusDir();
  const out: Item[] = [];
  for (const group of readdirSync(dir).sort()) {
    if (group.includes('.')) continue;
    for (const f of readdirSync(join(dir, group)).sort())
      if (f.endsWith('.txt'))
        out.push({
          file: join(dir, group, f),
          group,
          spam: group.startsWith('spam'),
          hard: group.startsWith('hard-ham'),
          md5: f.split('.')[1],
        });
  }
  return out;
}

const inTest = (it: Item) => Number.parseInt(it.md5[0], 16) <= 4;
const load = (it: Item) => messagesInFile(readFileSync(it.file))[0];

interface Tally {
  spam: number;
  ham: number;
  hardHam: number;
  tp: number;
  fp: number;
  fpHard: number;
}

function tally(items: Item[], flagged: boolean[]): Tally {
  const t: Tally = { spam: 0, ham: 0, hardHam: 0, tp: 0, fp: 0, fpHard: 0 };
  items.forEach((it, i) => {
    if (it.spam) {
      t.spam++;
      if (flagged[i]) t.tp++;
    } else {
      t.ham++;
      if (it.hard) t.hardHam++;
      if (flagged[i]) {
        t.fp++;
        if (it.hard) t.fpHard++;
      }
    }
  });
  return t;
}

function metrics(t: Tally) {
  const recall = t.tp / t.spam;
  const precision = t.tp + t.fp === 0 ? 1 : t.tp / (t.tp + t.fp);
  return {
    recall: 100 * recall,
    fpRate: (100 * t.fp) / t.ham,
    fpHardRate: (100 * t.fpHard) / t.hardHam,
    precision: 100 * precision,
    f1: (100 * 2 * precision * recall) / (precision + recall),
  };
}

const pct = (x: number, d = 2) => `${x.toFixed(d)}%`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function openBenchApp(dir: string) {
  const config = defaults();
  config.server.data_dir = dir;
  return openApp(config, silentLogger);
}

/** Trains the global table on TRAIN through the same classifier `petrel spam train` uses. */
async function trainPetrel(classifier: BayesClassifier, scope: number, items: Item[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < items.length; i += 200) {
    const batch = items.slice(i, i + 200).map((it) => {
      const raw = load(it);
      return classifier.learnItem(raw, parseMessage(raw), it.spam ? 'spam' : 'ham');
    });
    await classifier.learnMany(scope, batch);
  }
  return performance.now() - t0;
}

// ---- cross-validation inside TRAIN: tune tokenizer and thresholds without looking at TEST ----

async function crossValidate(train: Item[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bench-spam-cv-'));
  const app = await openBenchApp(dir);
  try {
    // The grid: --grid "s,x,minDev,maxTokens;..." or a default sweep around SpamBayes' defaults.
    const spec = process.argv.find((a) => a.startsWith('--grid='))?.slice(7);
    const grid: ClassifyParams[] = [];
    if (spec)
      for (const g of spec.split(';')) {
        const [strength, unknown, minDeviation, maxTokens] = g.split(',').map(Number);
        grid.push({ strength, unknown, minDeviation, maxTokens });
      }
    else
      for (const strength of [0.1, 0.45, 1])
        for (const minDeviation of [0.1, 0.2, 0.3])
          for (const maxTokens of [150, 300, 1000]) grid.push({ strength, unknown: 0.5, minDeviation, maxTokens });
    const probs: number[][] = grid.map(() => []);
    const ordered: Item[] = [];
    for (let fold = 0; fold < 4; fold++) {
      const scope = 1000 + fold;
      const held = train.filter((it) => Number.parseInt(it.md5[1], 16) % 4 === fold);
      const rest = train.filter((it) => Number.parseInt(it.md5[1], 16) % 4 !== fold);
      const c = new BayesClassifier(app.store.bayes, { minLearns: 1, accountMinLearns: 1, accountWeight: 0.5 });
      await trainPetrel(c, scope, rest);
      const totals = await app.store.bayes.totals(scope);
      for (const it of held) {
        const raw = load(it);
        const tokens = c.tokens(raw, parseMessage(raw));
        const counts = await app.store.bayes.counts(scope, tokens);
        for (let g = 0; g < grid.length; g++)
          probs[g].push(classify(tokens, [{ counts, totals, weight: 1 }], grid[g]).probability);
        ordered.push(it);
      }
      console.error(`fold ${fold}: trained ${rest.length}, scored ${held.length}`);
    }
    console.log('strength minDev maxTokens | cutoff: FP(ham) FP(hard) FN(spam) of ham/spam');
    const ham = ordered.filter((i) => !i.spam).length;
    const spam = ordered.length - ham;
    grid.forEach((p, g) => {
      const cols = [0.5, 0.7, 0.9, 0.99].map((cut) => {
        const t = tally(
          ordered,
          probs[g].map((x) => x >= cut),
        );
        return `${cut}: ${t.fp} ${t.fpHard} ${t.spam - t.tp}`;
      });
      console.log(
        `${p.strength} x=${p.unknown} ${p.minDeviation} ${p.maxTokens} | ${cols.join(' | ')}   (${ham} ham, ${spam} spam)`,
      );
    });
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the whole content pipeline, cross-validated inside TRAIN: judge a check before it ships ----

async function crossValidatePipeline(train: Item[]): Promise<void> {
  const scored: { it: Item; score: number; symbols: Map<string, number>; forced: boolean }[] = [];
  let junk = 6;
  for (let fold = 0; fold < 4; fold++) {
    const dir = mkdtempSync(join(tmpdir(), 'petrel-bench-spam-cvp-'));
    const app = await openBenchApp(dir);
    try {
      junk = app.config.spam.junk_score;
      const held = train.filter((it) => Number.parseInt(it.md5[1], 16) % 4 === fold);
      const rest = train.filter((it) => Number.parseInt(it.md5[1], 16) % 4 !== fold);
      await trainPetrel(bayesFromConfig(app.store, app.config), 0, rest);
      const checks = buildChecks({ store: app.store, resolver: app.resolver, config: app.config, log: silentLogger });
      for (const it of held) {
        const v = await checkLocal(load(it), { checks, config: app.config });
        const symbols = new Map(v.symbols.filter((x) => x.score !== 0).map((x) => [x.name, x.score]));
        scored.push({
          it,
          score: v.score,
          symbols,
          forced: v.symbols.some((x) => x.force === 'junk' || x.force === 'reject'),
        });
      }
      console.error(`fold ${fold}: trained ${rest.length}, scored ${held.length}`);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const count = (without?: string) => {
    const flagged = scored.map((x) => x.forced || x.score - (without ? (x.symbols.get(without) ?? 0) : 0) >= junk);
    const t = tally(
      scored.map((x) => x.it),
      flagged,
    );
    return `${t.fp} FP (${t.fpHard} hard) / ${t.spam - t.tp} missed`;
  };
  if (args.has('--dump'))
    for (const x of scored)
      if (x.it.spam ? !(x.forced || x.score >= junk) : x.forced || x.score >= junk)
        console.log(x.it.spam ? 'MISSED' : 'FP', x.score, JSON.stringify([...x.symbols]), x.it.group);
  console.log(`the pipeline at junk_score ${junk}, ${scored.length} TRAIN messages held out in 4 folds: ${count()}`);
  const fired = new Map<string, { ham: number; spam: number }>();
  for (const x of scored)
    for (const name of x.symbols.keys()) {
      const f = fired.get(name) ?? { ham: 0, spam: 0 };
      f[x.it.spam ? 'spam' : 'ham']++;
      fired.set(name, f);
    }
  for (const [name, f] of [...fired].sort((a, b) => a[0].localeCompare(b[0])))
    console.log(`  without ${name} (fired on ${f.ham} ham, ${f.spam} spam): ${count(name)}`);
}

// ---- SpamAssassin: private config, Bayes database and spamd ----

async function spamAssassin(train: Item[], test: Item[], work: string) {
  const site = join(work, 'sa-site');
  const home = join(work, 'sa-home');
  const db = join(work, 'sa-bayes');
  for (const d of [site, home, db]) mkdirSync(d, { recursive: true });
  // Plugin loading (.pre) as Debian ships it; our own local.cf; /etc is only read.
  for (const f of readdirSync('/etc/spamassassin'))
    if (f.endsWith('.pre')) copyFileSync(`/etc/spamassassin/${f}`, join(site, f));
  writeFileSync(
    join(site, 'local.cf'),
    `use_bayes 1\nbayes_auto_learn 0\nbayes_path ${db}/bayes\nbayes_file_mode 0777\nlock_method flock\n`,
  );
  for (const cls of ['spam', 'ham']) {
    const d = join(work, `sa-train-${cls}`);
    mkdirSync(d);
    for (const it of train.filter((i) => i.spam === (cls === 'spam')))
      symlinkSync(it.file, join(d, `${it.group}.${basename(it.file)}`));
  }
  const common = ['--siteconfigpath', site, '--dbpath', db, '-L'];
  const t0 = performance.now();
  for (const cls of ['spam', 'ham'])
    await run('sa-learn', [...common, `--${cls}`, join(work, `sa-train-${cls}`)], {
      env: { ...process.env, HOME: home },
      maxBuffer: 1 << 24,
    });
  const trainMs = performance.now() - t0;
  const { stdout: dump } = await run('sa-learn', [...common, '--dump', 'magic'], {
    env: { ...process.env, HOME: home },
  });
  const nspam = /(\d+)\s+0\s+non-token data: nspam/.exec(dump)?.[1];
  const nham = /(\d+)\s+0\s+non-token data: nham/.exec(dump)?.[1];
  console.error(`sa-learn: nspam=${nspam} nham=${nham} in ${(trainMs / 1000).toFixed(1)} s`);

  const port = await freePort();
  const children = cpus().length;
  const spamd: ChildProcess = spawn(
    'spamd',
    [
      '-L',
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '--siteconfigpath',
      site,
      '--helper-home-dir',
      home,
      '-u',
      'nobody',
      '--max-children',
      String(children),
      '--min-children',
      String(children),
      '--pidfile',
      join(work, 'spamd.pid'),
      '-s',
      'stderr',
      '--nouser-config',
    ],
    { env: { ...process.env, HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let spamdLog = '';
  spamd.stderr?.on('data', (d) => {
    spamdLog += d;
  });
  // spamd runs as nobody: it must read the database and its home.
  await run('chmod', ['-R', 'a+rwX', work]);
  await run('chmod', ['a+x', tmpdir()]).catch(() => undefined);
  try {
    await waitPort(port, '127.0.0.1', 60_000);
    const flagged: boolean[] = new Array(test.length).fill(false);
    const lat: number[] = [];
    let next = 0;
    const t1 = performance.now();
    // As many spamc clients as spamd children: SpamAssassin gets every core.
    await Promise.all(
      Array.from({ length: children }, async () => {
        while (next < test.length) {
          const i = next++;
          const s = performance.now();
          const out = await new Promise<string>((resolve, reject) => {
            const p = spawn('spamc', ['-d', '127.0.0.1', '-p', String(port), '-c', '-x']);
            let o = '';
            p.stdout.on('data', (d) => {
              o += d;
            });
            p.on('error', reject);
            p.on('close', () => resolve(o));
            p.stdin.end(readFileSync(test[i].file));
          });
          lat.push(performance.now() - s);
          const [score, req] = out.trim().split('/').map(Number);
          if (!Number.isFinite(score)) throw new Error(`spamc answered "${out}"\n${spamdLog.slice(-2000)}`);
          flagged[i] = score >= req;
        }
      }),
    );
    const ms = performance.now() - t1;
    return { flagged, ms, lat, trainMs, children };
  } finally {
    spamd.kill('SIGTERM');
  }
}

/** rspamd on TRAIN and TEST: learned through its controller, scored by as many workers as cores, 16 in flight. */
async function rspamd(train: Item[], test: Item[], work: string) {
  const r = await startRspamd(work, cpus().length);
  try {
    const t0 = performance.now();
    // One message after the other, in corpus order: rspamd's learn condition skips a message its table
    // already puts in the right class, so what is learned depends on the order; in sequence it is the same
    // every run.
    const statuses = new Map<number, number>();
    for (const it of train) {
      const status = await r.learn(load(it), it.spam ? 'spam' : 'ham');
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const trainMs = performance.now() - t0;
    console.error(
      `rspamd learned TRAIN in ${(trainMs / 1000).toFixed(1)} s; answers: ${JSON.stringify([...statuses])}`,
    );
    const raws = test.map(load);
    for (const it of train.slice(0, 50)) await r.check(load(it)); // warm-up on TRAIN, as for Petrel
    const flagged: boolean[] = new Array(raws.length);
    const lat: number[] = [];
    let next = 0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < raws.length; i = next++) {
          const s = performance.now();
          flagged[i] = (await r.check(raws[i])).spam;
          lat.push(performance.now() - s);
        }
      }),
    );
    return { flagged, ms: performance.now() - t1, lat, trainMs, workers: r.workers };
  } finally {
    r.stop();
  }
}

/**
 * TEST scored as the server scores it: content scans on the worker pool (spam/scan/pool.ts), 16 messages
 * in flight (as from concurrent SMTP sessions). Same checks, same table; the verdicts must not change.
 */
async function scorePooled(app: Awaited<ReturnType<typeof openBenchApp>>, raws: Buffer[], train: Item[]) {
  const pool = new ContentScanPool({
    workers: app.config.spam.scan.workers,
    timeoutMs: app.config.spam.scan.timeout_ms,
    maxMemoryMb: app.config.spam.scan.max_memory_mb,
    scan: scanOptions(app.config),
  });
  try {
    const checks = buildChecks({
      store: app.store,
      resolver: app.resolver,
      config: app.config,
      log: silentLogger,
      scanner: pool,
    });
    for (const it of train.slice(0, 200)) await checkLocal(load(it), { checks, config: app.config });
    const flagged: boolean[] = new Array(raws.length);
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < raws.length; i = next++) {
          const s = performance.now();
          const v = await checkLocal(raws[i], { checks, config: app.config });
          lat.push(performance.now() - s);
          flagged[i] = v.action === 'junk' || v.action === 'reject';
        }
      }),
    );
    const ms = performance.now() - t0;
    assert.equal(pool.replaced, 0, 'no scan may time out or fail in the benchmark');
    return { flagged, ms, lat, workers: pool.size };
  } finally {
    await pool.close();
  }
}

async function main(): Promise<void> {
  const items = corpusItems();
  const test = items.filter(inTest);
  const train = items.filter((i) => !inTest(i));
  const testHam = test.filter((i) => !i.spam);
  assert.equal(testHam.length, 1255, 'TEST ham');
  assert.equal(testHam.filter((i) => i.hard).length, 66, 'TEST hard ham');
  assert.equal(test.filter((i) => i.spam).length, 577, 'TEST spam');
  console.error(`TRAIN ${train.length} (${train.filter((i) => i.spam).length} spam), TEST ${test.length}`);
  if (args.has('--cv')) return crossValidate(train);
  if (args.has('--cv-pipeline')) return crossValidatePipeline(train);

  // The peers, before any work: a missing one says how to get it instead of failing minutes later.
  const needed = [
    ...(args.has('--no-sa')
      ? []
      : [
          ['spamd', 'spamassassin'],
          ['spamc', 'spamc'],
          ['sa-learn', 'spamassassin'],
        ]),
    ...(args.has('--no-rspamd')
      ? []
      : [
          ['rspamd', 'rspamd'],
          ['redis-cli', 'redis-tools'],
        ]),
  ];
  for (const [program, pkg] of needed)
    if (spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0)
      throw new Error(`${program} not installed: apt-get install ${pkg} (or run with --no-sa / --no-rspamd)`);
  const work = mkdtempSync(join(tmpdir(), 'petrel-bench-spam-'));
  try {
    const app = await openBenchApp(join(work, 'petrel'));
    let petrel: { flagged: boolean[]; ms: number; lat: number[]; trainMs: number };
    let pooled: { flagged: boolean[]; ms: number; lat: number[]; workers: number } | null = null;
    try {
      const trainMs = await trainPetrel(bayesFromConfig(app.store, app.config), 0, train);
      const checks = buildChecks({ store: app.store, resolver: app.resolver, config: app.config, log: silentLogger });
      const raws = test.map(load);
      const flagged: boolean[] = [];
      const lat: number[] = [];
      // Warm-up (JIT, page cache) on TRAIN messages, not TEST.
      for (const it of train.slice(0, 50)) await checkLocal(load(it), { checks, config: app.config });
      const t0 = performance.now();
      for (const raw of raws) {
        const s = performance.now();
        const v = await checkLocal(raw, { checks, config: app.config });
        lat.push(performance.now() - s);
        flagged.push(v.action === 'junk' || v.action === 'reject');
        // --errors: what Petrel got wrong, for finding which change moved a verdict (never for tuning).
        const i = flagged.length - 1;
        if (args.has('--errors') && flagged[i] !== test[i].spam)
          console.log(
            `${test[i].spam ? 'missed' : 'false positive'} ${test[i].file} ${v.score.toFixed(1)} ` +
              v.symbols.map((x) => `${x.name}=${x.score}`).join(' '),
          );
      }
      petrel = { flagged, ms: performance.now() - t0, lat, trainMs };
      if (!args.has('--no-pool')) pooled = await scorePooled(app, raws, train);
    } finally {
      await app.close();
    }
    const rows: [string, ReturnType<typeof metrics>, Tally, number, number, number][] = [];
    const pt = tally(test, petrel.flagged);
    rows.push([
      'Petrel (1 process, sequential)',
      metrics(pt),
      pt,
      test.length / (petrel.ms / 1000),
      median(petrel.lat),
      petrel.trainMs,
    ]);
    if (pooled) {
      const t = tally(test, pooled.flagged);
      rows.push([
        `Petrel (${pooled.workers} scan workers, 16 in flight)`,
        metrics(t),
        t,
        test.length / (pooled.ms / 1000),
        median(pooled.lat),
        petrel.trainMs,
      ]);
    }
    if (!args.has('--no-sa')) {
      const sa = await spamAssassin(train, test, work);
      const st = tally(test, sa.flagged);
      rows.push([
        `SpamAssassin 4.0.1 (spamd, ${sa.children} children)`,
        metrics(st),
        st,
        test.length / (sa.ms / 1000),
        median(sa.lat),
        sa.trainMs,
      ]);
    }
    if (!args.has('--no-rspamd')) {
      const rs = await rspamd(train, test, work);
      const t = tally(test, rs.flagged);
      rows.push([
        `rspamd 3.4 (${rs.workers} workers, 16 in flight)`,
        metrics(t),
        t,
        test.length / (rs.ms / 1000),
        median(rs.lat),
        rs.trainMs,
      ]);
    }
    console.log(
      '| | spam recall | FP rate (ham) | FP rate (hard ham) | precision | F1 | msgs/s | median latency | training |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const [name, m, t, rate, med, tr] of rows)
      console.log(
        `| ${name} | ${pct(m.recall)} (${t.tp}/${t.spam}) | ${pct(m.fpRate)} (${t.fp}/${t.ham}) | ${pct(m.fpHardRate, 1)} (${t.fpHard}/${t.hardHam}) | ${pct(m.precision)} | ${m.f1.toFixed(2)} | ${rate.toFixed(0)} | ${med.toFixed(2)} ms | ${(tr / 1000).toFixed(1)} s |`,
      );
    void DEFAULT_PARAMS;
    void bayesSymbol;
    void crlf;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
