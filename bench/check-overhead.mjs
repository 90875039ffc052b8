#!/usr/bin/env node
/**
 * bench/check-overhead — the check's own overhead, and the memory of its fingerprints.
 *
 * 1. Runs the bundled example check (`npm run example`: PostgreSQL, five restart modes) BENCH_RUNS times
 *    through dist/cli.js, reads each report's timeSplit and prints the medians: total, compose, the user's
 *    commands (tests / probes / writes) and the tool's own time (the rest), for the run and for the check
 *    phase. Target: tool time of the run < 3 s.
 * 2. Fills a volume with 200k tiny files (1M with BENCH_MILLION=1) and runs `check` on a busybox stack that
 *    mounts it (one restart mode, so two full fingerprints and one comparison; no archive, no layer audit)
 *    under /usr/bin/time -v. Target: peak RSS < 120 MiB, whatever the file count.
 *
 * A shared 2-core machine is noisy: the load average is printed with the figures; compare runs side by side.
 * Env: BENCH_RUNS (3), BENCH_CLI (dist/cli.js: point it at another build to compare), BENCH_MILLION,
 * CP_TEST_BUSYBOX_IMAGE (local/busybox:latest), CP_POSTGRES_IMAGE (local/postgres:15). The volume, stack and
 * files it creates carry a unique name and are removed at the end, also on failure.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.resolve(process.env.BENCH_CLI ?? path.join(ROOT, 'dist', 'cli.js'));
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const IMAGE = process.env.CP_TEST_BUSYBOX_IMAGE || 'local/busybox:latest';
const TARGETS = { toolSeconds: 3, rssMiB: 120 };
const ID = `cpbench-check-${process.pid}-${randomBytes(3).toString('hex')}`;
const work = mkdtempSync(path.join(tmpdir(), `${ID}-`));

const log = (text) => process.stderr.write(`${text}\n`);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const verdict = (met) => (met ? 'MET' : 'NOT MET');

function docker(args) {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** The example's arguments, read from package.json so the bench runs exactly what `npm run example` runs. */
function exampleArgs() {
  const script = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.example;
  const r = spawnSync('sh', ['-c', `printf '%s\\0' ${script.replace(/^node dist\/cli\.js /, '')}`], {
    encoding: 'utf8',
  });
  return r.stdout.split('\0').filter(Boolean);
}

/** Runs the CLI with --json (report on stdout) under /usr/bin/time -v; returns the report and peak RSS. */
function runCheck(args) {
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, CLI, ...args, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  const start = r.stdout.indexOf('{');
  if (start === -1) throw new Error(`check printed no report (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return { report: JSON.parse(r.stdout.slice(start)), rssMiB: rss, exitCode: r.status };
}

/** Each timed phase's tool time, and what the run spent outside every timed phase (resolve, audit). */
function phaseTools(split) {
  const phases = Object.entries(split.phases ?? {});
  const inPhases = phases.reduce((sum, [, p]) => sum + p.toolMs, 0);
  return [
    ...phases.map(([name, p]) => `${name} ${seconds(p.toolMs)}`),
    `other ${seconds(split.toolMs - inPhases)}`,
  ].join(', ');
}

function overhead() {
  const args = exampleArgs();
  const rows = [];
  for (let i = 0; i < RUNS; i++) {
    const load = loadavg()[0].toFixed(1);
    const { report } = runCheck(args);
    const split = report.timeSplit;
    if (!split) throw new Error(`${CLI} wrote no timeSplit in its report: build this branch first`);
    // Builds from before the per-phase split: the check phase's figure is then unknown.
    const check = split.phases?.check ?? { toolMs: NaN };
    const user = split.userCommandsMs;
    rows.push({ split, check, user, load });
    log(
      `run ${i + 1}/${RUNS} (${report.result}, load ${load}): total ${seconds(split.totalMs)}, compose ${seconds(split.composeMs)}, ` +
        `user ${seconds(user.tests + user.probes + user.writes)}, tool ${seconds(split.toolMs)} (by phase: ${phaseTools(split)})`,
    );
  }
  const of = (pick) => median(rows.map(pick));
  const tool = of((r) => r.split.toolMs);
  console.log(
    `\nExample check (${RUNS} runs, medians; ${cpus().length} cores; load ${rows.map((r) => r.load).join(', ')})`,
  );
  console.log(`  total          ${seconds(of((r) => r.split.totalMs))}`);
  console.log(`  compose        ${seconds(of((r) => r.split.composeMs))}`);
  console.log(
    `  user commands  ${seconds(of((r) => r.user.tests + r.user.probes + r.user.writes))} (tests ${seconds(of((r) => r.user.tests))}, probes ${seconds(of((r) => r.user.probes))}, writes ${seconds(of((r) => r.user.writes))})`,
  );
  console.log(
    `  tool           ${seconds(tool)} (check phase ${seconds(of((r) => r.check.toolMs))}; spread ${seconds(Math.min(...rows.map((r) => r.split.toolMs)))}–${seconds(Math.max(...rows.map((r) => r.split.toolMs)))})`,
  );
  console.log(`  target tool < ${TARGETS.toolSeconds} s: ${verdict(tool < TARGETS.toolSeconds * 1000)}`);
}

/** A volume of `count` tiny files, made in the engine (busybox), as bench/volumes makes them. */
function tinyFileVolume(count) {
  const volume = `${ID}-tiny`;
  docker(['volume', 'create', volume]);
  const script = `cd /v && for d in $(seq 1 ${count / 1000}); do mkdir d$d; for f in $(seq 1 1000); do echo "$d $f" > d$d/f$f; done; done`;
  docker(['run', '--rm', '--log-driver', 'none', '-v', `${volume}:/v`, IMAGE, 'sh', '-c', script]);
  return volume;
}

function fingerprintMemory(count) {
  log(`\nfilling a volume with ${count.toLocaleString('en')} tiny files…`);
  const volume = tinyFileVolume(count);
  const stack = path.join(work, 'compose.yml');
  writeFileSync(
    stack,
    [
      'services:',
      '  app:',
      `    image: ${IMAGE}`,
      "    command: ['sleep', '1000000']",
      '    volumes: [files:/files]',
      'volumes:',
      '  files:',
      `    name: ${volume}`,
      '    external: true',
      '',
    ].join('\n'),
  );
  try {
    const started = Date.now();
    const { report, rssMiB } = runCheck([
      'check',
      '-f',
      stack,
      '--project-name',
      ID,
      '--restart-modes',
      'restart',
      '--archive-to',
      'none',
      '--layer-audit',
      'off',
    ]);
    const files = report.modes[0]?.volumes[0]?.filesBefore;
    console.log(
      `\nFingerprint memory, ${count.toLocaleString('en')} tiny files (check: 2 listings + 1 comparison)`,
    );
    console.log(
      `  result ${report.result}, files read ${files}, ${seconds(Date.now() - started)} wall, check phase tool ${seconds(report.timeSplit?.phases?.check?.toolMs ?? NaN)}`,
    );
    console.log(
      `  peak RSS ${rssMiB.toFixed(0)} MiB; target < ${TARGETS.rssMiB} MiB: ${verdict(rssMiB < TARGETS.rssMiB)}`,
    );
  } finally {
    spawnSync('docker', ['volume', 'rm', '-f', volume]);
  }
}

try {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  if (!existsSync('/usr/bin/time'))
    throw new Error('/usr/bin/time is needed for peak RSS (apt-get install time)');
  overhead();
  fingerprintMemory(200_000);
  if (process.env.BENCH_MILLION === '1') fingerprintMemory(1_000_000);
} finally {
  rmSync(work, { recursive: true, force: true });
}
