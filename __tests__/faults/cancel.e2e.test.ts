import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPOSE_PROJECT_LABEL } from '../../src/constants.js';
import '../support/images.js';
import { runStep, startStep, type StepRun } from '../support/runner.js';
import {
  Cleanup,
  NOTHING_LEFT,
  createUserVolume,
  descendantsOf,
  digestOf,
  engine,
  isAlive,
  leftoversOf,
  runnerEnv,
  uniqueName,
  waitFor,
  type Leftovers,
} from './support.js';

// The runner cancels a job by signalling the step's node process (SIGINT, then SIGTERM); the post step
// (post-if: always()) then runs with the state main saved. Here main is signalled while its `run:` command
// is running on a healthy PostgreSQL stack.
const cleanup = new Cleanup();
let userVolume: string;
let userDigest: string;

beforeAll(async () => {
  userVolume = await createUserVolume(cleanup);
  userDigest = await digestOf(userVolume);
});

afterAll(() => cleanup.run());

interface Cancelled {
  stateBeforeUp: Record<string, string>;
  runCommand: { pid: number; cmdline: string }[];
  main: StepRun;
  post: StepRun;
  leftovers: Leftovers;
}

async function cancelDuringRun(signal: NodeJS.Signals): Promise<Cancelled> {
  const project = cleanup.project(uniqueName(`cancel-${signal.toLowerCase()}`));
  const env = runnerEnv();
  const step = await startStep('dist/main.js', {
    inputs: {
      'compose-file': path.resolve('examples/postgres/compose.yml'),
      'project-name': project,
      run: 'sleep 600',
      'archive-to': 'none',
    },
    env,
  });
  cleanup.process(step.pid);
  try {
    // The moment compose has created the container, the teardown plan must already be saved.
    const stateBeforeUp = await waitFor(
      'the project container to exist',
      async () => {
        const containers = await engine.listContainers([`${COMPOSE_PROJECT_LABEL}=${project}`]);
        return containers.length ? await step.state() : undefined;
      },
      120_000,
    );
    await waitFor(
      'the db container to be healthy',
      async () => {
        const [c] = await engine.listContainers([`${COMPOSE_PROJECT_LABEL}=${project}`]);
        return c && (await engine.inspectContainer(c.id)).health === 'healthy' ? true : undefined;
      },
      120_000,
    );
    const runCommand = await waitFor(
      'the run: command to start',
      async () => {
        const below = await descendantsOf(step.pid);
        return below.some((p) => p.cmdline.includes('sleep 600')) ? below : undefined;
      },
      60_000,
    );
    for (const p of runCommand) cleanup.process(p.pid);
    step.kill(signal);
    const main = await Promise.race([
      step.finished,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`main did not exit within 30 s of ${signal}`)), 30_000),
      ),
    ]);
    const post = await runStep('dist/post.js', { state: main.state, env });
    const leftovers = await leftoversOf(project, env.GITHUB_RUN_ID as string);
    return { stateBeforeUp, runCommand, main, post, leftovers };
  } catch (error) {
    step.kill('SIGKILL');
    throw error;
  }
}

describe.each(['SIGTERM', 'SIGINT'] as const)('the runner cancels the job with %s', (signal) => {
  let run: Cancelled;

  beforeAll(async () => {
    run = await cancelDuringRun(signal);
  }, 240_000);

  it('main had saved the teardown plan by the time compose created the container', () => {
    expect(Object.keys(run.stateBeforeUp)).toEqual(['teardown']);
    expect(JSON.parse(run.stateBeforeUp.teardown as string)).toMatchObject({
      createdVolumes: [expect.stringMatching(/_pgdata$/)],
    });
  });

  it('main stops, and post (with main’s saved state) removes everything the run created', async () => {
    expect(run.main.signal === signal || run.main.exitCode !== 0, run.main.stdout).toBe(true);
    expect(run.main.outputs.result).not.toBe('passed');
    expect(run.post.exitCode, run.post.stdout).toBe(0);
    expect(run.post.stdout).not.toMatch(/::warning::/);
    expect(run.leftovers).toEqual(NOTHING_LEFT);
    expect(await digestOf(userVolume)).toBe(userDigest);
  });

  // The `run:` command is spawned detached (its own process group, src/check/commands.ts): main stops it on
  // the signal (src/action.ts), or it would run on through post's teardown and beyond.
  it('BUG(src) — the run: command does not outlive the cancelled step', async () => {
    const survivors: string[] = [];
    for (const p of run.runCommand) if (await isAlive(p.pid)) survivors.push(`${p.pid} ${p.cmdline}`);
    expect(survivors).toEqual([]);
  });
});
