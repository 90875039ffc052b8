import { access, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { PrivateEngine } from '../support/private-engine.js';
import { startStep, runStep, type StepRun } from '../support/runner.js';
import { run } from '../volumes/fixtures.js';
import { Cleanup, composeFile, errorLines, reportOf, runnerEnv, uniqueName, waitFor } from './support.js';

// The Docker engine restarted in the middle of a run (a package upgrade, `systemctl restart docker`): the
// engine stops every container, then starts again those with a restart policy. A private dockerd stands in
// for the runner's engine, so restarting it takes no other test down. The run's test command signals that
// the stack is up and waits; the test restarts the engine meanwhile, then lets the command finish.
const cleanup = new Cleanup();
const privateEngine = new PrivateEngine();
let dir: string;

beforeAll(async () => {
  dir = await cleanup.tempDir();
  await privateEngine.start();
  privateEngine.loadImages([BUSYBOX_IMAGE]);
}, 120_000);

afterAll(async () => {
  await privateEngine.destroy();
  await cleanup.run();
}, 120_000);

/** A stack on the private engine: `app` keeps a volume and restarts always; `extra` lines add services. */
function stackYaml(extra: string[]): string {
  const service = (name: string, restart: string | null) => [
    `  ${name}:`,
    `    image: ${BUSYBOX_IMAGE}`,
    // Each start appends a line, so the volume shows how often the service was started.
    `    command: ['sh', '-c', 'echo started >> /data/${name}.starts; trap "exit 0" TERM; while true; do sleep 1; done']`,
    ...(restart ? [`    restart: ${restart}`] : []),
    '    stop_grace_period: 2s',
    '    volumes: [data:/data]',
  ];
  return [
    'services:',
    ...service('app', 'always'),
    ...extra.flatMap((e) => service(e, e === 'cron' ? 'unless-stopped' : null)),
    'volumes:',
    '  data: {}',
    '',
  ].join('\n');
}

interface EngineRestartRun {
  main: StepRun;
  post: StepRun;
  project: string;
}

/**
 * Runs main with a test command that waits while `disrupt` acts on the engine, then post. By default the
 * engine restarts; with `stopped`, it is down when main goes on and only started again before post.
 */
async function runWithEngineRestart(
  what: string,
  services: string[],
  disrupt: 'restart' | 'stop' = 'restart',
): Promise<EngineRestartRun> {
  const project = uniqueName(what);
  const file = await composeFile(dir, stackYaml(services), `${what}.yml`);
  const ready = path.join(dir, `${what}.ready`);
  const resume = path.join(dir, `${what}.resume`);
  const env = { ...runnerEnv(), ...privateEngine.env };
  const step = await startStep('dist/main.js', {
    inputs: {
      'project-name': project,
      'compose-file': file,
      'archive-to': 'none',
      'helper-image': BUSYBOX_IMAGE,
      'restart-modes': 'restart',
      probes: 'app: head -n 1 /data/app.starts',
      run: `touch ${ready}; while [ ! -e ${resume} ]; do sleep 0.2; done`,
    },
    env,
  });
  await waitFor(
    'the test command to start',
    () =>
      access(ready).then(
        () => true,
        () => undefined,
      ),
    120_000,
  );
  await (disrupt === 'restart' ? privateEngine.restart() : privateEngine.stop());
  await writeFile(resume, '');
  const main = await step.finished;
  if (disrupt === 'stop') await privateEngine.start();
  const post = await runStep('dist/post.js', { state: main.state, env });
  return { main, post, project };
}

/** Everything on the private engine: after post, only what the engine itself keeps. */
function engineContents(): { containers: string; volumes: string; networks: string[] } {
  const list = (args: string[]) => privateEngine.docker(args).stdout.trim();
  return {
    containers: list(['ps', '-aq']),
    volumes: list(['volume', 'ls', '-q']),
    networks: list(['network', 'ls', '--format', '{{.Name}}'])
      .split('\n')
      .filter((n) => !['bridge', 'host', 'none'].includes(n)),
  };
}

describe('the Docker engine restarted during the run', () => {
  it('services with a restart policy come back: the check passes and the report says the engine restarted them', async () => {
    const run = await runWithEngineRestart('enginerestart', ['cron']);
    expect(run.main.exitCode, run.main.stdout).toBe(0);
    const report = await reportOf(run.main);
    expect(report.result).toBe('passed');
    const warning = report.warnings.find((w) => w.startsWith('before the restarts:'));
    expect(warning, JSON.stringify(report.warnings)).toMatch(
      /^before the restarts: app, cron were started again at \d\d:\d\d:\d\d UTC by neither the check nor a crash: the Docker engine was restarted/,
    );
    expect(run.main.stdout).toContain(`::warning::${warning}`);
    expect(run.main.summary).toContain('the Docker engine was restarted');
    // The data written before the engine restart is still there: the probe read it before and after `restart`.
    expect(report.modes.map((m) => [m.mode, m.passed])).toEqual([['restart', true]]);
    expect(run.post.exitCode, run.post.stdout).toBe(0);
    expect(engineContents()).toEqual({ containers: '', volumes: '', networks: [] });
  }, 300_000);

  it('a service without a restart policy stays down: one error line naming it and the engine restart; post cleans up', async () => {
    const run = await runWithEngineRestart('enginerestartdown', ['worker']);
    expect(run.main.exitCode, run.main.stdout).not.toBe(0);
    const [line] = errorLines(run.main);
    expect(line).toMatch(
      /^::error::before the restarts: not healthy: worker \(exited, exit code 0\) \(app was started again at .* the Docker engine was restarted, or someone restarted it; worker stopped at the same time and stayed down \(no restart policy\)\)$/,
    );
    const report = await reportOf(run.main);
    expect(report.serviceLogs.map((l) => l.service)).toContain('worker');
    expect(run.post.exitCode, run.post.stdout).toBe(0);
    expect(engineContents()).toEqual({ containers: '', volumes: '', networks: [] });
  }, 300_000);

  it('an engine that stops during the run: one line naming DOCKER_HOST; post tears down once it is back', async () => {
    const run = await runWithEngineRestart('enginestopped', [], 'stop');
    expect(run.main.exitCode, run.main.stdout).not.toBe(0);
    const lines = errorLines(run.main);
    expect(lines[0]).toBe(
      `::error::Lost the Docker engine at ${privateEngine.host} during the run (connect ENOENT ${privateEngine.socket}): it stopped or is restarting. Start it again; the post step then tears the stack down.`,
    );
    expect(run.main.stdout).not.toMatch(/^\s+at .*\.js:\d+/m);
    expect(run.post.exitCode, run.post.stdout).toBe(0);
    expect(engineContents()).toEqual({ containers: '', volumes: '', networks: [] });
  }, 300_000);

  it('the shared engine is untouched: it still runs containers on its default bridge', async () => {
    // dockerd 20.10 deletes docker0 under some settings of a second daemon (see PrivateEngine).
    const result = await run('docker', ['run', '--rm', BUSYBOX_IMAGE, 'true']);
    expect(result.code, result.stderr).toBe(0);
  });
});
