import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface StepRun {
  exitCode: number;
  stdout: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
}

/**
 * Runs a built entry point the way the Actions runner does: inputs as INPUT_* variables, outputs and
 * state through the GITHUB_OUTPUT / GITHUB_STATE files, the summary through GITHUB_STEP_SUMMARY, and the
 * post step with the saved state as STATE_* variables.
 */
export async function runStep(
  entry: string,
  options: {
    inputs?: Record<string, string>;
    state?: Record<string, string>;
    env?: Record<string, string>;
    cwd?: string;
  },
): Promise<StepRun> {
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
  const { exitCode, stdout } = await runNode(path.resolve(entry), env, options.cwd);
  return {
    exitCode,
    stdout,
    outputs: parseCommandFile(await readFile(files.output, 'utf8')),
    state: parseCommandFile(await readFile(files.state, 'utf8')),
    summary: await readFile(files.summary, 'utf8'),
  };
}

function runNode(
  entry: string,
  env: Record<string, string>,
  cwd?: string,
): Promise<{ exitCode: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout }));
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
