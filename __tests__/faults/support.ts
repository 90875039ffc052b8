import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import { RUN_LABEL } from '../../src/constants.js';
import type { Report } from '../../src/report/schema.js';
import { DockerEngine } from '../../src/docker/engine.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { runStep, type StepRun } from '../support/runner.js';
import { cli, run, runOk } from '../volumes/fixtures.js';

export const engine = new DockerEngine();
/** Marks what these tests create (never the action's run label), so a leak is easy to trace. */
export const TEST_LABEL = 'dev.compose-persist.test=faults';

/** Lowercase and compose-safe, unique across concurrent test runs. */
export function uniqueName(what: string): string {
  return `cp-fault-${what}-${randomBytes(4).toString('hex')}`;
}

/** report.json, as the action writes it. */
export type FaultReport = Report;

export async function reportOf(main: StepRun): Promise<FaultReport> {
  expect(main.outputs.report, main.stdout).toBeDefined();
  return JSON.parse(await readFile(main.outputs.report as string, 'utf8')) as FaultReport;
}

/** The `::error::` lines a step printed (what the user sees as the step's failure). */
export function errorLines(step: StepRun | string): string[] {
  const text = typeof step === 'string' ? step : step.stdout;
  return text.split('\n').filter((line) => line.startsWith('::error::'));
}

/** What a test created: removed in afterAll, whatever state the action left. */
export class Cleanup {
  private readonly volumes = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly projects = new Set<string>();
  private readonly pids = new Set<number>();

  async tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cp-fault-'));
    this.dirs.add(dir);
    return dir;
  }

  volume(name: string): string {
    this.volumes.add(name);
    return name;
  }

  project(name: string): string {
    this.projects.add(name);
    return name;
  }

  /** A process a step started and may have left behind; killed by its id. */
  process(pid: number): void {
    this.pids.add(pid);
  }

  async run(): Promise<void> {
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const project of this.projects) {
      const ids = (
        await run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])
      ).stdout
        .split('\n')
        .filter(Boolean);
      if (ids.length) await run('docker', ['rm', '-f', '-v', ...ids]);
      for (const network of await projectNetworks(project)) await run('docker', ['network', 'rm', network]);
      for (const volume of await projectVolumes(project)) this.volumes.add(volume);
    }
    for (const volume of this.volumes) await engine.removeVolume(volume).catch(() => undefined);
    for (const dir of this.dirs) await rm(dir, { recursive: true, force: true });
  }
}

/** A volume that belongs to the user (it existed before the run), holding a few files. */
export async function createUserVolume(cleanup: Cleanup, what = 'user'): Promise<string> {
  const name = cleanup.volume(uniqueName(what));
  await runOk('docker', ['volume', 'create', '--label', TEST_LABEL, name]);
  await runOk('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    '--label',
    TEST_LABEL,
    '--mount',
    `type=volume,source=${name},target=/v`,
    BUSYBOX_IMAGE,
    'sh',
    '-c',
    "mkdir /v/d && printf 'keep me\\n' > /v/d/precious && head -c 65536 /dev/urandom > /v/noise && chown -R 999:999 /v",
  ]);
  return name;
}

/** The volume digest as a user gets it: `node dist/cli.js digest VOL` (last line). */
export async function digestOf(volume: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const result = await cli(['digest', volume, '--helper-image', BUSYBOX_IMAGE], env);
  expect(result.code, result.stderr).toBe(0);
  const digest = result.stdout.trim().split('\n').at(-1) ?? '';
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  return digest;
}

export async function projectNetworks(project: string): Promise<string[]> {
  const result = await runOk('docker', [
    'network',
    'ls',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${project}`,
  ]);
  return result.stdout.split('\n').filter(Boolean);
}

/** Volumes named with the project prefix, or labelled with the project. */
export async function projectVolumes(project: string): Promise<string[]> {
  const all = await engine.listVolumes([]);
  return all
    .filter((v) => v.name.startsWith(`${project}_`) || v.labels['com.docker.compose.project'] === project)
    .map((v) => v.name);
}

/** The runner env of one action run: a run id of its own, so its helper containers can be told apart. */
export function runnerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { GITHUB_RUN_ID: String(randomInt(1e9, 2e9)), GITHUB_JOB: 'faults', ...extra };
}

export interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
  helpers: string[];
}

/** What the action left of a project (and of its helper containers, labelled `<run id>-...`). */
export async function leftoversOf(project: string, githubRunId: string): Promise<Leftovers> {
  const containers = await engine.listContainers([`com.docker.compose.project=${project}`]);
  const helpers = (await engine.listContainers([RUN_LABEL])).filter((c) =>
    (c.labels[RUN_LABEL] ?? '').startsWith(`${githubRunId}-`),
  );
  return {
    containers: containers.map((c) => c.name),
    networks: await projectNetworks(project),
    volumes: await projectVolumes(project),
    helpers: helpers.map((c) => c.name),
  };
}

export const NOTHING_LEFT: Leftovers = { containers: [], networks: [], volumes: [], helpers: [] };

export interface ActionRun {
  main: StepRun;
  post: StepRun;
  leftovers: Leftovers;
}

/** dist/main.js then dist/post.js with main's state, as the runner runs them; then what is left. */
export async function runAction(
  project: string,
  inputs: Record<string, string>,
  env: Record<string, string> = runnerEnv(),
): Promise<ActionRun> {
  const main = await runStep('dist/main.js', {
    inputs: { 'project-name': project, 'archive-to': 'none', 'helper-image': BUSYBOX_IMAGE, ...inputs },
    env,
  });
  const post = await runStep('dist/post.js', { state: main.state, env });
  const leftovers = await leftoversOf(project, env.GITHUB_RUN_ID as string);
  return { main, post, leftovers };
}

/** A compose file written into dir. */
export async function composeFile(dir: string, text: string, name = 'compose.yml'): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

/** Every live process below pid (children, grandchildren, ...), from /proc. */
export async function descendantsOf(pid: number): Promise<{ pid: number; cmdline: string }[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (stat && Number.isInteger(ppid)) parents.set(Number(entry), ppid);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift() as number;
    for (const [child, ppid] of parents) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return Promise.all(
    found.map(async (p) => ({
      pid: p,
      cmdline: (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim(),
    })),
  );
}

/** Whether pid is a live process (a zombie is not: it runs nothing and only waits to be reaped). */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Polls `check` until it returns a value, or fails after timeoutMs naming what it waited for. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
