import * as path from 'node:path';
import { DirectoryStore } from './directory-store.js';
import { parseStoreSpec } from './spec.js';
import type { ArchiveStore, StoreOptions } from './types.js';

export { parseStoreSpec } from './spec.js';
export { DirectoryStore } from './directory-store.js';
export { isStreamingStore } from './types.js';
export type {
  ArchiveStore,
  ArchiveUpload,
  RunRef,
  StoreKind,
  StoreOptions,
  StoreSpec,
  StoredArchives,
  StreamingStore,
} from './types.js';

/**
 * The store a source/target string names: "artifact:NAME", "cache:KEY", "path:DIR" or "s3://BUCKET/KEY".
 * The artifact, cache and S3 clients are loaded only when used: together they add ~100 MB to the process,
 * which archive and seed alone never need.
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
    case 's3': {
      const { S3Store } = await import('./s3-store.js');
      return new S3Store(name);
    }
  }
}
