// Mount-table questions and the careful removals both the teardown and the next run's cleanup need.
import type { Privileged } from '../host/privileged.js';

/** Whether `dir` is a mount point (findmnt exits 1 when not). */
export async function isMountpoint(root: Privileged, dir: string): Promise<boolean> {
  return (await root.run('findmnt', ['-n', '--mountpoint', dir], { allowFailure: true })).exitCode === 0;
}

/**
 * Unmounts our bind from `place`, and only ours: the top mount there must come from the lazy disk's loop
 * device (or, its loop gone, from a loop device at all), never the volume's own file system.
 */
export async function unbindPlace(root: Privileged, place: string, loop: string): Promise<void> {
  const found = await root.run('findmnt', ['-n', '-o', 'SOURCE', '--mountpoint', place], {
    allowFailure: true,
  });
  const sources = found.stdout.trim().split('\n').filter(Boolean);
  const top = sources[sources.length - 1] ?? '';
  if (!top) return;
  const ours = loop ? top.startsWith(`${loop}[`) || top === loop : /^\/dev\/loop\d+/.test(top);
  if (!ours) throw new Error(`${place} is mounted from ${top}, not from the lazy disk: left as it is`);
  await unmount(root, place);
}

/** Removes a disk's directory, never crossing into a file system still mounted below it. */
export async function removeDir(root: Privileged, dir: string): Promise<void> {
  const mounted = await root.run('findmnt', ['-n', '-R', '-o', 'TARGET', '--target', dir], {
    allowFailure: true,
  });
  const below = mounted.stdout.split('\n').filter((t) => t.startsWith(`${dir}/`));
  if (below.length) throw new Error(`not removing ${dir}: ${below.join(', ')} still mounted`);
  await root.run('rm', ['-rf', '--one-file-system', '--', dir]);
}

/** How long a loop device or a mount may stay busy after its user went (udev probes a detached loop device). */
const BUSY_WAIT_MS = 15_000;

/** Unmounts `target`, waiting out a short "target is busy" (a loop device still letting go of its file). */
export async function unmount(root: Privileged, target: string): Promise<void> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    const result = await root.run('umount', [target], { allowFailure: true });
    if (result.exitCode === 0) return;
    if (!/busy/i.test(result.stderr) || Date.now() > deadline) {
      await root.run('umount', [target]); // fails again, with umount's own words
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Detaches a loop device and waits until the kernel has let go of its backing file. */
export async function detachLoop(root: Privileged, loop: string): Promise<void> {
  await root.run('losetup', ['-d', loop], { allowFailure: true });
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    const left = await root.run('losetup', ['-n', '-O', 'BACK-FILE', loop], { allowFailure: true });
    if (left.exitCode !== 0 || left.stdout.trim() === '') return;
    if (Date.now() > deadline) throw new Error(`${loop} still holds ${left.stdout.trim()} after losetup -d`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
