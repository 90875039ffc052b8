#!/usr/bin/env node
/**
 * bench/power-loss — what a power-loss crash round costs against a process crash round on the same stack.
 *
 * Runs `check` through dist/cli.js on PostgreSQL (defaults, a psql insert loop as the load) with crash-kind
 * process and crash-kind power-loss, alternating, BENCH_RUNS times each, the same crash-seed (so the same
 * times under load), and prints side by side from each report: the set-up (power-loss: stop, copy-in, bind,
 * start), the load's throughput (acknowledged writes per second under load), the recovery (SIGKILL to healthy;
 * power-loss: the cut and journal recovery included), and the ratios power-loss / process.
 *
 * A shared 2-core machine is noisy: compare within one run only. Env: BENCH_RUNS (2), BENCH_ROUNDS (2),
 * BENCH_CLI (dist/cli.js), CP_POSTGRES_IMAGE (local/postgres:15). Needs root (or sudo -n), /dev/fuse, a loop
 * device. Every stack carries a unique project name and is torn down by the CLI.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.resolve(process.env.BENCH_CLI ?? path.join(ROOT, 'dist', 'cli.js'));
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 2));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const STACK = path.join(ROOT, '__tests__/fixtures/stacks/crash-postgres/compose.yml');
const SEED = '4242';

const log = (text) => process.stderr.write(`${text}\n`);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length ? (sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2) : NaN;
};

function check(kind) {
  const project = `cpbench-power-${kind}-${randomBytes(3).toString('hex')}`;
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [
      CLI,
      'check',
      '-f',
      STACK,
      '--project-name',
      project,
      '--exec',
      'db: psql -U postgres -qc "create table t (id bigserial primary key)"',
      '--load',
      'db: while true; do psql -U postgres -qAtc "insert into t default values returning id"; done',
      '--acknowledged',
      'db: psql -U postgres -qAtc "select id from t"',
      '--probes',
      'db: psql -U postgres -tAc "select 1"',
      '--crash-kind',
      kind,
      '--crash-rounds',
      String(ROUNDS),
      '--crash-seed',
      SEED,
      '--restart-modes',
      'restart',
      '--check-files',
      'off',
      '--layer-audit',
      'off',
      '--archive-to',
      'none',
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env } },
  );
  const report = JSON.parse(result.stdout);
  const crash = report.crashLoad;
  if (!crash || report.result !== 'passed')
    throw new Error(`${kind} run did not pass: ${report.failures?.join('; ')}`);
  return {
    totalMs: Date.now() - started,
    crashPhaseMs: report.timings['crash-load'],
    setupMs: crash.power?.setupMs ?? 0,
    copyMs: crash.power?.places.reduce((s, p) => s + p.copyMs, 0) ?? 0,
    copiedMiB: (crash.power?.places.reduce((s, p) => s + p.bytes, 0) ?? 0) / 1024 ** 2,
    throughput: crash.rounds.map((r) => (r.acknowledged * 1000) / Math.max(1, r.loadMs)),
    recoveryMs: crash.rounds.map((r) => r.recoveryMs),
    remountMs: crash.rounds.map((r) => r.powerCut?.remountMs ?? 0),
  };
}

const runs = { process: [], 'power-loss': [] };
for (let i = 0; i < RUNS; i++) {
  for (const kind of ['process', 'power-loss']) {
    log(`run ${i + 1}/${RUNS}: ${kind} (load average ${loadavg()[0].toFixed(1)})`);
    runs[kind].push(check(kind));
  }
}

const figure = (kind, pick) => median(runs[kind].flatMap(pick));
const rows = [
  ['crash phase (s)', (r) => r.crashPhaseMs / 1000],
  ['set-up: stop, copy-in, bind, start (s)', (r) => r.setupMs / 1000],
  ['  of which copy-in (s)', (r) => r.copyMs / 1000],
  ['load throughput (acknowledged/s)', (r) => r.throughput],
  ['recovery per round (s)', (r) => r.recoveryMs.map((ms) => ms / 1000)],
  ['  of which cut + remount (s)', (r) => r.remountMs.map((ms) => ms / 1000)],
];
const fmt = (n) => (Number.isFinite(n) ? n.toFixed(2) : '-');
console.log(
  `PostgreSQL 15 defaults, ${ROUNDS} round(s), crash-seed ${SEED}, medians of ${RUNS} run(s) each, load average ${loadavg()[0].toFixed(1)}`,
);
console.log(`copied: ${fmt(median(runs['power-loss'].map((r) => r.copiedMiB)))} MiB`);
console.log('| | process | power-loss | ratio |');
console.log('|---|---|---|---|');
for (const [name, pick] of rows) {
  const a = figure('process', pick);
  const b = figure('power-loss', pick);
  console.log(`| ${name} | ${fmt(a)} | ${fmt(b)} | ${a > 0 ? `${(b / a).toFixed(2)}x` : '-'} |`);
}
