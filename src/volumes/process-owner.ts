import { readFileSync } from 'node:fs';
import * as os from 'node:os';

/** Marks our helper, lease and backup resources with the process that made them: `host/pid/start`. */
export const OWNER_LABEL = 'dev.compose-persist.owner';

/** The process that made one of our resources; `start` (clock ticks since boot) tells a reused pid apart. */
export interface ProcessOwner {
  host: string;
  pid: number;
  start?: string;
}

export function currentOwner(): ProcessOwner {
  return { host: os.hostname(), pid: process.pid, start: processStart(process.pid) };
}

export function ownerLabel(owner: ProcessOwner = currentOwner()): string {
  return `${owner.host}/${owner.pid}/${owner.start ?? ''}`;
}

export function parseOwner(label: string | undefined): ProcessOwner | undefined {
  const match = /^(.+)\/(\d+)\/(\d*)$/.exec(label ?? '');
  if (!match) return undefined;
  return { host: match[1] as string, pid: Number(match[2]), start: match[3] || undefined };
}

/** How to look at this machine's processes; a parameter so the rule is testable without real pids. */
export interface ProcessTable {
  host: string;
  /** undefined when the pid is not running; '' when it runs but its start time is unknown. */
  startOf(pid: number): string | undefined;
}

export const LOCAL_PROCESSES: ProcessTable = {
  host: os.hostname(),
  startOf: (pid) => {
    if (!isRunning(pid)) return undefined;
    const fields = statFields(pid);
    if (fields?.[0] === 'Z' || fields?.[0] === 'X') return undefined; // killed, not yet reaped
    return fields?.[19] ?? '';
  },
};

/**
 * True only when the owner certainly is gone: it ran on this host and its pid is not running, or runs with
 * another start time (the pid was reused). An owner on another host is never taken for gone.
 */
export function ownerIsGone(owner: ProcessOwner, table: ProcessTable = LOCAL_PROCESSES): boolean {
  if (owner.host !== table.host) return false;
  const start = table.startOf(owner.pid);
  if (start === undefined) return true;
  return owner.start !== undefined && start !== '' && start !== owner.start;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/PID/stat: the start time, in clock ticks since boot. */
function processStart(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** /proc/PID/stat from field 3 (state) on: the command name before it may hold spaces and parentheses. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
