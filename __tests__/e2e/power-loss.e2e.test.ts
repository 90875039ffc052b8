// crash-kind: power-loss (issue 28) through the built action (dist/main.js + dist/post.js, dist/power-disk.js)
// on real databases: a store that acknowledges writes before fsync passes a SIGKILL and FAILS a power cut; a
// store that fsyncs passes both; the real volumes come back untouched and nothing is left on the host.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { roundPlan } from '../../src/check/crash-plan.js';
import { POWER_ROOT } from '../../src/power/power-state.js';
import {
  Cleanup,
  composeFile,
  NOTHING_LEFT,
  reportOf,
  runAction,
  uniqueName,
  waitFor,
} from '../faults/support.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { exactListing, hostLeftovers } from '../support/power.js';
import { startStep } from '../support/runner.js';
import { runOk } from '../volumes/fixtures.js';

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

const stacks = path.resolve('__tests__/fixtures/stacks');
const files = (...names: string[]) => names.map((n) => path.join(stacks, n)).join('\n');
/** Copy-in, a few rounds with a cut and a recovery each, the restarts: minutes on a loaded 2-core machine. */
const TIMEOUT_MS = 600_000;
const NOTHING_ON_HOST = { mounts: [], loops: [], servers: [] };

/** The table exists before the rounds (the tests phase makes it), so what a cut loses is only the rows. */
const PSQL = {
  exec: 'db: psql -U postgres -qc "create table t (id bigserial primary key)"',
  load: 'db: while true; do psql -U postgres -qAtc "insert into t default values returning id"; done',
  acknowledged: 'db: psql -U postgres -qAtc "select id from t"',
  probes: 'db: psql -U postgres -tAc "select 1"',
};

/** The database and table exist before the rounds, as PSQL's table does; each insert prints its id. */
const MARIADB = {
  exec: 'db: mariadb -uroot -e "create database crash; create table crash.t (id int auto_increment primary key)"',
  load: 'db: while true; do mariadb -uroot -N -e "insert into crash.t values (); select last_insert_id()"; done',
  acknowledged: 'db: mariadb -uroot -N -e "select id from crash.t"',
  probes: 'db: mariadb -uroot -e "select 1"',
};
/** Two rounds of about 2 s under load each (1.9 s, then 2.0 s): enough commits to lose, few stack seconds. */
const TWO_SHORT_ROUNDS = { 'crash-rounds': '2', 'crash-seed': '60' };

/** The toy writer: append a number, print it. */
const NO_FSYNC_WRITER =
  'app: i=0; while true; do i=$((i+1)); echo "$i" >> /data/log; echo "$i"; sleep 0.02; done';
/** The same writer making each append durable (dd conv=fsync) before it prints the number. */
const FSYNC_WRITER =
  'app: i=0; while true; do i=$((i+1)); echo "$i" | dd of=/data/log oflag=append conv=notrunc,fsync 2>/dev/null; echo "$i"; sleep 0.02; done';

async function powerRound(what: string, inputs: Record<string, string>) {
  const project = cleanup.project(uniqueName(`power-${what}`));
  const run = await runAction(project, { 'restart-modes': 'restart', 'check-files': 'off', ...inputs });
  expect(run.post.exitCode, run.post.stdout).toBe(0);
  expect(run.leftovers).toEqual(NOTHING_LEFT);
  expect(hostLeftovers()).toEqual(NOTHING_ON_HOST);
  return { ...run, report: await reportOf(run.main) };
}

describe('crash-kind: power-loss on real stores', { timeout: TIMEOUT_MS }, () => {
  it('PostgreSQL with fsync=off passes a process crash and FAILS a power cut', async () => {
    const pg = {
      'compose-file': files('crash-postgres/compose.yml', 'crash-postgres/fsync-off.yml'),
      ...PSQL,
    };
    const survived = await powerRound('pg-nofsync-kill', { ...pg, 'crash-rounds': '2' });
    expect(survived.main.outputs.result, survived.main.stdout).toBe('passed');
    expect(survived.report.crashLoad?.rounds.map((r) => r.lost)).toEqual([0, 0]);
    expect(survived.report.crashLoad?.rounds.every((r) => r.powerCut === undefined)).toBe(true);

    const { main, report } = await powerRound('pg-nofsync', {
      ...pg,
      'crash-rounds': '2',
      'crash-kind': 'power-loss',
    });
    expect(main.outputs.result, main.stdout).toBe('failed');
    const crash = report.crashLoad;
    expect(crash?.kind).toBe('power-loss');
    expect(crash?.rounds).toHaveLength(2);
    for (const round of crash?.rounds ?? []) {
      expect(round.acknowledged).toBeGreaterThan(0);
      expect(round.lost).toBeGreaterThan(0);
      expect(round.powerCut?.canaryProblem).toBeUndefined();
    }
    expect(report.firstLoss).toMatch(
      /^Acknowledged writes did not survive a power cut under load: round 1 \(seed \d+\) lost \d+ of \d+ after the SIGKILL and power cut of db/,
    );
    expect(crash?.power?.places.map((p) => p.name)).toEqual([
      expect.stringMatching(/^volume cp-fault-power-pg-nofsync-[0-9a-f]+_pgdata$/),
    ]);
    expect(crash?.power?.changed).toBeUndefined();
    expect(main.summary).toContain('### Power loss under load: ❌');
    expect(main.summary).toMatch(/\| dropped at the cut \| canary \| remount \|/);
  });

  it('PostgreSQL with its defaults passes two power cuts', async () => {
    const { main, report } = await powerRound('pg', {
      'compose-file': files('crash-postgres/compose.yml'),
      ...PSQL,
      'crash-rounds': '2',
      'crash-kind': 'power-loss',
    });
    expect(main.outputs.result, main.stdout).toBe('passed');
    const rounds = report.crashLoad?.rounds ?? [];
    expect(rounds.map((r) => r.lost)).toEqual([0, 0]);
    for (const round of rounds) {
      expect(round.acknowledged).toBeGreaterThan(0);
      expect(round.powerCut).toMatchObject({ overflowed: false });
      expect(round.powerCut?.canaryProblem).toBeUndefined();
      // The cut had something to lose: PostgreSQL's own unsynced writes (stats, hint bits) at least.
      expect((round.powerCut?.droppedBlocks ?? 0) + (round.powerCut?.discardedWrites ?? 0)).toBeGreaterThan(
        0,
      );
    }
    expect(report.crashLoad?.line).toMatch(
      /^power loss under load: 2 rounds, \d+ acknowledged writes, 0 lost$/,
    );
  });

  it('a writer that never fsyncs FAILS; the same writer with dd conv=fsync passes, and its volume comes back untouched', async () => {
    const dir = await cleanup.tempDir();
    const volume = cleanup.volume(uniqueName('power-user'));
    await runOk('docker', ['volume', 'create', volume]);
    const mountpoint = execFileSync('docker', ['volume', 'inspect', '-f', '{{.Mountpoint}}', volume], {
      encoding: 'utf8',
    }).trim();
    // What a copy can get wrong: owners, modes, xattrs, hard and symbolic links, an empty directory; and
    // the writer's log, empty, so a read-back after a cut that lost every append prints nothing.
    execFileSync('sh', [
      '-c',
      `set -e; cd "$1"; mkdir -p keep/empty; echo precious > keep/a; head -c 100000 /dev/urandom > keep/noise
       chown 999:998 keep/a; chmod 4750 keep/a; chmod 1777 keep/empty; ln keep/a hard; ln -s keep/a soft
       setfattr -n user.origin -v test keep/a; : > log; chown 999:999 .`,
      'sh',
      mountpoint,
    ]);
    const before = exactListing(mountpoint, { ctime: true });
    const compose = await composeFile(
      dir,
      `services:
  app:
    image: ${BUSYBOX_IMAGE}
    command: ['sh', '-c', 'exec sleep 1000000']
    stop_grace_period: 1s
    volumes:
      - data:/data
volumes:
  data:
    name: ${volume}
    external: true
`,
    );
    const writer = {
      'compose-file': compose,
      acknowledged: 'app: cat /data/log',
      probes: 'app: cat /data/keep/a',
      'crash-kind': 'power-loss',
    };
    const lossy = await powerRound('writer', { ...writer, load: NO_FSYNC_WRITER, 'crash-rounds': '1' });
    expect(lossy.main.outputs.result, lossy.main.stdout).toBe('failed');
    const [round] = lossy.report.crashLoad?.rounds ?? [];
    expect(round?.acknowledged).toBeGreaterThan(0);
    expect(round?.lost).toBe(round?.acknowledged);
    expect(exactListing(mountpoint, { ctime: true })).toBe(before);

    const durable = await powerRound('writer-fsync', { ...writer, load: FSYNC_WRITER, 'crash-rounds': '2' });
    expect(durable.main.outputs.result, durable.main.stdout).toBe('passed');
    expect(durable.report.crashLoad?.rounds.map((r) => r.lost)).toEqual([0, 0]);
    expect(durable.report.crashLoad?.power?.places[0]?.bytes).toBeGreaterThan(100000);
    // Byte for byte, owner for owner, and never written (the change times too).
    expect(exactListing(mountpoint, { ctime: true })).toBe(before);
  });

  it('Redis with appendfsync everysec FAILS a power cut; with appendfsync always it passes', async () => {
    const dir = await cleanup.tempDir();
    const always = await composeFile(
      dir,
      "services:\n  cache:\n    command: ['redis-server', '--appendonly', 'yes', '--appendfsync', 'always']\n",
      'always.yml',
    );
    const redis = {
      load: "cache: while true; do redis-cli XADD log '*' n 1; done",
      acknowledged: 'cache: redis-cli XRANGE log - +',
      probes: 'cache: redis-cli PING',
      'crash-kind': 'power-loss',
      'crash-rounds': '2',
    };
    const lossy = await powerRound('redis-everysec', {
      ...redis,
      'compose-file': files('crash-redis/compose.yml'),
    });
    expect(lossy.main.outputs.result, lossy.main.stdout).toBe('failed');
    const rounds = lossy.report.crashLoad?.rounds ?? [];
    expect(rounds.some((r) => (r.lost ?? 0) > 0)).toBe(true);
    expect(rounds.every((r) => r.powerCut?.canaryProblem === undefined)).toBe(true);

    const durable = await powerRound('redis-always', {
      ...redis,
      'compose-file': `${files('crash-redis/compose.yml')}\n${always}`,
    });
    expect(durable.main.outputs.result, durable.main.stdout).toBe('passed');
    expect(durable.report.crashLoad?.rounds.map((r) => r.lost)).toEqual([0, 0]);
  });

  it('MariaDB with innodb_flush_log_at_trx_commit=2 FAILS a power cut; with its defaults it passes', async () => {
    expect([roundPlan(60).loadMs, roundPlan(roundPlan(60).nextSeed).loadMs]).toEqual([1907, 2004]);
    const maria = { ...MARIADB, ...TWO_SHORT_ROUNDS, 'crash-kind': 'power-loss' };
    const lossy = await powerRound('maria-trx2', {
      ...maria,
      'compose-file': files('crash-mariadb/compose.yml', 'crash-mariadb/flush-log-at-trx-commit-2.yml'),
    });
    expect(lossy.main.outputs.result, lossy.main.stdout).toBe('failed');
    const rounds = lossy.report.crashLoad?.rounds ?? [];
    expect(rounds).toHaveLength(2);
    // A second of commits is at stake per cut: a cut just after the once-a-second flush may lose none.
    expect(rounds.some((r) => (r.lost ?? 0) > 0)).toBe(true);
    expect(rounds.every((r) => r.powerCut?.canaryProblem === undefined)).toBe(true);
    expect(lossy.report.firstLoss).toMatch(
      /^Acknowledged writes did not survive a power cut under load: round [12] \(seed \d+\) lost \d+ of \d+ after the SIGKILL and power cut of db/,
    );
    expect(lossy.report.crashLoad?.power?.changed).toBeUndefined();

    const durable = await powerRound('maria', {
      ...maria,
      'compose-file': files('crash-mariadb/compose.yml'),
    });
    expect(durable.main.outputs.result, durable.main.stdout).toBe('passed');
    const kept = durable.report.crashLoad?.rounds ?? [];
    expect(kept.map((r) => r.lost)).toEqual([0, 0]);
    for (const round of kept) {
      expect(round.acknowledged).toBeGreaterThan(0);
      expect(round.powerCut).toMatchObject({ overflowed: false });
      expect(round.powerCut?.canaryProblem).toBeUndefined();
    }
  });

  it('a container the rounds do not kill that mounts a protected volume: refused before anything stops', async () => {
    const dir = await cleanup.tempDir();
    const compose = await composeFile(
      dir,
      `services:
  app:
    image: ${BUSYBOX_IMAGE}
    command: ['sh', '-c', 'exec sleep 1000000']
    stop_grace_period: 1s
    volumes: [data:/data]
  reader:
    image: ${BUSYBOX_IMAGE}
    command: ['sh', '-c', 'exec sleep 1000000']
    stop_grace_period: 1s
    volumes: [data:/data]
volumes:
  data:
`,
    );
    const { main } = await powerRound('shared', {
      'compose-file': compose,
      load: FSYNC_WRITER,
      acknowledged: 'app: cat /data/log',
      probes: 'app: ls /',
      'crash-kind': 'power-loss',
    });
    expect(main.outputs.result).toBe('failed');
    expect(main.stdout).toMatch(
      /crash-kind: power-loss: \/\S*\/volumes\/cp-fault-power-shared-[0-9a-f]+_data\/_data is also mounted by cp-fault-power-shared-[0-9a-f]+-reader-1, which the rounds do not kill \(they kill app\)/,
    );
    expect(main.stdout).not.toContain('Power loss: stopping');
  });

  it('SIGTERM in the middle of a round: the lazy disks are taken down and the volume is untouched', async () => {
    const project = cleanup.project(uniqueName('power-cancel'));
    const compose = ['compose', '-f', path.join(stacks, 'crash-busybox/compose.yml'), '-p', project];
    await runOk('docker', [...compose, 'up', '-d', '--wait']);
    const mountpoint = execFileSync(
      'docker',
      ['volume', 'inspect', '-f', '{{.Mountpoint}}', `${project}_appdata`],
      { encoding: 'utf8' },
    ).trim();
    execFileSync('sh', ['-c', 'echo before > "$1/mark"', 'sh', mountpoint]);
    const before = exactListing(mountpoint, { ctime: true });
    const seed = 4; // 4.7 s under load: the signal comes well before the crash
    expect(roundPlan(seed).loadMs).toBeGreaterThan(4000);
    const step = await startStep('dist/check.js', {
      inputs: {
        'compose-file': path.join(stacks, 'crash-busybox/compose.yml'),
        'project-name': project,
        load: FSYNC_WRITER,
        acknowledged: 'app: cat /data/log',
        probes: 'app: ls /',
        'crash-seed': String(seed),
        'crash-kind': 'power-loss',
      },
    });
    await waitFor(
      'the first crash round',
      async () => (step.output().includes('Crash round 1') ? true : undefined),
      120_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    step.kill('SIGTERM');
    const main = await step.finished;
    expect(main.exitCode, main.stdout).not.toBe(0);
    expect(hostLeftovers()).toEqual(NOTHING_ON_HOST);
    expect(exactListing(mountpoint, { ctime: true })).toBe(before);
    expect(
      execFileSync('sh', ['-c', 'ls -A "$1" 2>/dev/null || true', 'sh', POWER_ROOT], { encoding: 'utf8' }),
    ).not.toMatch(/\S/);
    await runOk('docker', [...compose, 'down', '-v']);
  });
});
