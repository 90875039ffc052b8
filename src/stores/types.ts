import type { Writable } from 'node:stream';
import type { ArchiveBlob } from '../archive/blob.js';

/** Where a unit of archives (the volume archives plus report.json) is kept between jobs and runs. */
export interface ArchiveStore {
  /** For logs: "artifact volumes-myproj", "cache key pg-golden-v1", "directory ./backups". */
  readonly description: string;
  /** Stores these local files as one unit; paths inside the unit are relative to the files' common folder. */
  put(files: string[]): Promise<StoredArchives>;
  /** Fetches the unit into destDir (created if missing) and returns the local paths; [] on a cache miss. */
  get(destDir: string): Promise<string[]>;
  /**
   * What a get() could find, without downloading: `path` the file names in DIR, `artifact` the names of the
   * artifacts in the run (listing the files inside would need a download), `cache` the key that would be
   * restored (at most one).
   */
  list(): Promise<string[]>;
  exists(): Promise<boolean>;
  /** Where the last get() found its files, when that is more than the description says (another run). */
  origin?(): string | undefined;
}

/**
 * A store whose objects stream: a seed reads an object straight into the engine and an archive is written
 * straight into an object, with no file on the runner (`s3://`).
 */
export interface StreamingStore extends ArchiveStore {
  readonly streams: true;
  /** What a seed may read, newest first; a missing object or an empty prefix fails naming the location. */
  objects(): Promise<ArchiveBlob[]>;
  /** Fails when `name` is already stored: a stored archive is never replaced. */
  assertAbsent(key: string): Promise<void>;
  /** The key `name` gets in this store. */
  objectKey(name: string): string;
  /** Starts storing `name`; what is written to `stream` is stored once `done` settles. */
  upload(name: string): ArchiveUpload;
}

export interface ArchiveUpload {
  location: string;
  stream: Writable;
  done: Promise<void>;
  /** Removes what was stored or half-stored (an archive that failed or was interrupted). */
  discard(): Promise<void>;
}

export function isStreamingStore(store: ArchiveStore): store is StreamingStore {
  return (store as Partial<StreamingStore>).streams === true;
}

export interface StoredArchives {
  /** Same as the store's description, plus the id the backend gave the unit, if any. */
  location: string;
  /** Artifact id or cache entry id; absent for a directory. */
  id?: number;
  /** Paths inside the unit, relative to the common folder of the files put. */
  files: string[];
  bytes: number;
}

export type StoreKind = 'artifact' | 'cache' | 'path' | 's3';

export interface StoreSpec {
  kind: StoreKind;
  name: string;
}

/** A finished run whose artifacts are downloaded through the REST API (another run, or 'latest'). */
export interface RunRef {
  /** A run id, or 'latest': the newest successful run of `workflow` on `branch`. */
  runId: number | 'latest';
  /** Needs `actions: read` on `repository`. Never logged. */
  token: string;
  /** owner/name */
  repository: string;
  /** Workflow file name (e.g. "seed.yml") or id; required for 'latest'. */
  workflow?: string;
  /** Branch for 'latest'; any branch when omitted. */
  branch?: string;
}

/** What the runner context provides; the stores never read these from process.env themselves. */
export interface StoreOptions {
  /** Base for relative `path:DIR` specs: the working directory (context.ts workingDirOf). */
  workspaceDir: string;
  /** Scratch space (RUNNER_TEMP on a runner); also where the cache store stages its files. */
  tempDir: string;
  /** artifact: days to keep an uploaded artifact (the repository maximum applies). */
  retentionDays?: number;
  /** cache: prefixes tried, in order, when the key has no exact match. */
  restoreKeys?: string[];
  /** artifact: download from this finished run instead of the current one. */
  fromRun?: RunRef;
  /** REST base for the 'latest' lookup; must equal the GITHUB_API_URL the artifact client read. */
  apiUrl?: string;
}
