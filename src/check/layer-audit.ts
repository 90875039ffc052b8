import pLimit from 'p-limit';
import type { Engine } from '../docker/engine.js';
import { matchesAny } from '../glob.js';
import type { ServiceContainer } from '../stack/lifecycle.js';
import type { LayerFinding } from '../types/outcomes.js';

export type { LayerFinding };

/**
 * Paths that are written at run time by nearly every image and are not application data. Documented in
 * docs/how-the-check-decides.md; extend with the layer-ignore input.
 */
export const DEFAULT_LAYER_IGNORE = [
  'tmp/**',
  'var/tmp/**',
  'run/**',
  'var/run/**',
  'var/cache/**',
  'var/log/**',
  'root/.cache/**',
  'home/*/.cache/**',
  '**/*.pid',
  '**/__pycache__/**',
  'etc/hostname',
  'etc/hosts',
  'etc/resolv.conf',
  'etc/mtab',
  'dev/**',
  'proc/**',
  'sys/**',
];

/**
 * Lists what each container wrote outside volumes, bind mounts and tmpfs mounts, minus noise and the ignore
 * globs. `tmpfs` are the stack's tmpfs mounts: the short `tmpfs:` key is missing from the container's mounts.
 */
export async function auditWritableLayers(
  engine: Engine,
  containers: ServiceContainer[],
  extraIgnore: string[],
  tmpfs: { service: string; target: string }[] = [],
): Promise<LayerFinding[]> {
  const ignore = [...DEFAULT_LAYER_IGNORE, ...extraIgnore];
  const findings: LayerFinding[] = [];
  // A diff costs the engine a quarter second per container even with overlay's native diff (measured on
  // the PostgreSQL image): two at once, as the reads.
  const limit = pLimit(LAYER_DIFFS_AT_ONCE);
  const layers = await Promise.all(
    containers.map((container) => limit(() => engine.layerChanges(container.details.id))),
  );
  for (const [i, { service, details }] of containers.entries()) {
    const changes = layers[i] ?? [];
    const tmpfsPaths = tmpfs.filter((t) => t.service === service).map((t) => t.target);
    const mountPaths = [...details.mounts.map((m) => m.destination), ...tmpfsPaths];
    const paths = changes.map((c) => c.path);
    for (const change of changes) {
      if (change.kind === 'deleted') continue; // removing image files loses nothing of the app's
      if (isMountPointOrParent(change.path, mountPaths)) continue; // Docker creates these itself
      if (tmpfsPaths.some((t) => change.path.startsWith(`${t}/`))) continue; // in memory, not in the layer
      if (isParentOfAnother(change.path, paths)) continue; // a directory listed only because a file in it changed
      if (matchesAny(change.path, ignore)) continue;
      findings.push({ service, path: change.path, kind: change.kind });
    }
  }
  return findings;
}

/** `docker diff`s asked at once. */
export const LAYER_DIFFS_AT_ONCE = 2;

function isMountPointOrParent(path: string, mountPaths: string[]): boolean {
  return mountPaths.some((mount) => mount === path || mount.startsWith(path === '/' ? '/' : `${path}/`));
}

function isParentOfAnother(path: string, paths: string[]): boolean {
  const prefix = `${path}/`;
  return paths.some((other) => other.startsWith(prefix));
}
