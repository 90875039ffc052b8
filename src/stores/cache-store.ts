import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as cache from '@actions/cache';
import { UserError } from '../errors.js';
import { cacheReadsOff, cacheRestoreFailure, cacheSaveFailure } from './cache-failure.js';
import { commonRoot, copyFileStreamed, moveFiles, totalBytes } from './files.js';
import type { ArchiveStore, StoreOptions, StoredArchives } from './types.js';

/** Every cache entry of ours holds this one folder, so restore-key matches land in the same place. */
const STAGING_DIR = 'compose-persist-cache';

/**
 * `cache:KEY`: one Actions cache entry holding every file. @actions/cache globs the paths it is given from the
 * cwd (no "..": so a path outside the cwd must be absolute), hashes the path strings into the entry's version
 * and tars relative to GITHUB_WORKSPACE (else the cwd). To keep that version the same on every runner, the
 * files are staged in tempDir/compose-persist-cache and named "compose-persist-cache" while the cwd is tempDir.
 * Env read by @actions/cache: ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL, ACTIONS_CACHE_SERVICE_V2 (the v2
 * protocol), RUNNER_TEMP, GITHUB_WORKSPACE, GITHUB_SERVER_URL; it runs `tar` and `zstd` (gzip if missing).
 */
export class CacheStore implements ArchiveStore {
  readonly description: string;
  private readonly stagingDir: string;

  constructor(
    private readonly key: string,
    private readonly options: StoreOptions,
  ) {
    this.description = `cache key ${key}`;
    this.stagingDir = path.join(options.tempDir, STAGING_DIR);
  }

  put(files: string[]): Promise<StoredArchives> {
    return serialized(() => this.save(files));
  }

  /** Restores the key (or the newest entry matching a restore key) into destDir; [] on a miss. */
  get(destDir: string): Promise<string[]> {
    return serialized(() => this.restore(destDir));
  }

  /** The key a get() would restore: this one, or one matched by a restore key; [] on a miss. */
  async list(): Promise<string[]> {
    const matched = await serialized(() => this.lookup(this.options.restoreKeys));
    return matched === undefined ? [] : [matched];
  }

  async exists(): Promise<boolean> {
    return (await this.list()).length > 0;
  }

  private async save(files: string[]): Promise<StoredArchives> {
    if (files.length === 0) throw new Error(`Nothing to store in ${this.description}.`);
    // entries are immutable: saving an existing key would be skipped with only a log line. A write-only job
    // cannot look; the service then refuses a duplicate key itself.
    if ((await this.lookup([], { readsMayBeOff: true })) === this.key) {
      throw new UserError(
        `The cache key "${this.key}" already exists and cache entries cannot be replaced: ` +
          'put something that changes (a hash of the inputs, or the run id) in the key.',
      );
    }
    const root = commonRoot(files);
    const relatives = files.map((file) => path.relative(root, path.resolve(file)));
    const bytes = await totalBytes(files);
    await this.resetStaging();
    try {
      for (const [index, relative] of relatives.entries()) {
        await copyFileStreamed(files[index] as string, path.join(this.stagingDir, relative));
      }
      const { result: id, clientLog } = await withClientLog(() =>
        this.inTempDir(() => cache.saveCache([STAGING_DIR], this.key)),
      ).catch(rethrowValidation);
      // the client returns -1 rather than throwing, and says why only in its log
      if (id === -1) throw cacheSaveFailure(this.description, clientLog);
      return { location: `${this.description} (id ${id})`, id, files: relatives, bytes };
    } finally {
      await fs.rm(this.stagingDir, { recursive: true, force: true });
    }
  }

  private async restore(destDir: string): Promise<string[]> {
    await this.resetStaging();
    try {
      const matched = await this.restoreOrMiss(() =>
        cache.restoreCache([STAGING_DIR], this.key, this.options.restoreKeys),
      );
      if (matched === undefined) return [];
      const restored = await moveFiles(this.stagingDir, destDir);
      if (restored.length === 0) {
        throw new Error(
          `The cache entry ${matched} restored no files into ${this.stagingDir}: it was saved on a runner ` +
            'whose workspace and temp directories are laid out differently.',
        );
      }
      return restored;
    } finally {
      await fs.rm(this.stagingDir, { recursive: true, force: true });
    }
  }

  private lookup(
    restoreKeys: string[] | undefined,
    options: { readsMayBeOff?: boolean } = {},
  ): Promise<string | undefined> {
    return this.restoreOrMiss(
      () => cache.restoreCache([STAGING_DIR], this.key, restoreKeys, { lookupOnly: true }),
      options.readsMayBeOff,
    );
  }

  /**
   * The key restored, or undefined on a real miss. A read the client reports as a miss but that was refused
   * or skipped (cache-mode) throws, saying why; `readsMayBeOff` lets a skipped one pass as a miss.
   */
  private async restoreOrMiss(
    restore: () => Promise<string | undefined>,
    readsMayBeOff = false,
  ): Promise<string | undefined> {
    const { result, clientLog } = await withClientLog(() => this.inTempDir(restore)).catch(rethrowValidation);
    if (result !== undefined) return result;
    if (readsMayBeOff && cacheReadsOff(clientLog)) return undefined;
    const failure = cacheRestoreFailure(this.description, clientLog);
    if (failure) throw failure;
    return undefined;
  }

  private async resetStaging(): Promise<void> {
    await fs.rm(this.stagingDir, { recursive: true, force: true });
    await fs.mkdir(this.stagingDir, { recursive: true });
  }

  /** The client globs the cache path from the cwd. Process-wide: other code running meanwhile sees it too. */
  private async inTempDir<T>(operation: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.options.tempDir, { recursive: true });
    const previous = process.cwd();
    process.chdir(this.options.tempDir);
    try {
      return await operation();
    } finally {
      process.chdir(previous);
    }
  }
}

/**
 * Runs a client call and keeps what it printed meanwhile (it still reaches the log): @actions/cache reports why
 * it stored or restored nothing only there. Process-wide like inTempDir; cache operations are serialized.
 */
async function withClientLog<T>(operation: () => Promise<T>): Promise<{ result: T; clientLog: string }> {
  const chunks: string[] = [];
  const stdout = process.stdout as { write: (...args: unknown[]) => boolean };
  const write = stdout.write;
  stdout.write = (...args: unknown[]) => {
    chunks.push(typeof args[0] === 'string' ? args[0] : Buffer.from(args[0] as Uint8Array).toString('utf8'));
    return write.apply(process.stdout, args);
  };
  try {
    return { result: await operation(), clientLog: chunks.join('') };
  } finally {
    stdout.write = write;
  }
}

/** A bad key is the user's to fix; the client throws ValidationError only for that (and for paths). */
function rethrowValidation(error: unknown): never {
  if (error instanceof cache.ValidationError) throw new UserError(`Invalid cache key: ${error.message}`);
  throw error;
}

let queue: Promise<unknown> = Promise.resolve();

/** One cache operation at a time: they all share the staging folder. */
function serialized<T>(operation: () => Promise<T>): Promise<T> {
  const result = queue.then(operation);
  queue = result.catch(() => undefined);
  return result;
}
