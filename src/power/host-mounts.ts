// Mount-table questions and the careful removals both the teardown and the next run's cleanup need.
import type { Privileged } from './privileged.js';

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
  await root.run('umount', [place]);
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
