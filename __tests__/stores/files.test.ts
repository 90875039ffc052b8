import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomically } from '../../src/stores/files.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cp-files-'));
});

afterEach(() => rm(dir, { recursive: true, force: true }));

describe('writeFileAtomically', () => {
  it('replaces an existing file, leaving no temp file or lock', async () => {
    const dest = path.join(dir, 'a.tar');
    await writeFile(dest, 'old');
    await writeFileAtomically(dest, (temp) => writeFile(temp, 'new'));
    expect(await readFile(dest, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.tar']);
  });

  it('keeps what another writer put there meanwhile, and fails', async () => {
    const dest = path.join(dir, 'a.tar');
    const writing = writeFileAtomically(dest, async (temp) => {
      await writeFile(temp, 'mine');
      await writeFile(dest, 'theirs'); // another process finished first
    });
    await expect(writing).rejects.toThrow(`${dest} was replaced by another process while this run wrote it`);
    expect(await readFile(dest, 'utf8')).toBe('theirs');
    expect(await readdir(dir)).toEqual(['a.tar']);
  });

  it('takes over a lock a killed process left behind', async () => {
    const dest = path.join(dir, 'a.tar');
    await writeFile(`${dest}.lock`, '');
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(`${dest}.lock`, minuteAgo, minuteAgo);
    await writeFileAtomically(dest, (temp) => writeFile(temp, 'new'));
    expect(await readFile(dest, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.tar']);
  });

  it('removes its temp file when the write fails', async () => {
    const dest = path.join(dir, 'a.tar');
    const failing = writeFileAtomically(dest, async (temp) => {
      await writeFile(temp, 'half');
      throw new Error('disk full');
    });
    await expect(failing).rejects.toThrow('disk full');
    expect(await readdir(dir)).toEqual([]);
  });
});
