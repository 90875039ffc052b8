// One lazy disk on the real kernel (root, /dev/fuse, loop): the copy is exact, a cut drops exactly what was
// not made durable, the canaries catch a cut that dropped nothing, and the place comes back untouched.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LazyDisk, type LazyDiskOptions } from '../../src/power/lazy-disk.js';
import { cleanLeftovers, PowerState } from '../../src/power/power-state.js';
import { privileged } from '../../src/host/privileged.js';
import { exactListing, hostLeftovers, powerServerFromSource } from '../support/power.js';

const sh = (script: string, ...args: string[]) =>
  execFileSync('sh', ['-c', script, 'sh', ...args], { encoding: 'utf8' });

/** A cut that forgets to tell the server: ext4 unmounts with the held blocks still there to be written. */
class BrokenCutDisk extends LazyDisk {
  protected override async cutPower() {
    return { droppedBlocks: 0, overflowed: false };
  }
}

let work: string;
let place: string;
let stateRoot: string;
const disks: LazyDisk[] = [];
let runs = 0;

/** A place with what a copy can get wrong: owners, setuid and odd modes, xattrs, hard and symbolic links. */
function fillPlace(dir: string): void {
  sh(
    `set -e; cd "$1"
     mkdir -p sub/empty; echo hello > sub/a; printf 'x%.0s' $(seq 1 5000) > big
     chown 999:998 sub/a; chmod 4750 sub/a; chmod 0600 big; chmod 1777 sub/empty
     ln sub/a hard-a; ln -s sub/a soft-a; ln -s /nowhere dangling
     setfattr -n user.kind -v volume sub/a; setfattr -n trusted.t -v x big
     chown 70:70 .; chmod 0700 .`,
    dir,
  );
}

function options(extra: Partial<LazyDiskOptions> = {}): LazyDiskOptions {
  const state = PowerState.create(`itg-${++runs}`, stateRoot);
  return {
    root: privileged(),
    server: powerServerFromSource(),
    place,
    dir: state.diskDir(0),
    imageBytes: 256 * 1024 * 1024,
    capBytes: 256 * 1024 * 1024,
    state,
    ...extra,
  };
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'cp-power-itg-'));
  stateRoot = path.join(work, 'runs');
  powerServerFromSource();
});

afterEach(async () => {
  for (const disk of disks.splice(0)) await disk.teardown().catch(() => undefined);
  if (place) rmSync(place, { recursive: true, force: true });
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  expect(hostLeftovers()).toEqual({ mounts: [], loops: [], servers: [] });
});

describe('a lazy disk over a host directory', () => {
  it('copies it exactly, drops unsynced writes at a cut, keeps synced ones, and gives the place back untouched', async () => {
    place = mkdtempSync(path.join(work, 'place-'));
    fillPlace(place);
    const before = exactListing(place, { ctime: true });
    const disk = await LazyDisk.create(options());
    disks.push(disk);
    expect(sh('findmnt -n -o SOURCE --mountpoint "$1"', place)).toMatch(/^\/dev\/loop\d+\[\/data\]/);
    expect(exactListing(place)).toBe(exactListing(place)); // stable
    const copy = exactListing(place);
    // ctime aside (a copy cannot keep it), the copy is the place.
    expect(copy).toBe(exactListing(path.join(disk.fsMount, 'data')));
    expect(copy.replaceAll(place, '')).toBe(stripCtime(before).replaceAll(place, ''));

    await disk.beforeLoad();
    sh('dd if=/dev/urandom of="$1/synced" bs=64k count=4 conv=fsync status=none', place);
    sh('dd if=/dev/urandom of="$1/unsynced" bs=64k count=4 status=none', place);
    sh('echo appended >> "$1/sub/a"', place);
    const synced = readFileSync(path.join(place, 'synced'));
    const cut = await disk.cut();
    expect(cut.canaryProblem).toBeUndefined();
    expect(cut.overflowed).toBe(false);
    // ext4 held most of it in the page cache: it reached the disk as it unmounted, after the cut.
    expect(cut.droppedBlocks + cut.discardedWrites).toBeGreaterThan(0);
    expect(readFileSync(path.join(place, 'synced')).equals(synced)).toBe(true);
    const unsynced = path.join(place, 'unsynced');
    expect(existsSync(unsynced) ? readFileSync(unsynced).length : 0).toBe(0);
    expect(readFileSync(path.join(place, 'sub/a'), 'utf8')).toBe('hello\n');

    disks.pop();
    await disk.teardown();
    expect(sh('findmnt -n --mountpoint "$1" || true', place)).toBe('');
    expect(exactListing(place, { ctime: true })).toBe(before);
    expect(hostLeftovers()).toEqual({ mounts: [], loops: [], servers: [] });
  });

  it('a cut that does not reach the server is caught by the canaries: no proof, not a pass', async () => {
    place = mkdtempSync(path.join(work, 'place-'));
    fillPlace(place);
    const disk = await BrokenCutDisk.create(options());
    disks.push(disk);
    await disk.beforeLoad();
    sh('echo lost-if-cut > "$1/unsynced"', place);
    const cut = await disk.cut();
    expect(cut.canaryProblem).toMatch(/unsynced canary survived/);
    // And the unsynced file survived too: exactly the false pass the canary stands in for.
    expect(readFileSync(path.join(place, 'unsynced'), 'utf8')).toBe('lost-if-cut\n');
  });
});

describe('a run killed with its lazy disk up', () => {
  it('leaves it to the next run, which takes it down, says what it cleaned, and gives the place back', async () => {
    place = mkdtempSync(path.join(work, 'place-'));
    fillPlace(place);
    const before = exactListing(place, { ctime: true });
    stateRoot = path.join(work, 'runs-of-killed'); // only this run's state there
    const opts = options();
    await LazyDisk.create(opts); // never torn down: the run "died"
    const stateFile = path.join(path.dirname(opts.dir), 'state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { ownerPid: number };
    const dead = execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim();
    writeFileSync(stateFile, JSON.stringify({ ...state, ownerPid: Number(dead) }));
    expect(hostLeftovers().loops).toHaveLength(1);

    const cleaned = await cleanLeftovers(privileged(), stateRoot);
    expect(cleaned).toEqual([
      `lifted the lazy disk's bind from ${place}`,
      `unmounted ${opts.dir}/fs`,
      expect.stringMatching(/^detached \/dev\/loop\d+$/),
      `stopped the disk server at ${opts.dir}/server`,
      `removed ${path.dirname(opts.dir)}`,
    ]);
    expect(hostLeftovers()).toEqual({ mounts: [], loops: [], servers: [] });
    expect(exactListing(place, { ctime: true })).toBe(before);
    expect(readdirSync(stateRoot)).toEqual([]);
    // A run whose owner lives is never touched.
    PowerState.create('alive', stateRoot);
    expect(await cleanLeftovers(privileged(), stateRoot)).toEqual([]);
    expect(readdirSync(stateRoot)).toEqual(['alive']);
  });
});

function stripCtime(listing: string): string {
  return listing.replace(/\|[\d.]+$/gm, '');
}
