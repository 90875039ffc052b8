import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunnerContext } from '../../src/context.js';
import { DockerEngine } from '../../src/docker/engine.js';
import { runTool } from '../../src/docker/exec.js';
import { readSettings } from '../../src/inputs.js';
import { runPipeline } from '../../src/pipeline.js';
import type { Report } from '../../src/report/schema.js';
import { teardownStack, type TeardownPlan } from '../../src/stack/teardown.js';
import { recordingLog } from '../__fixtures__/phase-input.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { askingComposeConfig, asksBeforeRecreating, composeVersion } from '../support/asking-compose.js';

// Compose 2.32+ asks "Recreate (data will be lost)?" when a project volume's config-hash label differs from
// its definition (a fixed project name reused with another file). With stdin an open pipe it waits forever
// (the check sat there until killed at 300 s); at EOF it answers no. Run with a compose that asks.
const engine = new DockerEngine();
const project = `cp-itg-asked-${randomBytes(3).toString('hex')}`;
const volume = `${project}_appdata`;
const dir = mkdtempSync(path.join(tmpdir(), 'cp-asked-'));
const file = path.join(dir, 'compose.yml');
const HUNG_AFTER_MS = 150_000;
const savedDockerConfig = process.env.DOCKER_CONFIG;
let plan: TeardownPlan | undefined;

beforeAll(() => {
  const config = askingComposeConfig();
  if (config) process.env.DOCKER_CONFIG = config;
  writeFileSync(
    file,
    `services:
  app:
    image: ${BUSYBOX_IMAGE}
    command: ['sh', '-c', 'exec sleep 1000000']
    stop_grace_period: 1s
    volumes:
      - appdata:/data
volumes:
  appdata:
`,
  );
});

afterAll(async () => {
  if (plan) await teardownStack(plan, engine);
  await engine.removeVolume(volume).catch(() => undefined);
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
  else process.env.DOCKER_CONFIG = savedDockerConfig;
  rmSync(dir, { recursive: true, force: true });
});

describe('a project volume whose config-hash label does not match its definition', () => {
  it('the check does not hang on compose asking to recreate it, says what compose asked, and keeps the data', async () => {
    const version = composeVersion(process.env.DOCKER_CONFIG);
    expect(asksBeforeRecreating(version), `compose ${version} does not ask: this test needs 2.32+`).toBe(
      true,
    );
    // A volume an earlier run made from another definition, with data in it.
    await engine.createVolume(volume, {
      'com.docker.compose.project': project,
      'com.docker.compose.volume': 'appdata',
      'com.docker.compose.version': version,
      'com.docker.compose.config-hash': 'made-by-another-definition',
    });
    await runTool('docker', [
      'run',
      '--rm',
      '-v',
      `${volume}:/data`,
      BUSYBOX_IMAGE,
      'sh',
      '-c',
      'echo kept > /data/orders',
    ]);

    const inputs: Record<string, string> = {
      'compose-file': file,
      'project-name': project,
      'restart-modes': 'restart, recreate', // recreate runs `up` again: compose asks again
      probes: 'app: cat /data/orders',
      'archive-to': 'none',
      'helper-image': BUSYBOX_IMAGE,
    };
    const log = recordingLog();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => {
        abort.abort(new Error('the check hung'));
        resolve('hung');
      }, HUNG_AFTER_MS);
    });
    const run = runPipeline(
      readSettings((name) => inputs[name] ?? ''),
      readRunnerContext(),
      { saveTeardown: (saved) => (plan = saved), signal: abort.signal },
      { engine, log },
    );
    const outcome = await Promise.race([run, hung]).finally(() => clearTimeout(timer));
    expect(outcome, `the check did not finish within ${HUNG_AFTER_MS / 1000} s`).not.toBe('hung');
    const report = outcome as Report;

    expect(report.result, report.failures.join('\n')).toBe('passed');
    const question = `Volume "${volume}" exists but doesn't match configuration in compose file. Recreate (data will be lost)?`;
    const asked = report.warnings.filter((w) => w.startsWith('Compose asked'));
    expect(asked).toEqual([expect.stringContaining(`Compose asked: ${question} It read no`)]);
    expect(asked[0]).toContain(`docker volume rm ${volume}`);
    expect(log.lines).toContain(`warning: ${asked[0]}`);
    // Never answered yes: the same volume, its label and its data as they were.
    const after = await engine.inspectVolume(volume);
    expect(after?.labels['com.docker.compose.config-hash']).toBe('made-by-another-definition');
    const data = await runTool('docker', [
      'run',
      '--rm',
      '-v',
      `${volume}:/data`,
      BUSYBOX_IMAGE,
      'cat',
      '/data/orders',
    ]);
    expect(data.stdout).toBe('kept\n');
  });
});
