import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.js';
import type { Report } from '../../src/report/schema.js';
import { runStep, type StepRun } from '../support/runner.js';
import '../support/images.js';

const engine = new DockerEngine();
const fixtures = path.resolve('__tests__/fixtures/stacks');
const COUNT_PROBE =
  'db: psql -U postgres -d shop -tAc "select count(*), md5(string_agg(id::text, chr(44) order by id)) from orders"';

/** main then post, as the runner runs them; returns both, with what the project left behind. */
async function runAction(inputs: Record<string, string>, project: string) {
  const main = await runStep('dist/main.js', {
    inputs: { 'project-name': project, 'archive-to': 'none', ...inputs },
  });
  const post = await runStep('dist/post.js', { state: main.state });
  const leftovers = {
    containers: await engine.listContainers([`com.docker.compose.project=${project}`]),
    volumes: (await engine.listVolumes([])).filter((v) => v.name.startsWith(`${project}_`)),
  };
  return { main, post, leftovers };
}

async function report(main: StepRun) {
  return JSON.parse(await readFile(main.outputs.report as string, 'utf8')) as Report;
}

function expectNothingLeft(leftovers: { containers: unknown[]; volumes: unknown[] }) {
  expect(leftovers.containers).toEqual([]);
  expect(leftovers.volumes).toEqual([]);
}

describe('the built action (dist/main.js + dist/post.js) on the real engine', () => {
  it('passes every restart mode on a healthy PostgreSQL stack and leaves nothing behind', async () => {
    const project = `cp-e2e-pass-${process.pid}`;
    const { main, post, leftovers } = await runAction(
      {
        'compose-file': path.resolve('examples/postgres/compose.yml'),
        exec: 'db: psql -U postgres -d shop -c "insert into orders (item, qty) values (\'e2e\', 3)"',
        probes: COUNT_PROBE,
        'restart-modes': 'restart, stop-start, kill, recreate, down-up',
        ignore: '*: postmaster.pid\n*: pg_stat_tmp/**\n*: pg_internal.init',
      },
      project,
    );
    expect(main.exitCode, main.stdout).toBe(0);
    expect(main.outputs.result).toBe('passed');
    const r = await report(main);
    // crash-first: the kill runs before any graceful stop could flush what it should test.
    expect(r.modes.map((m) => [m.mode, m.passed])).toEqual([
      ['kill', true],
      ['restart', true],
      ['stop-start', true],
      ['recreate', true],
      ['down-up', true],
    ]);
    expect(main.summary).toContain('compose-persist: ✅ passed');
    expect(main.summary).toContain('1001\\|');
    const volumes = JSON.parse(main.outputs.volumes as string) as { name: string; digest: string }[];
    expect(volumes.map((v) => v.name)).toEqual([`${project}_pgdata`]);
    expect(volumes[0]?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(post.exitCode).toBe(0);
    expectNothingLeft(leftovers);
  });

  it('fails on recreate when the app keeps data outside a volume, and the layer audit names the file', async () => {
    const project = `cp-e2e-layer-${process.pid}`;
    const { main, leftovers } = await runAction(
      {
        'compose-file': path.join(fixtures, 'layer-loss/compose.yml'),
        exec: 'app: echo order-17 > /appdata/orders.txt && echo kept > /state/ok.txt',
        probes: 'app: cat /appdata/orders.txt /state/ok.txt',
        'restart-modes': 'restart, recreate',
      },
      project,
    );
    expect(main.exitCode).not.toBe(0);
    expect(main.outputs.result).toBe('failed');
    const r = await report(main);
    expect(r.modes.map((m) => [m.mode, m.passed])).toEqual([
      ['restart', true],
      ['recreate', false],
    ]);
    expect(r.layer).toEqual([{ service: 'app', path: '/appdata/orders.txt', kind: 'added' }]);
    expect(main.stdout).toMatch(
      /Data did not survive recreate: probe "app: cat \/appdata\/orders.txt \/state\/ok.txt" changed/,
    );
    expect(main.summary).toContain('/appdata/orders.txt');
    expectNothingLeft(leftovers);
  });

  it('fails when a probe changes between restarts', async () => {
    const project = `cp-e2e-probe-${process.pid}`;
    const { main, leftovers } = await runAction(
      {
        'compose-file': path.join(fixtures, 'layer-loss/compose.yml'),
        probes: 'app: cat /proc/1/stat | cut -d" " -f22',
        'restart-modes': 'restart',
        'check-files': 'off',
      },
      project,
    );
    expect(main.exitCode).not.toBe(0);
    const r = await report(main);
    expect(r.failures[0]).toMatch(/Data did not survive restart: probe "app: cat \/proc\/1\/stat/);
    expectNothingLeft(leftovers);
  });

  it('fails a stack that never becomes healthy with its logs, and still tears it down', async () => {
    const project = `cp-e2e-unhealthy-${process.pid}`;
    const { main, post, leftovers } = await runAction(
      { 'compose-file': path.join(fixtures, 'never-healthy/compose.yml'), 'wait-timeout': '5' },
      project,
    );
    expect(main.exitCode).not.toBe(0);
    const r = await report(main);
    expect(r.failures[0]).toMatch(/starting the stack: .*(unhealthy|not healthy)/);
    expect(r.serviceLogs.map((l) => l.service)).toEqual(['app']);
    expect(r.serviceLogs[0]?.tail).toContain('fatal: cannot open config');
    expect(main.summary).toContain('fatal: cannot open config');
    expect(post.exitCode).toBe(0);
    expectNothingLeft(leftovers);
  });

  it('kills a hanging test command at test-timeout, fails in one line, and still tears down', async () => {
    const project = `cp-e2e-hang-${process.pid}`;
    const started = Date.now();
    const { main, leftovers } = await runAction(
      {
        'compose-file': path.join(fixtures, 'layer-loss/compose.yml'),
        run: 'echo "waiting forever"; sleep 600',
        'test-timeout': '3',
      },
      project,
    );
    expect(main.exitCode).not.toBe(0);
    expect(main.stdout).toMatch(
      /::error::Test failed: host: `echo "waiting forever"; sleep 600` timed out after 3 s and was killed/,
    );
    // Well before the command's own 600 s (a whole action run on a loaded machine can take a minute or two).
    expect(Date.now() - started).toBeLessThan(300_000);
    expectNothingLeft(leftovers);
  }, 400_000);

  it('names a missing compose file in one line, before creating anything', async () => {
    const project = `cp-e2e-nofile-${process.pid}`;
    const missing = path.join(fixtures, 'no-such-stack/compose.yml');
    const { main, post, leftovers } = await runAction({ 'compose-file': missing }, project);
    expect(main.exitCode).not.toBe(0);
    expect(main.stdout).toContain(
      `::error::Input 'compose-file': ${missing} does not exist; give the path of your compose file.`,
    );
    expect(main.state).toEqual({});
    expect(post.exitCode).toBe(0);
    expectNothingLeft(leftovers);
  });

  it('fails in one line naming DOCKER_HOST when the daemon is unreachable, and post has nothing to undo', async () => {
    const main = await runStep('dist/main.js', {
      inputs: { 'compose-file': path.resolve('examples/postgres/compose.yml') },
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    expect(main.exitCode).not.toBe(0);
    expect(main.stdout).toMatch(
      /::error::Docker daemon unreachable at unix:\/\/\/nonexistent\/docker\.sock \(.*\): start dockerd or set DOCKER_HOST to a reachable engine\./,
    );
    expect(main.stdout).not.toMatch(/^\s+at .*\.js:\d+/m);
    const post = await runStep('dist/post.js', {
      state: main.state,
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    expect(post.exitCode).toBe(0);
  });

  it('rejects a bad input with one line naming the input, before creating anything', async () => {
    const project = `cp-e2e-badinput-${process.pid}`;
    const { main, leftovers } = await runAction(
      { 'compose-file': path.resolve('examples/postgres/compose.yml'), 'restart-modes': 'reboot' },
      project,
    );
    expect(main.exitCode).not.toBe(0);
    expect(main.stdout).toMatch(/::error::Input 'restart-modes': unknown value reboot; valid values are/);
    expect(main.stdout).not.toMatch(/at .*\.js:\d+/);
    expectNothingLeft(leftovers);
  });
});
