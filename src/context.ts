import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Inputs } from './constants.js';
import { UserError } from './errors.js';

/**
 * What the runner (or the shell, outside GitHub) provides, read once. Nothing else reads process.env for
 * these values.
 */
export interface RunnerContext {
  onGitHub: boolean;
  workspace: string;
  /**
   * The one base of the user's side: host commands (`run`, `host:` lines) run here and relative paths
   * (compose-file, env-file, `path:` seeds and targets) resolve here. The working-directory input, resolved
   * against the workspace by inWorkingDirectory; unset means the workspace.
   */
  workingDir?: string;
  tempDir: string;
  runId: string;
  runAttempt: string;
  job: string;
  repository: string;
  /** GITHUB_EVENT_NAME (push, pull_request, ...); unset outside GitHub. */
  eventName?: string;
  /** REST API base (GITHUB_API_URL); the artifact client reads the same variable. */
  apiUrl: string;
  /** Whether the Actions artifact and cache services can be reached (the runner hands out a token). */
  actionsServices: boolean;
  /** Unique per run, attempt and job, so parallel jobs on one self-hosted runner never share a project. */
  uniqueId: string;
  /** The variables compose itself reads to choose files and the project (unset in tests: none set). */
  composeEnv?: { composeFile?: string; pathSeparator?: string; projectName?: string };
}

export function readRunnerContext(env: NodeJS.ProcessEnv = process.env): RunnerContext {
  const onGitHub = env.GITHUB_ACTIONS === 'true';
  const runId = env.GITHUB_RUN_ID ?? 'local';
  const runAttempt = env.GITHUB_RUN_ATTEMPT ?? '1';
  const job = env.GITHUB_JOB ?? 'cli';
  const suffix = randomBytes(3).toString('hex');
  return {
    onGitHub,
    workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
    tempDir: env.RUNNER_TEMP ?? os.tmpdir(),
    runId,
    runAttempt,
    job,
    repository: env.GITHUB_REPOSITORY ?? '',
    eventName: env.GITHUB_EVENT_NAME,
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    actionsServices: Boolean(env.ACTIONS_RUNTIME_TOKEN && env.ACTIONS_RESULTS_URL),
    uniqueId: `${runId}-${runAttempt}-${job}-${suffix}`,
    composeEnv: {
      composeFile: env.COMPOSE_FILE,
      pathSeparator: env.COMPOSE_PATH_SEPARATOR,
      projectName: env.COMPOSE_PROJECT_NAME,
    },
  };
}

/** A compose project name from free text: lowercase [a-z0-9_-], starting with a letter or digit. */
export function toProjectName(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 60);
  return cleaned || 'compose-persist';
}

/** Where host commands run and relative paths resolve (see RunnerContext.workingDir). */
export function workingDirOf(ctx: Pick<RunnerContext, 'workspace' | 'workingDir'>): string {
  return ctx.workingDir ?? ctx.workspace;
}

/** The context with the working-directory input applied: relative to the workspace, and an existing directory. */
export function inWorkingDirectory(ctx: RunnerContext, workingDirectory: string | undefined): RunnerContext {
  if (workingDirectory === undefined) return ctx;
  const dir = resolveIn(ctx.workspace, workingDirectory);
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // missing: said below
  }
  if (!isDirectory) {
    throw new UserError(
      `Input '${Inputs.WorkingDirectory}': ${dir} is not a directory; give a directory of the checkout (relative to ${ctx.workspace}) or leave it unset.`,
    );
  }
  return { ...ctx, workingDir: dir };
}

export function resolveIn(base: string, file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(base, file);
}
