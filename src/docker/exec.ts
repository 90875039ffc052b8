import { spawn } from 'node:child_process';
import * as core from '@actions/core';

export interface ToolOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Print the tool's output to the log as it runs (compose progress, test output). */
  stream?: boolean;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A tool exited non-zero: the message carries the tool's own words (last stderr lines). */
export class ToolError extends Error {
  override readonly name = 'ToolError';
  constructor(
    readonly command: string,
    readonly result: ToolResult,
  ) {
    super(`${command} failed (exit ${result.exitCode}): ${lastLines(result.stderr || result.stdout, 15)}`);
  }
}

/**
 * Runs a command and fails on its EXIT CODE (never on stderr being non-empty: compose prints progress there).
 * Every command is logged at debug level. Its stdin is /dev/null: a tool that asks a question (compose 2.32+:
 * "Recreate (data will be lost)?") reads EOF and takes its default answer, no, where an open pipe (what
 * @actions/exec leaves without `input`) would keep it waiting forever — and an empty `input` makes
 * @actions/exec write to a child that may have exited already (EPIPE, thrown where nothing can catch it).
 */
export async function runTool(tool: string, args: string[], options: ToolOptions = {}): Promise<ToolResult> {
  const command = [tool, ...args].join(' ');
  core.debug(`exec: ${command}`);
  const env = options.env ? { ...stringEnv(process.env), ...options.env } : undefined;
  // As @actions/exec printed it, so the log reads the same.
  if (options.stream) process.stdout.write(`[command]${command}\n`);
  const result = await new Promise<ToolResult>((resolve, reject) => {
    const child = spawn(tool, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      into.push(chunk);
      if (options.stream) process.stdout.write(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    child.on('error', (error) => reject(new Error(`${tool} could not be run: ${error.message}`)));
    child.on('close', (code, signal) =>
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
  });
  if (result.exitCode !== 0 && !options.allowFailure) throw new ToolError(command, result);
  return result;
}

export function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

export function lastLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}
