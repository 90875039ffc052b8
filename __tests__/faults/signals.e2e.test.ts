import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_PROJECT_LABEL, RUN_LABEL } from '../../src/constants.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { startStep, runStep, type StepRun } from '../support/runner.js';
import { CLI, runOk } from '../volumes/fixtures.js';
import {
  Cleanup,
  NOTHING_LEFT,
  TEST_LABEL,
  composeFile,
  descendantsOf,
  digestOf,
  errorLines,
  engine,
  isAlive,
  leftoversOf,
  runnerEnv,
  uniqueName,
  waitFor,
} from './support.js';

// An interrupted CLI or a cancelled step must undo what it was doing before it exits: start again the
// containers an archive stopped or paused, remove the partial archive and the helper, remove (or empty) the
// volume a seed was filling, tear a check's stack down. The volume holds 300 MiB of random data, so a
// tar.gz archive of it takes seconds and the signal lands mid-stream.
const cleanup = new Cleanup();
const IMAGE = ['--helper-image', BUSYBOX_IMAGE];
const VOLUME_BYTES = 300 * 1024 * 1024;
/** PID 1 of an app container: exits at once on SIGTERM, so `stop` is quick. */
const APP_COMMAND = ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"];
let bigVolume: string;
let bigDigest: string;
let dir: string;

beforeAll(async () => {
  dir = await cleanup.tempDir();
  bigVolume = cleanup.volume(uniqueName('big'));
  await runOk('docker', ['volume', 'create', '--label', TEST_LABEL, bigVolume]);
  await inVolume(
    bigVolume,
    `head -c ${VOLUME_BYTES} /dev/urandom > /v/big && printf 'keep me\\n' > /v/small`,
  );
  bigDigest = await digestOf(bigVolume);
}, 120_000);

afterAll(async () => {
  // Code that ignores the signal leaves its helpers, which pin the volumes: remove them first.
  for (const runLabel of runIds)
    for (const helper of await helpersOf(runLabel)) await runOk('docker', ['rm', '-f', helper]);
  await cleanup.run();
});

/** The GITHUB_RUN_ID of each run these tests start: their helpers carry it. */
const runIds = new Set<string>();

function signalEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = runnerEnv(extra);
  runIds.add(env.GITHUB_RUN_ID as string);
  return env;
}

async function inVolume(volume: string, script: string): Promise<void> {
  const mount = `type=volume,source=${volume},target=/v`;
  const args = ['run', '--rm', '--network', 'none', '--label', TEST_LABEL, '--mount', mount];
  await runOk('docker', [...args, BUSYBOX_IMAGE, 'sh', '-c', script]);
}

/** A running container of the user's application that mounts the volume. */
async function startApp(volume: string): Promise<string> {
  const name = uniqueName('app');
  const mount = `type=volume,source=${volume},target=/data`;
  const args = ['run', '-d', '--name', name, '--label', TEST_LABEL, '--network', 'none', '--mount', mount];
  await runOk('docker', [...args, BUSYBOX_IMAGE, ...APP_COMMAND]);
  return name;
}

async function removeApp(name: string): Promise<void> {
  await runOk('docker', ['rm', '-f', name]);
}

async function appState(name: string): Promise<{ running: boolean; paused: boolean; status: string }> {
  const out = await runOk('docker', [
    'inspect',
    '-f',
    '{{.State.Running}} {{.State.Paused}} {{.State.Status}}',
    name,
  ]);
  const [running, paused, status] = out.stdout.trim().split(' ');
  return { running: running === 'true', paused: paused === 'true', status: status ?? '' };
}

interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Started {
  child: ChildProcess;
  exited: Promise<Exited>;
}

/**
 * Starts a command (the CLI, or `timeout … node dist/cli.js`) with its own run id; in a process group of
 * its own, as a shell runs a job, so Ctrl-C can be sent to the group.
 */
function start(file: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(file, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  cleanup.process(child.pid as number);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exited>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited };
}

function startCli(args: string[], env: Record<string, string>): Started {
  return start(process.execPath, [CLI, ...args], env);
}

async function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function helpersOf(runLabel: string): Promise<string[]> {
  const helpers = await engine.listContainers([RUN_LABEL]);
  return helpers.filter((c) => (c.labels[RUN_LABEL] ?? '').startsWith(`${runLabel}-`)).map((c) => c.name);
}

/** The partial files under dir, at any depth: archives are written as `.NAME.<random>.partial`. */
async function partialsUnder(dir: string, name = ''): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries
    .filter((e) => e.endsWith('.partial') && path.basename(e).startsWith(`.${name}`))
    .map((e) => path.join(dir, e));
}

/** Waits until a partial file of NAME under dir has data in it (the archive is being written), polling fast. */
async function untilGrowing(dir: string, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const written = async () =>
    (await partialsUnder(dir, name)).some((f) => existsSync(f) && statSync(f).size > 1024 * 1024);
  while (!(await written())) {
    if (Date.now() > deadline) throw new Error(`no partial file of ${name} under ${dir} was ever written`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
/** SIGTERM to the CLI; Ctrl-C: SIGINT to its whole process group (the wrapper forwards a second one); timeout. */
type Interrupt = 'SIGTERM' | 'Ctrl-C' | 'timeout';

describe.each([
  ['stop', 'SIGTERM'],
  ['stop', 'Ctrl-C'],
  ['stop', 'timeout'],
  ['pause', 'SIGTERM'],
  ['pause', 'Ctrl-C'],
  ['pause', 'timeout'],
] as const)('compose-persist archive --archive-consistency %s, interrupted by %s', (mode, how) => {
  let app: string;
  let stateWhenSignalled: { running: boolean; paused: boolean; status: string } | undefined;
  let run: Exited;
  let runLabel: string;
  let dest: string;

  beforeAll(async () => {
    app = await startApp(bigVolume);
    dest = path.join(dir, `${mode}-${how}.tar.gz`);
    runLabel = signalEnv().GITHUB_RUN_ID as string;
    run = await interruptArchive(how);
  }, 120_000);

  afterAll(() => removeApp(app));

  async function interruptArchive(interrupt: Interrupt): Promise<Exited> {
    const args = ['archive', bigVolume, dest, ...IMAGE, '--archive-consistency', mode];
    const env = { GITHUB_RUN_ID: runLabel };
    if (interrupt === 'timeout') {
      // The timer runs out mid-stream (the archive takes ~10 s); --preserve-status returns the CLI's code.
      const started = start(
        'timeout',
        ['-s', 'TERM', '--preserve-status', '4', process.execPath, CLI, ...args],
        env,
      );
      await untilGrowing(path.dirname(dest), path.basename(dest));
      stateWhenSignalled = await appState(app);
      return within('the CLI to exit', started.exited, 60_000);
    }
    const started = startCli(args, env);
    await untilGrowing(path.dirname(dest), path.basename(dest));
    stateWhenSignalled = await appState(app);
    if (interrupt === 'Ctrl-C') process.kill(-(started.child.pid as number), 'SIGINT');
    else started.child.kill(interrupt);
    return within(`the CLI to exit after ${interrupt}`, started.exited, 60_000);
  }

  it('the signal landed while the application was quiesced and the archive was being written', () => {
    expect(stateWhenSignalled).toEqual(
      mode === 'stop'
        ? { running: false, paused: false, status: 'exited' }
        : { running: true, paused: true, status: 'paused' },
    );
  });

  it(`exits ${how === 'Ctrl-C' ? 130 : 143} with one line saying what it restores`, () => {
    const signal = how === 'Ctrl-C' ? 'SIGINT' : 'SIGTERM';
    expect(run.code, run.stderr).toBe(SIGNAL_EXIT[signal]);
    expect(run.stdout).not.toContain('archived');
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('interrupted'));
    expect(lines, run.stderr).toEqual([
      expect.stringMatching(new RegExp(`^interrupted \\(${signal}\\): restoring `)),
    ]);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('the application runs again, unpaused; no archive, no partial file, no helper is left', async () => {
    expect(await appState(app)).toEqual({ running: true, paused: false, status: 'running' });
    expect(await partialsUnder(path.dirname(dest), path.basename(dest))).toEqual([]);
    expect(existsSync(dest)).toBe(false);
    expect(await helpersOf(runLabel)).toEqual([]);
  });
});

let seedArchive: string | undefined;

/** An archive of the big volume to seed from (made once). */
async function archiveToSeed(): Promise<string> {
  if (!seedArchive) {
    const file = path.join(dir, 'seed-source.tar.gz');
    await runOk(process.execPath, [
      CLI,
      'archive',
      bigVolume,
      file,
      ...IMAGE,
      '--archive-consistency',
      'live',
    ]);
    seedArchive = file;
  }
  return seedArchive;
}

describe('compose-persist seed, interrupted while it writes', () => {
  let archive: string;

  beforeAll(async () => {
    archive = await archiveToSeed();
  }, 120_000);

  async function interruptSeed(volume: string, signal: NodeJS.Signals) {
    const runLabel = signalEnv().GITHUB_RUN_ID as string;
    const started = startCli(['seed', volume, archive, ...IMAGE], { GITHUB_RUN_ID: runLabel });
    // The helper that receives the archive exists only while the data is written.
    await waitFor(
      'the seed helper',
      async () => ((await helpersOf(runLabel)).length ? true : undefined),
      60_000,
    );
    started.child.kill(signal);
    const exited = await within(`the CLI to exit after ${signal}`, started.exited, 60_000);
    return { exited, runLabel };
  }

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: the volume it created is removed, no helper is left',
    async (signal) => {
      const volume = cleanup.volume(uniqueName('seed-new'));
      const { exited, runLabel } = await interruptSeed(volume, signal);
      expect(exited.code, exited.stderr).toBe(SIGNAL_EXIT[signal]);
      expect(exited.stderr).toMatch(new RegExp(`^interrupted \\(${signal}\\): `, 'm'));
      expect(await engine.inspectVolume(volume)).toBeUndefined();
      expect(await helpersOf(runLabel)).toEqual([]);
    },
  );

  it('SIGTERM into an empty volume the user made: the volume stays, empty', async () => {
    const volume = cleanup.volume(uniqueName('seed-empty'));
    await runOk('docker', ['volume', 'create', '--label', TEST_LABEL, volume]);
    const emptyDigest = await digestOf(volume);
    const { exited, runLabel } = await interruptSeed(volume, 'SIGTERM');
    expect(exited.code, exited.stderr).toBe(143);
    expect(await engine.inspectVolume(volume)).toBeDefined();
    expect(await digestOf(volume)).toBe(emptyDigest);
    expect(await helpersOf(runLabel)).toEqual([]);
  });

  it('the source volume is unchanged by all of the interrupted archives and seeds', async () => {
    expect(await digestOf(bigVolume)).toBe(bigDigest);
  });
});

describe('compose-persist digest, interrupted while it reads a volume', () => {
  it('SIGTERM on the engine archive API: exits 143 and removes its helper', async () => {
    const runLabel = signalEnv().GITHUB_RUN_ID as string;
    const started = startCli(['digest', bigVolume, ...IMAGE], {
      GITHUB_RUN_ID: runLabel,
      COMPOSE_PERSIST_DATA_PATH: 'engine', // the helper is this path's; the host path reads with tar
    });
    await waitFor(
      'the digest helper',
      async () => ((await helpersOf(runLabel)).length ? true : undefined),
      60_000,
    );
    started.child.kill('SIGTERM');
    const exited = await within('the CLI to exit after SIGTERM', started.exited, 60_000);
    expect(exited.code, exited.stderr).toBe(143);
    expect(exited.stdout).not.toMatch(/sha256:/);
    expect(await helpersOf(runLabel)).toEqual([]);
  });

  it('SIGTERM on the host path: exits 143 and leaves no tar reading the volume', async () => {
    const mountpoint = (await engine.inspectVolume(bigVolume))?.mountpoint ?? '';
    expect(mountpoint).not.toBe('');
    const started = startCli(['digest', bigVolume, ...IMAGE], {
      GITHUB_RUN_ID: signalEnv().GITHUB_RUN_ID as string,
      COMPOSE_PERSIST_DATA_PATH: 'host',
    });
    const tarsReading = () => {
      const found = spawnSync('pgrep', ['-f', `directory=${mountpoint}`], { encoding: 'utf8' });
      return found.stdout.split('\n').filter(Boolean);
    };
    // 300 MiB go by in a second or two on this path: look often.
    const deadline = Date.now() + 60_000;
    while (tarsReading().length === 0) {
      if (Date.now() > deadline || started.child.exitCode !== null) throw new Error('no tar read the volume');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    started.child.kill('SIGTERM');
    const exited = await within('the CLI to exit after SIGTERM', started.exited, 60_000);
    expect(exited.code, exited.stderr).toBe(143);
    expect(exited.stdout).not.toMatch(/sha256:/);
    expect(tarsReading()).toEqual([]);
  });
});

/** A compose file: one service whose container mounts the volume `appdata` and stops at once on SIGTERM. */
async function appStack(): Promise<string> {
  const yaml = [
    'services:',
    '  app:',
    `    image: ${BUSYBOX_IMAGE}`,
    `    command: ${JSON.stringify(APP_COMMAND)}`,
    '    volumes: [appdata:/data]',
    'volumes:',
    '  appdata:',
  ];
  return composeFile(await cleanup.tempDir(), yaml.join('\n'));
}

/** A one-service stack whose `run:` command sleeps: the check is interrupted while it runs. */
async function startSleepingCheck(what: string) {
  const project = cleanup.project(uniqueName(what));
  const file = await appStack();
  const env = signalEnv();
  const started = startCli(
    ['check', '-f', file, '--project-name', project, '--run', 'sleep 600', '--archive-to', 'none', ...IMAGE],
    env,
  );
  const below = await waitFor(
    'the run: command to start',
    async () => {
      const procs = await descendantsOf(started.child.pid as number);
      return procs.some((p) => p.cmdline === 'sleep 600') ? procs : undefined;
    },
    120_000,
  );
  for (const p of below) cleanup.process(p.pid);
  return { project, env, started, below };
}

describe('compose-persist check, interrupted while its run: command runs', () => {
  it.each(['SIGHUP', 'SIGTERM'] as const)(
    '%s tears the stack down and stops the command',
    async (signal) => {
      const { project, env, started, below } = await startSleepingCheck(`check-${signal.toLowerCase()}`);
      started.child.kill(signal);
      const exited = await within(`the CLI to exit after ${signal}`, started.exited, 60_000);
      expect(exited.code, exited.stderr).toBe(SIGNAL_EXIT[signal]);
      expect(exited.stderr).toMatch(new RegExp(`^interrupted \\(${signal}\\): `, 'm'));
      expect(await leftoversOf(project, env.GITHUB_RUN_ID as string)).toEqual(NOTHING_LEFT);
      for (const p of below) expect(await isAlive(p.pid), p.cmdline).toBe(false);
    },
    180_000,
  );

  it('kill -9 of the CLI: its worker notices, tears the stack down and exits', async () => {
    const { project, env, started, below } = await startSleepingCheck('check-kill9');
    const worker = below.find((p) => p.cmdline.includes('--max-semi-space-size'));
    expect(worker, JSON.stringify(below)).toBeDefined();
    started.child.kill('SIGKILL');
    await waitFor(
      'the worker to exit',
      async () => ((await isAlive(worker!.pid)) ? undefined : true),
      60_000,
    );
    expect(await leftoversOf(project, env.GITHUB_RUN_ID as string)).toEqual(NOTHING_LEFT);
    for (const p of below) expect(await isAlive(p.pid), p.cmdline).toBe(false);
  }, 180_000);
});

describe('the runner cancels a step while it archives or seeds', () => {
  /** A compose stack of the user's, up, whose volume holds 300 MiB. */
  async function userStack(what: string) {
    const project = cleanup.project(uniqueName(what));
    const file = await appStack();
    await runOk('docker', ['compose', '-p', project, '-f', file, 'up', '-d', '--wait']);
    const fill = `head -c ${VOLUME_BYTES} /dev/urandom > /data/big`;
    await runOk('docker', ['compose', '-p', project, '-f', file, 'exec', '-T', 'app', 'sh', '-c', fill]);
    const [container] = await engine.listContainers([`${COMPOSE_PROJECT_LABEL}=${project}`]);
    return { project, file, container: container!.name };
  }

  async function cancelWhileArchiving(entry: string, what: string) {
    const { project, file, container } = await userStack(what);
    const temp = await cleanup.tempDir();
    const target = await cleanup.tempDir();
    const env = signalEnv({ RUNNER_TEMP: temp });
    const step = await startStep(entry, {
      inputs: {
        'compose-file': file,
        'project-name': project,
        'archive-to': `path:${target}`,
        'archive-format': 'tar.gz',
        'archive-consistency': 'stop',
        'helper-image': BUSYBOX_IMAGE,
      },
      env,
    });
    cleanup.process(step.pid);
    await untilGrowing(temp, 'appdata.tar.gz', 150_000);
    const stateWhenSignalled = await appState(container);
    step.kill('SIGTERM');
    const main: StepRun = await within('the step to exit after SIGTERM', step.finished, 60_000);
    const stateAfter = await appState(container);
    const partials = [...(await partialsUnder(temp)), ...(await readdir(target))];
    return {
      project,
      env,
      main,
      stateWhenSignalled,
      stateAfter,
      partials,
      helpers: await helpersOf(env.GITHUB_RUN_ID as string),
    };
  }

  it('archive/ (a stack the user manages): the stopped container runs again, nothing is left', async () => {
    const run = await cancelWhileArchiving('dist/archive.js', 'act-archive');
    expect(run.stateWhenSignalled.status).toBe('exited');
    expect(run.main.exitCode, run.main.stdout).not.toBe(0);
    expect(errorLines(run.main)).toEqual([
      '::error::Cancelled (SIGTERM): stopping running commands and undoing any seed or archive in progress.',
      '::error::Interrupted by SIGTERM: the work in progress was undone.',
    ]);
    expect(run.stateAfter, run.main.stdout).toEqual({ running: true, paused: false, status: 'running' });
    expect(run.partials).toEqual([]);
    expect(run.helpers).toEqual([]);
  }, 240_000);

  it('main (the whole check): the stopped container runs again before main exits; post tears down', async () => {
    const run = await cancelWhileArchiving('dist/main.js', 'act-main');
    expect(run.stateWhenSignalled.status).toBe('exited');
    expect(run.main.exitCode, run.main.stdout).not.toBe(0);
    expect(run.stateAfter, run.main.stdout).toEqual({ running: true, paused: false, status: 'running' });
    expect(run.partials).toEqual([]);
    expect(run.helpers).toEqual([]);
    const post = await runStep('dist/post.js', { state: run.main.state, env: run.env });
    expect(post.exitCode, post.stdout).toBe(0);
    const left = await leftoversOf(run.project, run.env.GITHUB_RUN_ID as string);
    expect({ ...left, volumes: [] }).toEqual(NOTHING_LEFT); // the volume was the user's: it stays
  }, 240_000);

  it('seed/ cancelled with SIGINT while it writes: the volume it created is removed, no helper', async () => {
    const project = cleanup.project(uniqueName('act-seed'));
    const env = signalEnv();
    const step = await startStep('dist/seed.js', {
      inputs: {
        'compose-file': await appStack(),
        'project-name': project,
        seed: `appdata: path:${await archiveToSeed()}`,
        'helper-image': BUSYBOX_IMAGE,
      },
      env,
    });
    cleanup.process(step.pid);
    const runLabel = env.GITHUB_RUN_ID as string;
    await waitFor(
      'the seed helper',
      async () => ((await helpersOf(runLabel)).length ? true : undefined),
      120_000,
    );
    step.kill('SIGINT');
    const main = await within('the step to exit after SIGINT', step.finished, 60_000);
    expect(main.exitCode, main.stdout).not.toBe(0);
    expect(errorLines(main)).toEqual([
      '::error::Cancelled (SIGINT): stopping running commands and undoing any seed or archive in progress.',
      '::error::Interrupted by SIGINT: the work in progress was undone.',
    ]);
    expect(await engine.inspectVolume(`${project}_appdata`)).toBeUndefined();
    expect(await helpersOf(runLabel)).toEqual([]);
  }, 240_000);
});
