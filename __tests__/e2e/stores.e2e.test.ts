import type { Report } from '../../src/report/schema.js';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.js';
import { startActionsService, type ActionsService } from '../support/actions-service/index.js';
import { runStep, type StepRun } from '../support/runner.js';
import '../support/images.js';

const engine = new DockerEngine();
const compose = path.resolve('examples/postgres/compose.yml');
const PROBE =
  'db: psql -U postgres -d shop -tAc "select count(*), md5(string_agg(id::text, chr(44) order by id)) from orders"';
// The "initialisation" a golden volume saves: initdb, loading rows, and deriving an indexed table from
// them (CPU-heavy, as migrations and data builds are). The derivation scans 60M numbers to keep 200k
// rows: seconds of CPU that add nothing to the volume, so a loaded CI machine (where the seed's I/O
// slows as much as the load's CPU) still shows the golden volume's gain with a margin.
const LOAD =
  'db: psql -U postgres -d shop -v ON_ERROR_STOP=1' +
  ' -c "insert into orders (item, qty) select repeat(\'x\', 100) || g, g % 9 from generate_series(1, 300000) g"' +
  ' -c "create table digests as select g, md5(md5(md5(g::text))) as h from generate_series(1, 60000000) g where g % 300 = 0"' +
  ' -c "create index on digests (h)"';

type RunReport = Report;

let svc: ActionsService;

beforeAll(async () => {
  svc = await startActionsService();
});

afterAll(async () => {
  await svc?.stop();
});

async function runAction(runId: number, project: string, inputs: Record<string, string>) {
  const env = svc.env(runId);
  const main = await runStep('dist/main.js', {
    inputs: {
      'compose-file': compose,
      'project-name': project,
      probes: PROBE,
      'restart-modes': 'restart',
      ...inputs,
    },
    env,
  });
  const post = await runStep('dist/post.js', { state: main.state, env });
  expect(post.exitCode).toBe(0);
  expect(await engine.listContainers([`com.docker.compose.project=${project}`])).toEqual([]);
  expect((await engine.listVolumes([])).filter((v) => v.name.startsWith(`${project}_`))).toEqual([]);
  return main;
}

async function reportOf(main: StepRun): Promise<RunReport> {
  expect(main.outputs.report, main.stdout).toBeDefined();
  return JSON.parse(await readFile(main.outputs.report as string, 'utf8')) as RunReport;
}

describe('archives through the real @actions/artifact and @actions/cache clients (local service stand-in)', () => {
  it('run A archives, run B seeds from A’s artifact, run C boots from A’s cache faster than A initialised', async () => {
    const runA = svc.createRun({ workflow: 'nightly.yml', branch: 'main' });
    const a = await runAction(runA.id, `cp-e2e-a-${process.pid}`, {
      exec: LOAD,
      'archive-to': 'artifact:pg-nightly\ncache:pg-golden-v1',
      ignore: 'pgdata: pg_wal/**\npgdata: pg_internal.init',
    });
    expect(a.exitCode, a.stdout).toBe(0);
    const reportA = await reportOf(a);
    const rowsA = reportA.modes[0]?.probes[0]?.after;
    expect(rowsA).toMatch(/^301000\|[0-9a-f]{32}$/);
    expect(reportA.archives).toHaveLength(1);
    expect(reportA.archives[0]?.store).toMatch(/artifact pg-nightly.*cache/);
    expect(svc.artifacts(runA.id).map((x) => x.name)).toEqual(['pg-nightly']);

    // A mistyped artifact name: the error lists what run A does have, and nothing is started.
    const typo = await runAction(svc.createRun().id, `cp-e2e-typo-${process.pid}`, {
      seed: 'pgdata: artifact:pg-nightyl',
      'seed-run-id': String(runA.id),
      'github-token': svc.githubToken,
      'archive-to': 'none',
    });
    expect(typo.exitCode).not.toBe(0);
    expect(typo.stdout).toMatch(/::error::.*"pg-nightyl".*pg-nightly/);
    expect(typo.stdout).not.toContain('Start the stack');

    // Run B: another run, downloading A's artifact through the REST API.
    const runB = svc.createRun({ workflow: 'verify.yml', branch: 'main' });
    const b = await runAction(runB.id, `cp-e2e-b-${process.pid}`, {
      seed: 'pgdata: artifact:pg-nightly',
      'seed-run-id': String(runA.id),
      'github-token': svc.githubToken,
      'archive-to': 'none',
    });
    expect(b.exitCode, b.stdout).toBe(0);
    const reportB = await reportOf(b);
    expect(reportB.seeds.map((s) => [s.source, s.digest])).toEqual([
      ['artifact:pg-nightly', reportA.archives[0]?.digest],
    ]);
    expect(reportB.modes[0]?.probes[0]?.before).toBe(rowsA);
    // The summary names the run the seed came from.
    expect(reportB.seeds[0]?.from).toBe(`run ${runA.id} of ${svc.repository}`);
    expect(b.summary).toContain(`artifact:pg-nightly (run ${runA.id} of ${svc.repository})`);
    // The token reaches the log only as the runner's ::add-mask:: command (consumed, never shown).
    const shown = b.stdout.replace(/^::add-mask::.*$/gm, '');
    expect(b.stdout).toContain(`::add-mask::${svc.githubToken}`);
    expect(shown).not.toContain(svc.githubToken);

    // Run C: the golden volume from the cache; no initdb, no load.
    const runC = svc.createRun({ workflow: 'verify.yml', branch: 'feature' });
    const c = await runAction(runC.id, `cp-e2e-c-${process.pid}`, {
      seed: 'pgdata: cache:pg-golden-v1',
      'archive-to': 'none',
    });
    expect(c.exitCode, c.stdout).toBe(0);
    const reportC = await reportOf(c);
    expect(reportC.modes[0]?.probes[0]?.before).toBe(rowsA);
    const initialisedA = (reportA.timings.up ?? 0) + (reportA.timings.tests ?? 0);
    const bootedC = (reportC.timings.seed ?? 0) + (reportC.timings.up ?? 0);
    expect(bootedC, JSON.stringify({ a: reportA.timings, c: reportC.timings })).toBeLessThan(initialisedA);
  }, 600_000); // four whole action runs, one CPU-heavy: 3 min were not enough at load 15

  it('fails on a cache miss unless seed-optional, which starts empty and says so', async () => {
    const run = svc.createRun({ workflow: 'verify.yml', branch: 'main' });
    const miss = await runAction(run.id, `cp-e2e-miss-${process.pid}`, {
      seed: 'pgdata: cache:never-saved',
      'archive-to': 'none',
    });
    expect(miss.exitCode).not.toBe(0);
    expect(miss.stdout).toMatch(
      /::error::cache key never-saved.*nothing to seed from \(cache miss\).*seed-optional/,
    );

    const optional = await runAction(run.id, `cp-e2e-optional-${process.pid}`, {
      seed: 'pgdata: cache:never-saved',
      'seed-optional': 'true',
      'archive-to': 'none',
    });
    expect(optional.exitCode, optional.stdout).toBe(0);
    expect(optional.stdout).toMatch(/::warning::No archive found for pgdata in cache:never-saved/);
    expect((await reportOf(optional)).modes[0]?.probes[0]?.before).toMatch(/^1000\|/);
  });
});
