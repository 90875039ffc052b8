import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * What the runner (or the shell, outside GitHub) provides, read once. Nothing else reads process.env for
 * these values.
 */
export interface RunnerContext {
  onGitHub: boolean;
  workspace: string;
  tempDir: string;
  runId: string;
  runAttempt: string;
  job: string;
  repository: string;
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

export function resolveIn(base: string, file: string): string {
  return path.isAbsolute(file) ? file : path.resolve(base, file);
}
