// Every place a service keeps files that the check can read back: named volumes, bind-mount sources and
// anonymous volumes. tmpfs is listed by the model and never read: it is empty after every restart by design.
import { COMPOSE_CONTAINER_NUMBER_LABEL } from '../constants.js';
import type { Engine } from '../docker/engine.js';
import { serviceContainers } from '../stack/lifecycle.js';
import type { StackModel } from '../stack/model.js';
import type { StoreKind } from '../types/outcomes.js';

/** One place to fingerprint. */
export interface StoreRef {
  /**
   * Matches the place across modes: a named volume's name, a bind's source, an anonymous volume's service
   * and path (down-up gives it a new name, not a new service and path).
   */
  key: string;
  kind: StoreKind;
  /** What the engine mounts: the volume's name, or the bind's path on the engine's host. */
  source: string;
  /** `service:path` where the place is mounted. */
  mountedAt: string[];
  /** The services' images: candidates for the helper container. */
  images: string[];
}

/** An engine-generated volume name: what anonymous volumes are called. */
const ANONYMOUS_NAME = /^[0-9a-f]{64}$/;

/** The named volumes and writable bind mounts of the model, then the anonymous volumes on the containers. */
export async function listStores(engine: Engine, model: StackModel, services: string[]): Promise<StoreRef[]> {
  const selected = (service: string) => services.length === 0 || services.includes(service);
  const imagesOf = (names: string[]) => [
    ...new Set(names.map((s) => model.images[s]).filter((i): i is string => Boolean(i))),
  ];
  const stores: StoreRef[] = model.volumes.map((v) => ({
    key: v.name,
    kind: 'volume',
    source: v.name,
    mountedAt: v.mounts.map((m) => `${m.service}:${m.target}`),
    images: imagesOf(v.mounts.map((m) => m.service)),
  }));
  stores.push(...bindStores(model, selected, imagesOf));
  stores.push(...(await anonymousStores(engine, model, selected)));
  return stores;
}

/** Read-only binds are left out: a service cannot write, so cannot lose, anything there. */
function bindStores(
  model: StackModel,
  selected: (service: string) => boolean,
  imagesOf: (services: string[]) => string[],
): StoreRef[] {
  const bySource = new Map<string, { service: string; target: string }[]>();
  for (const bind of model.binds) {
    if (bind.readOnly || !bind.source || !selected(bind.service)) continue;
    bySource.set(bind.source, [...(bySource.get(bind.source) ?? []), bind]);
  }
  return [...bySource].map(([source, mounts]) => ({
    key: source,
    kind: 'bind',
    source,
    mountedAt: mounts.map((m) => `${m.service}:${m.target}`),
    images: imagesOf(mounts.map((m) => m.service)),
  }));
}

/** Declared anonymous volumes and image VOLUMEs alike, as the running containers mount them. */
async function anonymousStores(
  engine: Engine,
  model: StackModel,
  selected: (service: string) => boolean,
): Promise<StoreRef[]> {
  const named = new Set(model.volumes.map((v) => v.name));
  const stores: StoreRef[] = [];
  for (const { service, details } of await serviceContainers(engine, model.project)) {
    if (!selected(service)) continue;
    const number = details.labels[COMPOSE_CONTAINER_NUMBER_LABEL] ?? '1';
    const replica = number === '1' ? '' : ` #${number}`;
    for (const mount of details.mounts) {
      if (mount.type !== 'volume' || !mount.name || named.has(mount.name)) continue;
      if (!ANONYMOUS_NAME.test(mount.name)) continue;
      const where = `${service}:${mount.destination}`;
      stores.push({
        key: `${where}${replica}`,
        kind: 'anonymous',
        source: mount.name,
        mountedAt: [where],
        images: [model.images[service]].filter((i): i is string => Boolean(i)),
      });
    }
  }
  return stores;
}

/** Why a place was not read, in the words of the verdict (the scanner's words for the common cases). */
export function describeUnreadable(ref: StoreRef, reason: string): string {
  const what = `${ref.kind === 'bind' ? 'bind' : 'anonymous volume'} ${ref.source}`;
  if (/is a file, not a directory/.test(reason)) return `${what}: a single file, not fingerprinted`;
  if (/has no root entry/.test(reason))
    return `${what}: not a directory (a socket or device), not fingerprinted`;
  return `${what} could not be read: ${reason}`;
}
