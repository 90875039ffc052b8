import { spawn } from 'node:child_process';
import type { Compose } from '../docker/compose.js';
import { lastLines } from '../docker/exec.js';
import type { CommandSpec } from '../types/domain.js';
import type { UserCommandKind } from '../types/time-ledger.js';

export interface CommandResult {
  where: string;
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** It was stopped (timeout or `signal`) and ignored SIGTERM for STOP_GRACE_MS: SIGKILL ended it. */
  outlivedGrace?: boolean;
  durationMs: number;
}

export interface CommandOptions {
  /** The command's whole environment (userCommandEnv); without it, the runner's minus every INPUT_*. */
  env?: Record<string, string>;
  cwd?: string;
  /** Echo output to the log as it comes (tests); probes only capture. */
  stream?: boolean;
  timeoutMs?: number;
  /** Every stdout chunk as it comes, for output too big to keep (stdout then keeps only its first MiB). */
  onStdout?: (chunk: Buffer) => void;
  /** Aborting it stops the command as a timeout does: SIGTERM to its process group, SIGKILL after the grace. */
  signal?: AbortSignal;
}

/** How long a stopped command has between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 5000;

/** What a user's command is for: its time is booked to that kind in the compose ledger. */
export interface SpecOptions extends CommandOptions {
  kind: UserCommandKind;
}

/**
 * Variables the user's commands never get: the CLI's key, and the runner's service variables, which a GitHub
 * `run:` step never sees (they open the artifact and cache services to actions only). ACTIONS_ID_TOKEN_REQUEST_*
 * stay: a `run:` step with `id-token: write` sees them too.
 */
const WITHHELD_VARIABLES = new Set([
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_URL',
  'ACTIONS_CACHE_SERVICE_V2',
  'COMPOSE_PERSIST_KEY',
]);

/** Below this length a secret is matched only as a whole value, so it cannot knock out unrelated variables. */
const SECRET_SUBSTRING_MIN = 8;

/**
 * The environment of the user's commands (`run`, `exec` through compose, `host:` probes): the runner's,
 * without our inputs (INPUT_*), post state (STATE_*), WITHHELD_VARIABLES, and any variable
 * whose value holds one of `secrets`; plus `documented` (COMPOSE_PROJECT_NAME, COMPOSE_FILE, ports).
 */
export function userCommandEnv(
  runner: NodeJS.ProcessEnv,
  secrets: readonly (string | undefined)[],
  documented: Record<string, string>,
): Record<string, string> {
  const held = secrets.filter((secret): secret is string => Boolean(secret));
  const holdsSecret = (value: string) =>
    held.some(
      (secret) => value === secret || (secret.length >= SECRET_SUBSTRING_MIN && value.includes(secret)),
    );
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(runner)) {
    if (value === undefined || /^(INPUT_|STATE_)/.test(name) || WITHHELD_VARIABLES.has(name)) continue;
    if (!holdsSecret(value)) env[name] = value;
  }
  return { ...env, ...documented };
}

/** Process groups of commands still running, so a cancelled job can stop them (they run detached). */
const runningGroups = new Set<number>();

/** SIGTERM to every running command's process group, SIGKILL to what is left after `graceMs`. */
export async function stopRunningCommands(graceMs = 3000): Promise<void> {
  const groups = [...runningGroups];
  for (const pid of groups) killGroup(pid, 'SIGTERM');
  if (groups.length === 0) return;
  await new Promise((resolve) => setTimeout(resolve, graceMs));
  for (const pid of groups) killGroup(pid, 'SIGKILL');
}

/** Output kept per stream: enough for a probe's answer or an error's tail, bounded for chatty tests. */
const KEEP_BYTES = 1024 * 1024;

/** Runs `command` with bash on the runner; on timeout the whole process group is killed. */
export function runHostCommand(command: string, options: CommandOptions = {}): Promise<CommandResult> {
  return runProcess('host', 'bash', ['-e', '-o', 'pipefail', '-c', command], command, options);
}

/**
 * Runs `command` inside a service's container through `compose exec` (sh -c). Variables in `passInto`
 * (set in `options.env`) are passed into the container by name, so their values stay off the command line.
 */
export function runServiceCommand(
  compose: Compose,
  service: string,
  command: string,
  options: CommandOptions = {},
  passInto: string[] = [],
): Promise<CommandResult> {
  const cli = compose.execInvocation(service, command, passInto);
  return runProcess(service, cli.tool, cli.args, command, { ...options, cwd: compose.spec.cwd });
}

export async function runCommandSpec(
  compose: Compose,
  spec: CommandSpec,
  options: SpecOptions,
  passInto: string[] = [],
): Promise<CommandResult> {
  const started = Date.now();
  try {
    return spec.target === 'host'
      ? await runHostCommand(spec.command, options)
      : await runServiceCommand(compose, spec.target.service, spec.command, options, passInto);
  } finally {
    compose.ledger.userCommand(options.kind, Date.now() - started);
  }
}

export function describeCommand(result: CommandResult): string {
  const why = result.timedOut
    ? `timed out after ${Math.round(result.durationMs / 1000)} s and was killed`
    : `exited ${result.exitCode}`;
  const tail = lastLines(result.stderr || result.stdout, 5);
  return `${result.where}: \`${result.command}\` ${why}${tail ? `: ${tail}` : ''}`;
}

function runProcess(
  where: string,
  tool: string,
  args: string[],
  command: string,
  options: CommandOptions,
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, {
      cwd: options.cwd,
      env: options.env ?? userCommandEnv(process.env, [], {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout kills the whole tree
    });
    if (child.pid !== undefined) runningGroups.add(child.pid);
    const stdout = new BoundedText();
    const stderr = new BoundedText();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout.add(chunk);
      options.onStdout?.(chunk);
      if (options.stream) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.add(chunk);
      if (options.stream) process.stderr.write(chunk);
    });
    let timedOut = false;
    let outlivedGrace = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (graceTimer) return;
      killGroup(child.pid, 'SIGTERM');
      graceTimer = setTimeout(() => {
        outlivedGrace = true;
        killGroup(child.pid, 'SIGKILL');
      }, STOP_GRACE_MS);
      graceTimer.unref();
    };
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs)
      : undefined;
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      options.signal?.removeEventListener('abort', stop);
      if (child.pid !== undefined) runningGroups.delete(child.pid);
      resolve({
        where,
        command,
        exitCode: code ?? (signal ? 128 : 1),
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        ...(outlivedGrace ? { outlivedGrace } : {}),
        durationMs: Date.now() - started,
      });
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Keeps the first KEEP_BYTES of a stream (probe answers are short; test logs were already echoed). */
class BoundedText {
  private chunks: Buffer[] = [];
  private size = 0;
  add(chunk: Buffer): void {
    if (this.size >= KEEP_BYTES) return;
    this.chunks.push(chunk.subarray(0, KEEP_BYTES - this.size));
    this.size += chunk.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
