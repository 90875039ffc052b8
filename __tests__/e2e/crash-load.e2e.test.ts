// Crash under load (issue 16) on real databases through the built action (dist/main.js + dist/post.js):
// a store that acknowledges writes before they are durable must FAIL, one that does not must PASS.
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { roundPlan } from '../../src/check/crash-plan.js';
import {
  Cleanup,
  engine,
  NOTHING_LEFT,
  reportOf,
  runAction,
  uniqueName,
  waitFor,
} from '../faults/support.js';
import '../support/images.js';
import { startStep } from '../support/runner.js';
import { runOk } from '../volumes/fixtures.js';

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

const stacks = path.resolve('__tests__/fixtures/stacks');
/** Five kills, recoveries and read-backs, and a restart mode, on a loaded 2-core machine: minutes, not seconds. */
const ROUNDS_TIMEOUT_MS = 600_000;
const files = (...names: string[]) => names.map((n) => path.join(stacks, n)).join('\n');

/** The loop: one psql per insert, printing the id INSERT … RETURNING gave once it committed. */
const PSQL_LOAD =
  'db: psql -U postgres -qc "create table if not exists t (id bigserial primary key)" 2>/dev/null; while true; do psql -U postgres -qAtc "insert into t default values returning id"; done';
const PSQL_ACKNOWLEDGED = 'db: psql -U postgres -qAtc "select id from t"';
const PSQL_PROBE = 'db: psql -U postgres -tAc "select count(*) > 0 from t"';

/** One stream entry per write; XADD prints the new entry's id after Redis accepted it. */
const REDIS_LOAD = "cache: while true; do redis-cli XADD log '*' n 1; done";
const REDIS_ACKNOWLEDGED = 'cache: redis-cli XRANGE log - +';

async function crashUnderLoad(what: string, inputs: Record<string, string>) {
  const project = cleanup.project(uniqueName(`crash-${what}`));
  const run = await runAction(project, { 'restart-modes': 'restart', 'check-files': 'off', ...inputs });
  expect(run.post.exitCode, run.post.stdout).toBe(0);
  expect(run.leftovers).toEqual(NOTHING_LEFT);
  return { ...run, report: await reportOf(run.main) };
}

describe(
  'crash under load: every acknowledged write survives a SIGKILL',
  { timeout: ROUNDS_TIMEOUT_MS },
  () => {
    it('PostgreSQL with default settings passes 5 rounds of a psql insert loop', async () => {
      const { main, report } = await crashUnderLoad('pg', {
        'compose-file': files('crash-postgres/compose.yml'),
        load: PSQL_LOAD,
        acknowledged: PSQL_ACKNOWLEDGED,
        probes: PSQL_PROBE,
        'crash-rounds': '5',
      });
      expect(main.outputs.result, main.stdout).toBe('passed');
      const crash = report.crashLoad;
      expect(crash?.rounds).toHaveLength(5);
      const acknowledged = crash?.rounds.reduce((sum, r) => sum + r.acknowledged, 0) ?? 0;
      expect(crash?.line).toBe(`crash under load: 5 rounds, ${acknowledged} acknowledged writes, 0 lost`);
      for (const round of crash?.rounds ?? []) {
        expect(round.acknowledged).toBeGreaterThan(0);
        expect(round.lost).toBe(0);
        expect(round.loadMs).toBeGreaterThanOrEqual(round.plannedLoadMs);
        expect(round.recoveryMs).toBeGreaterThan(0);
      }
      expect(main.stdout).toContain(
        `crash-seed ${crash?.seed} (set crash-seed: ${crash?.seed} to replay this run)`,
      );
      expect(main.summary).toContain(`### Crash under load: ✅ ${crash?.line}`);
    });

    it('PostgreSQL with synchronous_commit=off FAILS: acknowledged commits still in WAL buffers die with the process', async () => {
      const { main, report } = await crashUnderLoad('pg-async', {
        'compose-file': files('crash-postgres/compose.yml', 'crash-postgres/async-commit.yml'),
        load: PSQL_LOAD,
        acknowledged: PSQL_ACKNOWLEDGED,
        probes: PSQL_PROBE,
        'crash-rounds': '4',
      });
      expect(main.outputs.result, main.stdout).toBe('failed');
      const rounds = report.crashLoad?.rounds ?? [];
      expect(rounds).toHaveLength(4); // a loss is no reason to stop: every round runs
      const lossy = rounds.filter((r) => (r.lost ?? 0) > 0);
      expect(lossy.length).toBeGreaterThan(0);
      const first = lossy[0];
      expect(report.firstLoss).toContain(
        `round ${first?.round} (seed ${first?.seed}) lost ${first?.lost} of ${first?.acknowledged} after the SIGKILL of db (first lost: ${first?.firstLost?.[0]}`,
      );
      expect(report.failures.join('\n')).toContain(
        `Replay with crash-seed: ${first?.seed} and crash-rounds: 1.`,
      );
      expect(main.summary).toContain('### Crash under load: ❌');
    });

    it('Redis with --appendonly yes passes', async () => {
      const { main, report } = await crashUnderLoad('redis-aof', {
        'compose-file': files('crash-redis/compose.yml'),
        load: REDIS_LOAD,
        acknowledged: REDIS_ACKNOWLEDGED,
        probes: 'cache: redis-cli XLEN log',
      });
      expect(main.outputs.result, main.stdout).toBe('passed');
      expect(report.crashLoad?.rounds.map((r) => r.lost)).toEqual([0, 0, 0]);
      expect(report.crashLoad?.rounds.every((r) => r.acknowledged > 0)).toBe(true);
    });

    it('Redis with --appendonly no --save "" FAILS: it loses every acknowledged write', async () => {
      const { main, report } = await crashUnderLoad('redis-none', {
        'compose-file': files('crash-redis/compose.yml', 'crash-redis/no-persistence.yml'),
        load: REDIS_LOAD,
        acknowledged: REDIS_ACKNOWLEDGED,
        'crash-rounds': '1',
        'restart-modes': 'recreate',
        probes: 'cache: redis-cli PING',
      });
      expect(main.outputs.result, main.stdout).toBe('failed');
      const [round] = report.crashLoad?.rounds ?? [];
      expect(round?.acknowledged).toBeGreaterThan(0);
      expect(round?.lost).toBe(round?.acknowledged);
    });
  },
);

describe(
  'a load that is no writer is refused with one line, and nothing of it is left running',
  { timeout: ROUNDS_TIMEOUT_MS },
  () => {
    const busybox = {
      'compose-file': files('crash-busybox/compose.yml'),
      acknowledged: 'app: cat /data/log',
      probes: 'app: ls /',
    };

    it('a load that exits at once', async () => {
      const { main, report } = await crashUnderLoad('exits', {
        ...busybox,
        load: 'app: echo starting >&2; exit 3',
      });
      expect(main.exitCode).toBe(1);
      expect(report.failures).toEqual([
        `Crash round 1 (seed ${report.crashLoad?.seed}) is no proof: the load ended before it printed a token: app: \`echo starting >&2; exit 3\` exited 3: starting.`,
      ]);
      expect(report.crashLoad?.rounds).toHaveLength(1);
    });

    it('a load that prints garbage, whose loop inside the container is then stopped by a container kill', async () => {
      const { main, report } = await crashUnderLoad('garbage', {
        ...busybox,
        load: 'app: while true; do echo "wrote row" >> /data/log; echo "wrote row"; sleep 0.2; done',
      });
      expect(main.exitCode).toBe(1);
      expect(report.failures).toHaveLength(1);
      expect(report.failures[0]).toMatch(
        /^Crash round 1 \(seed \d+\) is no proof: the load printed "wrote row", which is not a token: print one token/,
      );
      // compose exec's client was stopped, but not the loop it started: the kill ended that.
      expect(main.stdout).toMatch(/Stopping the load left in the containers \(app: sh -c while true/);
    });
  },
);

describe(
  'a cancelled crash round stops its writers: nothing of the load is left, on the host or in the container',
  { timeout: ROUNDS_TIMEOUT_MS },
  () => {
    it('the check sub-action on a stack the user started: SIGINT during the load', async () => {
      const project = cleanup.project(uniqueName('crash-cancel'));
      const compose = ['compose', '-f', path.join(stacks, 'crash-busybox/compose.yml'), '-p', project];
      await runOk('docker', [...compose, 'up', '-d', '--wait']);
      const seed = 4; // its round writes for 4.7 s before the crash: the signal comes well before it
      expect(roundPlan(seed).loadMs).toBeGreaterThan(4000);
      const step = await startStep('dist/check.js', {
        inputs: {
          'compose-file': path.join(stacks, 'crash-busybox/compose.yml'),
          'project-name': project,
          load: 'app: i=0; while true; do i=$((i+1)); echo "$i" >> /data/log; echo "$i"; sleep 0.05; done',
          acknowledged: 'app: cat /data/log',
          probes: 'app: ls /',
          'crash-seed': String(seed),
        },
      });
      await waitFor(
        'the first crash round',
        async () => (step.output().includes('Crash round 1') ? true : undefined),
        60_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      step.kill('SIGINT');
      const main = await step.finished;
      expect(main.exitCode, main.stdout).not.toBe(0);
      expect(main.stdout).not.toContain('SIGKILL of app after'); // cancelled before the crash
      // compose exec's client was stopped; the loop it started inside was ended by a container kill.
      expect(main.stdout).toMatch(/Stopping the load left in the containers \(app: sh -c i=0/);
      const [container] = await engine.listContainers([`com.docker.compose.project=${project}`]);
      expect(container).toBeDefined();
      const top = await runOk('docker', ['top', container?.id as string]);
      expect(top.stdout).not.toContain('while true');
      expect(await engine.runningExecs(container?.id as string)).toEqual([]);
      // The user's stack is still up (a sub-action never tears it down).
      expect((await engine.inspectContainer(container?.id as string)).running).toBe(true);
    });
  },
);
