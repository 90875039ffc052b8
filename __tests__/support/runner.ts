import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface StepRun {
  exitCode: number;
  /** The signal that ended the process, if one did (exitCode is then 1). */
  signal?: NodeJS.Signals | null;
  stdout: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
}

export interface StepOptions {
  inputs?: Record<string, string>;
  state?: Record<string, string>;
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * Runs a built entry point the way the Actions runner does: inputs as INPUT_* variables, outputs and
 * state through the GITHUB_OUTPUT / GITHUB_STATE files, the summary through GITHUB_STEP_SUMMARY, and the
 * post step with the saved state as STATE_* variables.
 */
export async function runStep(entry: string, options: StepOptions): Promise<StepRun> {
  return (await startStep(entry, options)).finished;
}

/** A step that is still running: what it printed and saved so far, and its end. */
export interface StartedStep {
  readonly pid: number;
  /** stdout and stderr so far, in the order they arrived. */
  output(): string;
  /** The state saved so far (GITHUB_STATE), e.g. to run post after cancelling the step. */
  state(): Promise<Record<string, string>>;
  /** Sends a signal to the step's process only, as the runner does when a job is cancelled. */
  kill(signal: NodeJS.Signals): void;
  readonly finished: Promise<StepRun>;
}

/** Like runStep, without waiting for the step to end. */
export async function startStep(entry: string, options: StepOptions): Promise<StartedStep> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cp-runner-'));
  const files = {
    output: path.join(dir, 'output'),
    state: path.join(dir, 'state'),
    summary: path.join(dir, 'summary'),
  };
  await Promise.all(Object.values(files).map((f) => writeFile(f, '')));
  const env: Record<string, string> = {
    ...stringEnv(process.env),
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_WORKSPACE: options.cwd ?? process.cwd(),
    RUNNER_TEMP: dir,
    GITHUB_RUN_ID: String(Date.now()),
    GITHUB_JOB: 'e2e',
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs ?? {}))
    env[`INPUT_${name.toUpperCase()}`] = value;
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;
  const child = spawn(process.execPath, [path.resolve(entry)], {
    env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const readState = async () => parseCommandFile(await readFile(files.state, 'utf8'));
  const finished = exited(child).then(async ({ code, signal }) => ({
    exitCode: code ?? 1,
    signal,
    stdout,
    outputs: parseCommandFile(await readFile(files.output, 'utf8')),
    state: await readState(),
    summary: await readFile(files.summary, 'utf8'),
  }));
  return {
    pid: child.pid as number,
    output: () => stdout,
    state: readState,
    kill: (signal) => void child.kill(signal),
    finished,
  };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

/** The `name<<DELIMITER` heredoc format @actions/core writes to GITHUB_OUTPUT and GITHUB_STATE. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i] as string);
    if (!match) continue;
    const [, name, delimiter] = match as unknown as [string, string, string];
    const value: string[] = [];
    while (++i < lines.length && lines[i] !== delimiter) value.push(lines[i] as string);
    values[name] = value.join('\n');
  }
  return values;
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && !k.startsWith('INPUT_') && !k.startsWith('STATE_')) out[k] = v;
  return out;
}
