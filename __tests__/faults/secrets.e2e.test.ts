import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { runStep, startStep } from '../support/runner.js';
import { CLI } from '../volumes/fixtures.js';
import {
  Cleanup,
  NOTHING_LEFT,
  composeFile,
  createUserVolume,
  descendantsOf,
  digestOf,
  engine,
  errorLines,
  isAlive,
  leftoversOf,
  reportOf,
  runAction,
  runnerEnv,
  uniqueName,
} from './support.js';

// Issue 11, points 4, 5 and 13: secrets stay out of the user's commands, and inputs that cannot work are
// refused before anything starts (so a bad key never leaves a zstd child keeping the step alive).
const cleanup = new Cleanup();
let dir: string;
let userVolume: string;
let userDigest: string;

const KEY = 'e2e-encrypt-key-7f3a9c1d5b';
const TOKEN = 'ghs_e2eTokenThatMustNotLeak0451';
const PERSIST_KEY = 'cli-env-key-3c9d1e7a2b';
const RUNTIME_TOKEN = 'eyJe2e.runtime.token-9a7c';
const SECRETS = [KEY, TOKEN, PERSIST_KEY, RUNTIME_TOKEN];

beforeAll(async () => {
  dir = await cleanup.tempDir();
  userVolume = await createUserVolume(cleanup);
  userDigest = await digestOf(userVolume);
});

afterAll(() => cleanup.run());

/** One busybox service with a volume of its own and the user's (external) volume. */
async function stackFile(what: string): Promise<string> {
  return composeFile(
    dir,
    [
      'services:',
      '  app:',
      `    image: ${BUSYBOX_IMAGE}`,
      '    command: ["sh", "-c", "echo kept > /data/f; exec sleep 3600"]',
      '    stop_grace_period: 1s',
      '    volumes:',
      '      - data:/data',
      '      - userdata:/user',
      'volumes:',
      '  data:',
      '  userdata:',
      '    external: true',
      `    name: ${userVolume}`,
      '',
    ].join('\n'),
    `${what}.yml`,
  );
}

/** The secrets found in `text` (none, we hope). */
function secretsIn(text: string): string[] {
  return SECRETS.filter((secret) => text.includes(secret));
}

/** Every process seen below `pid` while it ran: its command line, and its environment when `withEnv` says so. */
function sampleProcesses(pid: number, withEnv: (cmdline: string) => boolean) {
  const seen = new Map<number, { cmdline: string; environ?: string }>();
  let running = true;
  const sampling = (async () => {
    while (running) {
      for (const child of await descendantsOf(pid)) {
        if (seen.has(child.pid) || !child.cmdline) continue;
        const environ = withEnv(child.cmdline)
          ? (await readFile(`/proc/${child.pid}/environ`, 'utf8').catch(() => undefined))
              ?.split('\0')
              .join('\n')
          : undefined;
        seen.set(child.pid, { cmdline: child.cmdline, environ });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return async () => {
    running = false;
    await sampling;
    return [...seen.values()];
  };
}

describe('secrets never reach the user’s commands (point 4)', () => {
  it('run, exec and host probes see neither the key, the token, COMPOSE_PERSIST_KEY nor the runtime token; nor do logs, summary, report or any command line', async () => {
    const project = cleanup.project(uniqueName('secrets'));
    const env = runnerEnv({
      COMPOSE_PERSIST_KEY: PERSIST_KEY,
      ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN,
      ACTIONS_RESULTS_URL: 'http://127.0.0.1:9/',
    });
    const runEnvFile = path.join(dir, `${project}-run.env`);
    const probeEnvFile = path.join(dir, `${project}-probe.env`);
    const archives = path.join(dir, `${project}-archives`);
    const step = await startStep('dist/main.js', {
      inputs: {
        'project-name': project,
        'compose-file': await stackFile(project),
        'helper-image': BUSYBOX_IMAGE,
        encrypt: KEY,
        'github-token': TOKEN,
        // `; true` keeps bash itself running during the sleep (it would exec a last simple command).
        run: `env > ${runEnvFile}; sleep 2; true`,
        exec: 'app: sleep 2',
        probes: [
          `host: env > ${probeEnvFile}; echo probed`,
          // Its output lands in report.json and the summary: what a leaking probe would publish.
          'host: env | grep -e INPUT_ -e ACTIONS_RUNTIME -e ACTIONS_RESULTS -e COMPOSE_PERSIST || echo none',
          'app: cat /data/f',
        ].join('\n'),
        'restart-modes': 'restart',
        'archive-to': `path:${archives}`,
      },
      env,
    });
    // User commands are `bash -e -o pipefail -c …` and `docker compose … exec -T …`: their environment is read too.
    const stopSampling = sampleProcesses(step.pid, (cmdline) => /pipefail -c|\bexec -T\b/.test(cmdline));
    const main = await step.finished;
    const processes = await stopSampling();
    const post = await runStep('dist/post.js', { state: main.state, env });

    expect(main.exitCode, main.stdout).toBe(0);
    const runEnv = await readFile(runEnvFile, 'utf8');
    const probeEnv = await readFile(probeEnvFile, 'utf8');
    for (const seen of [runEnv, probeEnv]) {
      expect(secretsIn(seen)).toEqual([]);
      expect(seen).not.toMatch(/^(INPUT_|STATE_|ACTIONS_RUNTIME_TOKEN=|ACTIONS_RESULTS_URL=)/m);
      expect(seen).toContain(`COMPOSE_PROJECT_NAME=${project}`);
      expect(seen).toMatch(/^PATH=/m);
    }
    const report = await reportOf(main);
    expect(report.modes[0]?.probes.map((p) => p.before)).toEqual(['probed', 'none', 'kept']);
    // The runner masks what core.setSecret names; those lines are the only place a secret may appear.
    const log = main.stdout
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    expect(secretsIn(log)).toEqual([]);
    expect(secretsIn(main.summary)).toEqual([]);
    expect(secretsIn(await readFile(main.outputs.report as string, 'utf8'))).toEqual([]);
    for (const file of await readdir(archives)) expect(file).toMatch(/\.enc$/);

    const userCommands = processes.filter((p) => p.environ !== undefined);
    expect(userCommands.map((p) => p.cmdline).join('\n')).toMatch(/pipefail -c env >/);
    expect(userCommands.map((p) => p.cmdline).join('\n')).toMatch(/exec -T app sh -c sleep 2/);
    for (const p of userCommands) {
      expect(secretsIn(p.environ as string), p.cmdline).toEqual([]);
      expect(p.environ, p.cmdline).not.toMatch(/^INPUT_/m);
    }
    expect(processes.length).toBeGreaterThan(3);
    for (const p of processes) expect(secretsIn(p.cmdline), p.cmdline).toEqual([]);

    expect(post.exitCode, post.stdout).toBe(0);
    expect(await leftoversOf(project, env.GITHUB_RUN_ID as string)).toEqual(NOTHING_LEFT);
    expect(await digestOf(userVolume)).toBe(userDigest);
  });
});

/** Kills `pid` and every process below it (a hung step and what it started), by their ids. */
async function killTree(pid: number): Promise<void> {
  for (const p of [...(await descendantsOf(pid)).map((d) => d.pid), pid]) {
    cleanup.process(p);
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Waits for `exited` (the process `pid` ending); after `limitMs` it is a hang, and the tree is killed. */
async function endsWithin<T>(pid: number, exited: Promise<T>, limitMs: number): Promise<{ hung: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), limitMs)));
  const outcome = await Promise.race([exited, limit]);
  clearTimeout(timer);
  if (outcome !== 'hung') return { hung: false };
  await killTree(pid);
  return { hung: true };
}

/** Runs the built CLI; a hang is killed after `limitMs`; reports which zstd children outlived it. */
async function cliWithin(args: string[], limitMs: number) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const zstd = new Set<number>();
  const watch = setInterval(
    () =>
      void descendantsOf(child.pid as number).then((found) => {
        for (const p of found) if (p.cmdline.startsWith('zstd')) zstd.add(p.pid);
      }),
    50,
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const { hung } = await endsWithin(child.pid as number, exited, limitMs);
  const code = hung ? null : await exited;
  clearInterval(watch);
  const zstdLeft = [];
  for (const pid of zstd) if (await isAlive(pid)) zstdLeft.push(pid);
  for (const pid of zstdLeft) await killTree(pid);
  return { code, hung, stderr, zstdLeft };
}

describe('an encrypt key under 16 characters is refused before anything starts (point 5)', () => {
  it('CLI archive --encrypt SHORT: exits on its own with one line naming --encrypt, no zstd child left', async () => {
    const file = path.join(dir, 'short-key.tar.zst.enc');
    const result = await cliWithin(
      ['archive', userVolume, file, '--encrypt', 'short', '--helper-image', BUSYBOX_IMAGE],
      30_000,
    );
    expect(result.hung, 'the CLI hung until it was killed').toBe(false);
    expect(result.zstdLeft).toEqual([]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^compose-persist archive: --encrypt \(or COMPOSE_PERSIST_KEY\) is too short \(5 characters\): use a random secret of at least 16 characters/,
    );
    expect(result.stderr).not.toContain('short\n');
    expect(await readdir(dir)).not.toContain('short-key.tar.zst.enc.partial');
    expect(await digestOf(userVolume)).toBe(userDigest);
  });

  it('CLI seed with a wrong key: the decryptor fails mid-pipeline, zstd is killed, the CLI exits on its own', async () => {
    const file = path.join(dir, 'sealed.tar.zst.enc');
    const sealed = await cliWithin(
      ['archive', userVolume, file, '--encrypt', KEY, '--helper-image', BUSYBOX_IMAGE],
      60_000,
    );
    expect(sealed.code, sealed.stderr).toBe(0);
    const target = cleanup.volume(uniqueName('wrongkey'));
    const result = await cliWithin(
      ['seed', target, file, '--encrypt', 'a-wrong-key-of-16+chars', '--helper-image', BUSYBOX_IMAGE],
      30_000,
    );
    expect(result.hung, 'the CLI hung until it was killed').toBe(false);
    expect(result.zstdLeft).toEqual([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/sealed\.tar\.zst\.enc cannot be decrypted: wrong key/);
    expect(await engine.inspectVolume(target)).toBeUndefined();
    expect(await digestOf(userVolume)).toBe(userDigest);
  });

  it('the action with encrypt: SHORT fails on the input, before the stack starts, and exits on its own', async () => {
    const project = cleanup.project(uniqueName('shortkey'));
    const env = runnerEnv();
    const step = await startStep('dist/main.js', {
      inputs: {
        'project-name': project,
        'compose-file': await stackFile(project),
        'helper-image': BUSYBOX_IMAGE,
        encrypt: 'short',
        'archive-to': `path:${dir}`,
      },
      env,
    });
    // Old code checked the key only when archiving, after the whole check, then hung on its zstd child.
    const { hung } = await endsWithin(step.pid, step.finished, 60_000);
    const main = await step.finished;
    const post = await runStep('dist/post.js', { state: main.state, env });
    expect(hung, 'the step hung until it was killed').toBe(false);
    expect(main.exitCode, main.stdout).not.toBe(0);
    expect(errorLines(main)).toEqual([
      "::error::Input 'encrypt' is too short (5 characters): use a random secret of at least 16 characters (e.g. openssl rand -base64 32).",
    ]);
    expect(main.state, 'teardown state saved: something was started').toEqual({});
    expect(post.exitCode).toBe(0);
    expect(await leftoversOf(project, env.GITHUB_RUN_ID as string)).toEqual(NOTHING_LEFT);
    expect(await digestOf(userVolume)).toBe(userDigest);
  });
});

describe('inputs that cannot work are refused before up (point 13)', () => {
  async function refusedBeforeUp(what: string, inputs: Record<string, string>, message: string) {
    const project = cleanup.project(uniqueName(what));
    const run = await runAction(project, { 'compose-file': await stackFile(project), ...inputs });
    expect(run.main.exitCode, run.main.stdout).not.toBe(0);
    expect(errorLines(run.main)).toEqual([`::error::${message}`]);
    expect(run.main.stdout).not.toContain('Start the stack');
    expect(run.main.state, 'teardown state saved: something was started').toEqual({});
    expect(run.leftovers).toEqual(NOTHING_LEFT);
  }

  it('a probe or exec naming a service the stack lacks: the stack’s services listed', async () => {
    await refusedBeforeUp(
      'nosvc',
      { probes: 'ap: cat /data/f', exec: 'app: true' },
      "Input 'probes': no service named ap in the stack; its services are: app.",
    );
    await refusedBeforeUp(
      'noexec',
      { exec: 'web: true' },
      "Input 'exec': no service named web in the stack; its services are: app.",
    );
  });

  it('`app:cat …` (no space) is refused instead of running `app:cat` on the host', async () => {
    await refusedBeforeUp(
      'nospace',
      { probes: 'app:cat /data/f' },
      `Input 'probes': line "app:cat /data/f" is not SERVICE: COMMAND (a space after the colon): write "app: cat /data/f".`,
    );
  });

  it('an artifact name GitHub refuses (a/b:c) fails on the input, not after the whole check', async () => {
    await refusedBeforeUp(
      'artname',
      { 'archive-to': 'artifact', 'artifact-name': 'a/b:c' },
      `Input 'artifact-name': "a/b:c" is not a valid artifact name: it must not contain " : < > | * ? \\ / or a line break.`,
    );
  });

  it('the user’s volume is unchanged after all of them', async () => {
    expect(await digestOf(userVolume)).toBe(userDigest);
  });
});
