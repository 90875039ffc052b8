import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { formatBytes } from '../archive/volume-tar.js';
import { commonRoot, copyFileStreamed, errorCode, freeBytes, listFiles, totalBytes } from './files.js';
import type { ArchiveStore, StoredArchives } from './types.js';

/** `path:DIR`: a local directory (a self-hosted runner's disk, or the CLI). Files are copied, streamed. */
export class DirectoryStore implements ArchiveStore {
  readonly description: string;

  /** @param spec DIR as the user wrote it; @param dir the same, resolved against the workspace. */
  constructor(
    spec: string,
    private readonly dir: string,
  ) {
    this.description = `directory ${spec}`;
  }

  async put(files: string[]): Promise<StoredArchives> {
    if (files.length === 0) throw new Error(`Nothing to store in ${this.description}.`);
    const bytes = await totalBytes(files); // a missing source fails here: our bug, not the user's
    await this.ensureWritable();
    const free = await freeBytes(this.dir);
    const root = commonRoot(files);
    const relatives = files.map((file) => path.relative(root, path.resolve(file)));
    for (const [index, relative] of relatives.entries()) {
      await copyFileStreamed(files[index] as string, path.join(this.dir, relative)).catch(
        (error: unknown) => {
          throw this.unwritable(error, { bytes, free });
        },
      );
    }
    return { location: this.description, files: relatives, bytes };
  }

  async get(destDir: string): Promise<string[]> {
    const relatives = await this.list();
    if (relatives.length === 0) {
      throw new UserError(
        `No archives in ${this.dir}: check the path in "path:DIR" (or archive there first).`,
      );
    }
    const copied: string[] = [];
    for (const relative of relatives) {
      const dest = path.join(destDir, relative);
      await copyFileStreamed(path.join(this.dir, relative), dest);
      copied.push(dest);
    }
    return copied;
  }

  list(): Promise<string[]> {
    return listFiles(this.dir);
  }

  async exists(): Promise<boolean> {
    return (await this.list()).length > 0;
  }

  private async ensureWritable(): Promise<void> {
    try {
      await fs.mkdir(this.dir, { recursive: true });
      await fs.access(this.dir, fs.constants.W_OK);
    } catch (error) {
      throw this.unwritable(error);
    }
  }

  /** `space`: what the files need and what was free, said when the device is full. */
  private unwritable(error: unknown, space?: { bytes: number; free: number | undefined }): Error {
    const code = errorCode(error);
    const hint = code ? HINTS[code] : undefined;
    if (!hint) return error instanceof Error ? error : new Error(String(error));
    const needed =
      code === 'ENOSPC' && space
        ? `; the archives need ${formatBytes(space.bytes)}${space.free === undefined ? '' : `, ${formatBytes(space.free)} were free`}`
        : '';
    return new UserError(`Cannot write archives to directory ${this.dir} (${code}${needed}): ${hint}`, {
      cause: error,
    });
  }
}

const OTHER_DIR = 'or choose another directory in "path:DIR" (one under the workspace or RUNNER_TEMP works).';
const HINTS: Record<string, string> = {
  ENOTDIR: `a part of the path is a file, not a directory: remove that file ${OTHER_DIR}`,
  EEXIST: `a file with that name exists: remove it ${OTHER_DIR}`,
  EACCES: `permission denied: make it writable by the runner's user ${OTHER_DIR}`,
  EPERM: `operation not permitted: make it writable by the runner's user ${OTHER_DIR}`,
  EROFS: `the file system is read-only: mount it read-write ${OTHER_DIR}`,
  ENOSPC: `no space left on the device: free some space ${OTHER_DIR}`,
};
