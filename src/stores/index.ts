import * as path from 'node:path';
import { ArtifactStore } from './artifact-store.js';
import { CacheStore } from './cache-store.js';
import { DirectoryStore } from './path-store.js';
import { parseStoreSpec } from './spec.js';
import type { ArchiveStore, StoreOptions } from './types.js';

export { parseStoreSpec } from './spec.js';
export { ArtifactStore } from './artifact-store.js';
export { CacheStore } from './cache-store.js';
export { DirectoryStore } from './path-store.js';
export type { ArchiveStore, RunRef, StoreKind, StoreOptions, StoreSpec, StoredArchives } from './types.js';

/** The store a source/target string names: "artifact:NAME", "cache:KEY" or "path:DIR". */
export function createStore(spec: string, options: StoreOptions): ArchiveStore {
  const { kind, name } = parseStoreSpec(spec);
  switch (kind) {
    case 'artifact':
      return new ArtifactStore(name, options);
    case 'cache':
      return new CacheStore(name, options);
    case 'path':
      return new DirectoryStore(name, path.resolve(options.workspaceDir, name));
  }
}
