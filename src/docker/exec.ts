import * as core from '@actions/core';
import { getExecOutput } from '@actions/exec';

export interface ToolOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Print the tool's output to the log as it runs (compose progress, test output). */
  stream?: boolean;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  input?: string;
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
 * Every command is logged at debug level.
 */
export async function runTool(tool: string, args: string[], options: ToolOptions = {}): Promise<ToolResult> {
  const command = [tool, ...args].join(' ');
  core.debug(`exec: ${command}`);
  const env = options.env ? { ...stringEnv(process.env), ...options.env } : undefined;
  const result = await getExecOutput(tool, args, {
    cwd: options.cwd,
    env,
    silent: !options.stream,
    ignoreReturnCode: true,
    input: options.input === undefined ? undefined : Buffer.from(options.input),
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
