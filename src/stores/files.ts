import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';

/** The deepest folder holding every file, so a unit keeps the files' relative layout. */
export function commonRoot(files: string[]): string {
  const dirs = files.map((file) => path.dirname(path.resolve(file)));
  let root = dirs[0] ?? process.cwd();
  for (const dir of dirs) {
    while (dir !== root && !dir.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
      root = path.dirname(root);
    }
  }
  return root;
}

/** Paths of the regular files under dir, relative to it, sorted; [] when dir does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isFile() && !TEMP_NAME.test(entry.name))
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Streams src to dest through a temporary name, so a reader never sees a half-written file. */
export async function copyFileStreamed(src: string, dest: string): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  await writeFileAtomically(dest, (temp) => pipeline(createReadStream(src), createWriteStream(temp)));
}

/** `.NAME.<12 hex>.partial`: a write in progress (or one a killed process left), never a stored file. */
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.partial$/;

/**
 * `write` fills a temporary file of its own beside dest, renamed over dest once `write` succeeded; it is
 * removed whatever happens. Of two writers that overlap in time the first to finish wins: a later one that
 * finds dest changed since it started fails rather than replace a file the other has just reported (its
 * digest, its size). The look and the rename happen under a lock, so two writers finishing together
 * cannot both pass the look.
 */
export async function writeFileAtomically<T>(dest: string, write: (temp: string) => Promise<T>): Promise<T> {
  const before = await identityOf(dest);
  const temp = path.join(
    path.dirname(dest),
    `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.partial`,
  );
  try {
    const result = await write(temp);
    await withLockFile(`${dest}.lock`, async () => {
      if ((await identityOf(dest)) !== before) {
        throw new UserError(
          `${dest} was replaced by another process while this run wrote it, so this run's file was not kept (the other one stays): write each archive to a file of its own.`,
        );
      }
      await fs.rename(temp, dest);
    });
    return result;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** Which file is at `file` now: device, inode, size and change time; 'none' when there is none. */
async function identityOf(file: string): Promise<string> {
  try {
    const s = await fs.stat(file, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.ctimeNs}`;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'none';
    throw error;
  }
}

/** A lock is held for one look and one rename; one this old was left by a process that was killed. */
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

/** Runs `work` holding `lock` (created with O_EXCL); waits for another holder, takes over a stale lock. */
async function withLockFile<T>(lock: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await fs.open(lock, 'wx')).close();
      break;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const age = await fs.stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > STALE_LOCK_MS) await fs.rm(lock, { force: true });
    else if (Date.now() > deadline) {
      throw new UserError(
        `${lock} has been held for ${Math.round(age / 1000)} s by another process writing the same file: let it finish, or write to another file.`,
      );
    } else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    return await work();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

/** Moves every file under srcDir into destDir (same relative paths); returns the new paths. */
export async function moveFiles(srcDir: string, destDir: string): Promise<string[]> {
  const moved: string[] = [];
  for (const relative of await listFiles(srcDir)) {
    const dest = path.join(destDir, relative);
    await moveFile(path.join(srcDir, relative), dest);
    moved.push(dest);
  }
  return moved;
}

async function moveFile(src: string, dest: string): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  try {
    await fs.rename(src, dest);
  } catch (error) {
    // RUNNER_TEMP and the destination can sit on different file systems
    if (errorCode(error) !== 'EXDEV') throw error;
    await copyFileStreamed(src, dest);
    await fs.rm(src);
  }
}

export async function totalBytes(files: string[]): Promise<number> {
  const sizes = await Promise.all(files.map(async (file) => (await fs.stat(file)).size));
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** Bytes an unprivileged writer may still use in dir; undefined where the file system does not say. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const stats = await fs.statfs(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

const NO_SPACE = /no space left on device|ENOSPC|disk quota exceeded/i;

/** A full disk: Node's ENOSPC, or the words of a tool (zstd) or of the engine that hit it. */
export function isOutOfSpace(error: unknown): boolean {
  return (
    errorCode(error) === 'ENOSPC' || NO_SPACE.test(error instanceof Error ? error.message : String(error))
  );
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
