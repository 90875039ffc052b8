// Shared by the power-loss tests: the disk server built from src/ (fast, with rolldown), an exact listing of
// a host directory, and what a run may have left on the host.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ServerCommand } from '../../src/power/disk-client.js';

let built: ServerCommand | undefined;

/** dist/power-disk.js's source bundled into a temp file (the tests do not depend on a fresh `npm run build`). */
export function powerServerFromSource(): ServerCommand {
  if (built) return built;
  const dir = mkdtempSync(path.join(tmpdir(), 'cp-power-server-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'power-disk.mjs');
  execFileSync(
    'npx',
    ['rolldown', 'src/power-disk.ts', '--file', file, '--platform', 'node', '--format', 'esm'],
    {
      stdio: 'ignore',
    },
  );
  built = { node: process.execPath, script: file };
  return built;
}

/**
 * Every entry of `dir`: path, type, mode, owner, size, mtime (ns), link target, link count, xattrs, and the
 * content's md5; with `ctime` also the change time (which any write, even of the same bytes, moves).
 */
export function exactListing(dir: string, options: { ctime?: boolean } = {}): string {
  const format = `%P|%y|%m|%U:%G|%s|%T@|%l|%n${options.ctime ? '|%C@' : ''}\\n`;
  const entries = execFileSync('find', [dir, '-printf', format], { encoding: 'utf8' }).split('\n').sort();
  const xattrs = execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '--absolute-names', dir], {
    encoding: 'utf8',
  })
    .replaceAll(dir, '')
    .split('\n\n')
    .sort()
    .join('\n\n');
  const sums = execFileSync(
    'sh',
    ['-c', 'cd "$1" && find . -type f -print0 | sort -z | xargs -0r md5sum', 'sh', dir],
    {
      encoding: 'utf8',
    },
  );
  return [...entries, xattrs, sums].join('\n');
}

/** Mounts, loop devices and disk servers a power-loss run could leave: all empty after a clean run. */
export function hostLeftovers(): { mounts: string[]; loops: string[]; servers: string[] } {
  const mounts = execFileSync(
    'sh',
    [
      '-c',
      'findmnt -rn -o TARGET,SOURCE,FSTYPE | grep -E "compose-persist-power|cp-power|fuse.compose-persist" || true',
    ],
    {
      encoding: 'utf8',
    },
  );
  const loops = execFileSync(
    'sh',
    ['-c', 'losetup -l -n -O NAME,BACK-FILE | grep -E "compose-persist-power|cp-power" || true'],
    {
      encoding: 'utf8',
    },
  );
  // A server's command line ends in its script and arguments (image, mountpoint, cap): a build of
  // src/power-disk.ts by another job on the machine (ncc, rolldown) is not one.
  const servers = execFileSync(
    'sh',
    ['-c', `pgrep -af 'power-disk\\.m?js [^ ]+ [^ ]+ [0-9]+$' | grep -v pgrep || true`],
    { encoding: 'utf8' },
  );
  const lines = (text: string) => text.split('\n').filter(Boolean);
  return { mounts: lines(mounts), loops: lines(loops), servers: lines(servers) };
}
