// Verdicts on real databases and common compose layouts: a stack that loses data must FAIL, one that keeps
// it must PASS with no ignore globs. Each test runs the built action (dist/main.js + dist/post.js).
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/schema.js';
import { BUSYBOX_IMAGE, MARIADB_IMAGE, REDIS_IMAGE } from '../support/images.js';
import { runStep } from '../support/runner.js';
import {
  Cleanup,
  composeFile,
  leftoversOf,
  NOTHING_LEFT,
  reportOf,
  runAction,
  runnerEnv,
  uniqueName,
} from '../faults/support.js';

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

const ALL_MODES = 'restart, stop-start, kill, recreate, down-up';
/** The order they run in (restart-order: crash-first): the kill before any graceful stop. */
const CRASH_FIRST = ['kill', 'restart', 'stop-start', 'recreate', 'down-up'];

/** A busybox app keeping its orders at /data, in the named volume `appdata`. */
const APP_WITH_VOLUME = `
services:
  app:
    image: ${BUSYBOX_IMAGE}
    command: ['sh', '-c', 'exec sleep 1000000']
    stop_grace_period: 1s
    volumes:
      - appdata:/data
volumes:
  appdata:
`;

/** The project in `dir` run the way a user runs it: the workspace is the project, no compose-file input. */
async function runInWorkspace(dir: string, project: string, inputs: Record<string, string>) {
  const env = runnerEnv();
  const main = await runStep('dist/main.js', {
    inputs: { 'project-name': project, 'archive-to': 'none', 'helper-image': BUSYBOX_IMAGE, ...inputs },
    env,
    cwd: dir,
  });
  const post = await runStep('dist/post.js', { state: main.state, env, cwd: dir });
  return { main, post, leftovers: await leftoversOf(project, env.GITHUB_RUN_ID as string) };
}

describe("compose's own file rules", () => {
  it('a project with only compose.yaml (and a top-level name:) passes; the summary names the file and the project', async () => {
    const dir = await cleanup.tempDir();
    await composeFile(dir, `name: shop\n${APP_WITH_VOLUME}`, 'compose.yaml');
    const project = cleanup.project(uniqueName('compose-yaml'));
    const { main, post, leftovers } = await runInWorkspace(dir, project, {
      exec: 'app: echo order-1 > /data/orders.txt',
      probes: 'app: cat /data/orders.txt',
      'restart-modes': 'restart, down-up',
    });
    expect(main.exitCode, main.stdout).toBe(0);
    const report = await reportOf(main);
    expect(report.result).toBe('passed');
    expect(report.stack.composeFiles).toEqual(['compose.yaml']);
    expect(report.stack.composeFilesFrom).toBe('lookup');
    expect(report.warnings).toContain(
      `The compose file sets name: shop, but this run used project ${project}: the project-name input wins over the file.`,
    );
    expect(main.summary).toContain("Compose files: `compose.yaml` (compose's own lookup)");
    expect(post.exitCode).toBe(0);
    expect(leftovers).toEqual(NOTHING_LEFT);
  });

  it('a compose.override.yml that puts the data on tmpfs is merged, so the check FAILS', async () => {
    const dir = await cleanup.tempDir();
    await composeFile(dir, APP_WITH_VOLUME, 'compose.yml');
    await composeFile(
      dir,
      'services:\n  app:\n    volumes:\n      - type: tmpfs\n        target: /data\n',
      'compose.override.yml',
    );
    const project = cleanup.project(uniqueName('override'));
    const { main, post, leftovers } = await runInWorkspace(dir, project, {
      exec: 'app: echo order-1 > /data/orders.txt',
      probes: 'app: cat /data/orders.txt',
      'restart-modes': 'restart',
    });
    expect(main.exitCode).not.toBe(0);
    const report = await reportOf(main);
    expect(report.result).toBe('failed');
    expect(report.stack.composeFiles).toEqual(['compose.yml', 'compose.override.yml']);
    expect(report.modes.map((m) => [m.mode, m.passed])).toEqual([['restart', false]]);
    expect(report.failures[0]).toMatch(
      /Data did not survive restart: probe "app: cat \/data\/orders.txt" changed/,
    );
    expect(post.exitCode).toBe(0);
    expect(leftovers).toEqual(NOTHING_LEFT);
  });

  it('COMPOSE_FILE is honoured (split by ":"), with no override added', async () => {
    const dir = await cleanup.tempDir();
    await composeFile(dir, APP_WITH_VOLUME, 'stack.yml');
    await composeFile(dir, 'services:\n  app:\n    environment:\n      ROLE: ci\n', 'ci.yml');
    await composeFile(
      dir,
      'services:\n  app:\n    volumes:\n      - type: tmpfs\n        target: /data\n',
      'compose.override.yml',
    );
    const project = cleanup.project(uniqueName('compose-file-env'));
    const env = runnerEnv({ COMPOSE_FILE: 'stack.yml:ci.yml' });
    const main = await runStep('dist/main.js', {
      inputs: {
        'project-name': project,
        'archive-to': 'none',
        'helper-image': BUSYBOX_IMAGE,
        exec: 'app: echo "$ROLE" > /data/role.txt',
        probes: 'app: cat /data/role.txt',
        'restart-modes': 'restart',
      },
      env,
      cwd: dir,
    });
    const post = await runStep('dist/post.js', { state: main.state, env, cwd: dir });
    expect(main.exitCode, main.stdout).toBe(0);
    const report = await reportOf(main);
    expect(report.stack.composeFiles).toEqual(['stack.yml', 'ci.yml']);
    expect(report.stack.composeFilesFrom).toBe('COMPOSE_FILE');
    expect(report.modes[0]?.probes[0]?.after).toBe('ci');
    expect(post.exitCode).toBe(0);
    expect(await leftoversOf(project, env.GITHUB_RUN_ID as string)).toEqual(NOTHING_LEFT);
  });
});

/** Redis with the compose `command:` given; data in the named volume `redisdata`. */
const redisStack = (command: string) => `
services:
  redis:
    image: ${REDIS_IMAGE}
    command: ${command}
    volumes:
      - redisdata:/data
    healthcheck:
      test: ['CMD', 'redis-cli', 'ping']
      interval: 1s
      timeout: 3s
      retries: 30
volumes:
  redisdata:
`;
const WRITE_1000_KEYS =
  'redis: for i in $(seq 1 1000); do echo "SET key:$i value-$i"; done | redis-cli --pipe && test "$(redis-cli dbsize)" = 1000';
const REDIS_PROBE = 'redis: redis-cli dbsize';

describe('Redis', () => {
  it('without AOF (RDB snapshots only) FAILS kill, restart: the kill loses every key written since the last snapshot', async () => {
    const dir = await cleanup.tempDir();
    const file = await composeFile(dir, redisStack('redis-server'));
    const project = cleanup.project(uniqueName('redis-rdb'));
    const { main, post, leftovers } = await runAction(project, {
      'compose-file': file,
      exec: WRITE_1000_KEYS,
      probes: REDIS_PROBE,
      'restart-modes': 'kill, restart',
    });
    expect(main.exitCode).not.toBe(0);
    const report = await reportOf(main);
    expect(report.result).toBe('failed');
    const kill = report.modes.find((m) => m.mode === 'kill');
    expect(kill?.passed).toBe(false);
    expect(kill?.probes).toEqual([expect.objectContaining({ before: '1000', after: '0', same: false })]);
    expect(report.failures[0]).toMatch(/Data did not survive kill: probe "redis: redis-cli dbsize" changed/);
    expect(post.exitCode).toBe(0);
    expect(leftovers).toEqual(NOTHING_LEFT);
  });

  it('without AOF FAILS restart, kill too: the crash runs before the graceful restart can save a snapshot', async () => {
    const dir = await cleanup.tempDir();
    const file = await composeFile(dir, redisStack('redis-server'));
    const project = cleanup.project(uniqueName('redis-rdb-order'));
    const { main, post, leftovers } = await runAction(project, {
      'compose-file': file,
      exec: WRITE_1000_KEYS,
      probes: REDIS_PROBE,
      'restart-modes': 'restart, kill',
    });
    expect(main.exitCode).not.toBe(0);
    expect(main.stdout).toContain('Restart modes run as kill, restart (restart-order: crash-first)');
    const report = await reportOf(main);
    expect(report.result).toBe('failed');
    expect(report.modes.map((m) => m.mode)).toEqual(['kill', 'restart']);
    expect(report.modes.find((m) => m.mode === 'kill')?.passed).toBe(false);
    expect(report.failures[0]).toMatch(/Data did not survive kill: probe "redis: redis-cli dbsize" changed/);
    expect(post.exitCode).toBe(0);
    expect(leftovers).toEqual(NOTHING_LEFT);
  });

  it('with AOF and fresh writes before every mode (write) it passes all five: the key of each round survives', async () => {
    const dir = await cleanup.tempDir();
    const file = await composeFile(dir, redisStack('redis-server --appendonly yes --appendfsync always'));
    const project = cleanup.project(uniqueName('redis-write'));
    const { main, post, leftovers } = await runAction(project, {
      'compose-file': file,
      exec: WRITE_1000_KEYS,
      write: 'redis: redis-cli set "round:$COMPOSE_PERSIST_ROUND" written',
      probes: REDIS_PROBE,
      'restart-modes': ALL_MODES,
    });
    expect(main.exitCode, main.stdout).toBe(0);
    const report = await reportOf(main);
    expect(report.modes.map((m) => [m.mode, m.passed, m.comparedWith])).toEqual(
      CRASH_FIRST.map((m, i) => [m, true, `the evidence after write round ${i + 1}`]),
    );
    // Round n's key is in the evidence before mode n and still there after it.
    expect(report.modes.map((m) => m.probes[0]?.after)).toEqual(['1001', '1002', '1003', '1004', '1005']);
    expect(post.exitCode).toBe(0);
    expect(leftovers).toEqual(NOTHING_LEFT);
  });

  it('with AOF (appendonly, fsync always) passes all five modes with no ignore globs', async () => {
    const dir = await cleanup.tempDir();
    const file = await composeFile(dir, redisStack('redis-server --appendonly yes --appendfsync always'));
    const project = cleanup.project(uniqueName('redis-aof'));
    const { main, post, leftovers } = await runAction(project, {
      'compose-file': file,
      exec: WRITE_1000_KEYS,
      probes: REDIS_PROBE,
      'restart-modes': ALL_MODES,
    });
    expect(main.exitCode, main.stdout).toBe(0);
    const report = await reportOf(main);
    expect(report.modes.map((m) => [m.mode, m.passed])).toEqual(CRASH_FIRST.map((m) => [m, true]));
    expect(report.modes.every((m) => m.probes[0]?.after === '1000')).toBe(true);
    expect(post.exitCode).toBe(0);
    expect(leftovers).toEqual(NOTHING_LEFT);
  });
});

describe('MariaDB', () => {
  it('passes all five modes with no ignore globs (no false alarm)', async () => {
    const dir = await cleanup.tempDir();
    const file = await composeFile(
      dir,
      `
services:
  db:
    image: ${MARIADB_IMAGE}
    environment:
      MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1'
    volumes:
      - dbdata:/var/lib/mysql
    healthcheck:
      test: ['CMD', 'mariadb', '-uroot', '-e', 'select 1']
      interval: 1s
      timeout: 3s
      retries: 60
volumes:
  dbdata:
`,
    );
    const project = cleanup.project(uniqueName('mariadb'));
    const { main, post, leftovers } = await runAction(project, {
      'compose-file': file,
      exec: [
        'db: mariadb -uroot -e "create database shop; create table shop.orders (id int primary key, item varchar(40))"',
        'db: for i in $(seq 1 200); do echo "insert into shop.orders values ($i, \'item-$i\');"; done | mariadb -uroot',
      ].join('\n'),
      probes:
        'db: mariadb -uroot -N -e "select count(*), md5(group_concat(id, item order by id)) from shop.orders"',
      'restart-modes': ALL_MODES,
    });
    expect(main.exitCode, main.stdout).toBe(0);
    const report = await reportOf(main);
    expect(report.modes.map((m) => [m.mode, m.passed])).toEqual(CRASH_FIRST.map((m) => [m, true]));
    expect(report.modes[0]?.probes[0]?.before).toMatch(/^200\s+[0-9a-f]{32}$/);
    expect(report.modes.flatMap((m) => m.volumes.map((v) => v.ok))).not.toContain(false);
    expect(post.exitCode).toBe(0);
    expect(leftovers).toEqual(NOTHING_LEFT);
  });
});

describe('PostgreSQL', () => {
  it('passes all five modes with no ignore globs (no false alarm), and the stored report.json is the final one', async () => {
    const store = await cleanup.tempDir();
    const project = cleanup.project(uniqueName('pg-noignore'));
    const { main, post, leftovers } = await runAction(project, {
      'compose-file': path.resolve('examples/postgres/compose.yml'),
      exec: 'db: psql -U postgres -d shop -c "insert into orders (item, qty) select \'x\' || g, g from generate_series(1, 500) g"',
      probes:
        'db: psql -U postgres -d shop -tAc "select count(*), md5(string_agg(id::text, chr(44) order by id)) from orders"',
      'restart-modes': ALL_MODES,
      'archive-to': `path:${store}`,
    });
    expect(main.exitCode, main.stdout).toBe(0);
    const report = await reportOf(main);
    expect(report.modes.map((m) => [m.mode, m.passed])).toEqual([
      ['kill', true],
      ['restart', true],
      ['stop-start', true],
      ['recreate', true],
      ['down-up', true],
    ]);
    expect(report.modes.flatMap((m) => m.volumes.map((v) => v.ok))).not.toContain(false);
    // The report stored beside the archives is the run's final one, not a snapshot taken halfway.
    const stored = JSON.parse(await readFile(path.join(store, 'report.json'), 'utf8')) as Report;
    expect(stored.result).toBe('passed');
    expect(stored.finishedAt).toBeDefined();
    expect(stored.timings.archive).toBeGreaterThan(0);
    expect(stored.modes).toHaveLength(5);
    expect(stored.archives.map((a) => [a.volume, a.file])).toEqual([[`${project}_pgdata`, 'pgdata.tar.zst']]);
    expect(stored.archives[0]?.store).toContain(store);
    expect(stored.volumes.map((v) => v.digest)).toEqual([stored.archives[0]?.digest]);
    expect(post.exitCode).toBe(0);
    expect(leftovers).toEqual(NOTHING_LEFT);
  });
});
