// What this process does to the host as root (lazy disks for power loss, GNU tar on volume directories): as
// root it runs the commands as they are, as another user (the runner) through `sudo -n` (never a password
// prompt: a refusal instead).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { runTool, type ToolResult } from '../docker/exec.js';

export interface Privileged {
  /** Whether commands go through `sudo -n`. */
  readonly viaSudo: boolean;
  /** The argv that runs `command args` as root (for a caller that spawns it with its own stdio). */
  command(command: string, args: string[]): [string, string[]];
  /** Runs a command as root; throws ToolError on a non-zero exit unless `allowFailure`. */
  run(
    command: string,
    args: string[],
    options?: { allowFailure?: boolean; input?: string },
  ): Promise<ToolResult>;
  /** Starts a long-running command as root, its stdin and stdout piped. */
  spawn(command: string, args: string[]): ChildProcessWithoutNullStreams;
  /** sha256 of a command's stdout, streamed (a listing can be large). */
  digestOf(command: string, args: string[]): Promise<string>;
}

export function privileged(uid = process.getuid?.() ?? 0): Privileged {
  const viaSudo = uid !== 0;
  const argv = (command: string, args: string[]): [string, string[]] =>
    viaSudo ? ['sudo', ['-n', '--', command, ...args]] : [command, args];
  return {
    viaSudo,
    command: argv,
    run: (command, args, options = {}) => {
      const [tool, toolArgs] = argv(command, args);
      return runTool(tool, toolArgs, options);
    },
    spawn: (command, args) => {
      const [tool, toolArgs] = argv(command, args);
      return spawn(tool, toolArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    },
    digestOf: (command, args) => {
      const [tool, toolArgs] = argv(command, args);
      return new Promise((resolve, reject) => {
        const child = spawn(tool, toolArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
        const hash = createHash('sha256');
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) =>
          code === 0
            ? resolve(hash.digest('hex'))
            : reject(new Error(`${tool} ${toolArgs.join(' ')} failed (exit ${code}): ${stderr.trim()}`)),
        );
      });
    },
  };
}

/** Root as we are (uid 0), or through `sudo -n` where it works (GitHub-hosted runners); else undefined. */
export function rootAccess(uid = process.getuid?.() ?? 0): Privileged | undefined {
  if (uid === 0) return privileged(0);
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
  return sudo.status === 0 ? privileged(uid) : undefined;
}
