import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';

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
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Streams src to dest through a temporary name, so a reader never sees a half-written file. */
export async function copyFileStreamed(src: string, dest: string): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const partial = `${dest}.partial`;
  try {
    await pipeline(createReadStream(src), createWriteStream(partial));
  } catch (error) {
    await fs.rm(partial, { force: true }); // a full disk must not leave half a file behind
    throw error;
  }
  await fs.rename(partial, dest);
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

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
