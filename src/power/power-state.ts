// What a power-loss run has built on the host, written down as it goes (state.json in the run's directory),
// so that a run killed before its teardown is cleaned up by the next one: binds lifted, file systems
// unmounted, loop devices detached, servers stopped, images removed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detachLoop, isMountpoint, removeDir, unbindPlace, unmount } from './host-mounts.js';
import type { Privileged } from '../host/privileged.js';

/** Every run's disks live under here (on disk: the images can be large, so not /run's tmpfs). */
export const POWER_ROOT = '/var/tmp/compose-persist-power';

/** One disk as far as it was built. */
export interface DiskRecord {
  place: string;
  dir: string;
  serverPid?: number;
  fuseMount?: string;
  loop?: string;
  bound?: boolean;
}

interface StateFile {
  ownerPid: number;
  disks: DiskRecord[];
}

export class PowerState {
  private readonly disks: DiskRecord[] = [];

  private constructor(readonly dir: string) {}

  /** The run's directory, created empty (0700: only the run's user, and root, look inside). */
  static create(runId: string, rootDir = POWER_ROOT): PowerState {
    fs.mkdirSync(rootDir, { recursive: true, mode: 0o1777 });
    const dir = path.join(rootDir, runId.replace(/[^A-Za-z0-9_.-]/g, '-'));
    fs.mkdirSync(dir, { mode: 0o700 });
    const state = new PowerState(dir);
    state.saveSync();
    return state;
  }

  diskDir(index: number): string {
    return path.join(this.dir, `disk-${index}`);
  }

  async addDisk(record: DiskRecord): Promise<void> {
    this.disks.push(record);
    await this.save();
  }

  async removeDisk(record: DiskRecord): Promise<void> {
    this.disks.splice(this.disks.indexOf(record), 1);
    await this.save();
  }

  async save(): Promise<void> {
    this.saveSync();
  }

  /** Removes the run's directory once every disk is gone. */
  remove(): void {
    if (this.disks.length === 0) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private saveSync(): void {
    const file: StateFile = { ownerPid: process.pid, disks: this.disks };
    fs.writeFileSync(path.join(this.dir, 'state.json.tmp'), JSON.stringify(file));
    fs.renameSync(path.join(this.dir, 'state.json.tmp'), path.join(this.dir, 'state.json'));
  }
}

/**
 * Takes down what earlier runs left (their owner process is gone): one line per thing cleaned. A run whose
 * owner still lives (a parallel job on this machine) is left alone.
 */
export async function cleanLeftovers(root: Privileged, rootDir = POWER_ROOT): Promise<string[]> {
  if (!fs.existsSync(rootDir)) return [];
  const cleaned: string[] = [];
  for (const name of fs.readdirSync(rootDir)) {
    const dir = path.join(rootDir, name);
    const state = readState(dir);
    if (state && alive(state.ownerPid)) continue;
    for (const disk of state?.disks ?? []) cleaned.push(...(await cleanDisk(root, disk)));
    await cleanStrays(root, dir, cleaned);
    await removeDir(root, dir);
    cleaned.push(`removed ${dir}`);
  }
  return cleaned;
}

async function cleanDisk(root: Privileged, disk: DiskRecord): Promise<string[]> {
  const done: string[] = [];
  if (disk.bound) {
    await unbindPlace(root, disk.place, disk.loop ?? '');
    done.push(`lifted the lazy disk's bind from ${disk.place}`);
  }
  return done;
}

/** Mounts, loop devices and servers under a run's directory, whatever its state file says. */
async function cleanStrays(root: Privileged, dir: string, cleaned: string[]): Promise<void> {
  const fsMounts = await mountsUnder(root, dir);
  for (const target of fsMounts.filter((t) => t.endsWith('/fs'))) {
    await unmount(root, target);
    cleaned.push(`unmounted ${target}`);
  }
  const loops = await root.run('losetup', ['-l', '-n', '-O', 'NAME,BACK-FILE'], { allowFailure: true });
  for (const line of loops.stdout.split('\n')) {
    const [loop, backing] = line.trim().split(/\s+/, 2);
    if (loop && backing?.startsWith(`${dir}/`)) {
      await detachLoop(root, loop);
      cleaned.push(`detached ${loop}`);
    }
  }
  for (const target of (await mountsUnder(root, dir)).filter((t) => t.endsWith('/server'))) {
    // The server ends when its mount goes (or is already gone, leaving the mount dead).
    await unmount(root, target);
    cleaned.push(`stopped the disk server at ${target}`);
  }
  for (const disk of fs.readdirSync(dir).filter((n) => n.startsWith('disk-'))) {
    if (await isMountpoint(root, path.join(dir, disk, 'fs')))
      cleaned.push(`still mounted: ${dir}/${disk}/fs`);
  }
}

async function mountsUnder(root: Privileged, dir: string): Promise<string[]> {
  const found = await root.run('findmnt', ['-n', '-l', '-o', 'TARGET'], { allowFailure: true });
  return found.stdout
    .split('\n')
    .map((t) => t.trim())
    .filter((t) => t.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

function readState(dir: string): StateFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as StateFile;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
