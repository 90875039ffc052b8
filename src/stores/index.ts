import * as path from 'node:path';
import { DirectoryStore } from './directory-store.js';
import { parseStoreSpec } from './spec.js';
import type { ArchiveStore, StoreOptions } from './types.js';

export { parseStoreSpec } from './spec.js';
export { DirectoryStore } from './directory-store.js';
export type { ArchiveStore, RunRef, StoreKind, StoreOptions, StoreSpec, StoredArchives } from './types.js';

/**
 * The store a source/target string names: "artifact:NAME", "cache:KEY" or "path:DIR". The artifact and cache
 * clients are loaded only when used: together they add ~100 MB to the process, which archive and seed
 * alone never need.
 */
export async function createStore(spec: string, options: StoreOptions): Promise<ArchiveStore> {
  const { kind, name } = parseStoreSpec(spec);
  switch (kind) {
    case 'artifact': {
      const { ArtifactStore } = await import('./artifact-store.js');
      return new ArtifactStore(name, options);
    }
    case 'cache': {
      const { CacheStore } = await import('./cache-store.js');
      return new CacheStore(name, options);
    }
    case 'path':
      return new DirectoryStore(name, path.resolve(options.workspaceDir, name));
  }
}
