import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { createStore } from '../../src/stores/index.js';
import { digests, makeArchives, tempDir } from './helpers.js';

let work: string;
let files: string[];

beforeAll(async () => {
  work = await tempDir('path-store');
  files = await makeArchives(path.join(work, 'out'), 'path');
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

const options = () => ({ workspaceDir: work, tempDir: path.join(work, 'tmp') });

describe('path:DIR store', () => {
  it('copies the files in and out unchanged, creating DIR relative to the workspace', async () => {
    const store = await createStore('path:backups/nightly', options());
    expect(store.description).toBe('directory backups/nightly');
    expect(await store.exists()).toBe(false);

    const stored = await store.put(files);
    expect(stored.files).toEqual(['pgdata.tar.zst', 'report.json']);
    expect(stored.bytes).toBe(
      (await fs.stat(files[0] as string)).size + (await fs.stat(files[1] as string)).size,
    );
    expect(await store.list()).toEqual(['pgdata.tar.zst', 'report.json']);
    expect(await store.exists()).toBe(true);
    const leftovers = await fs.readdir(path.join(work, 'backups', 'nightly'));
    expect(leftovers.filter((name) => name.endsWith('.partial'))).toEqual([]);

    const restored = await store.get(path.join(work, 'restored'));
    expect(restored).toEqual([
      path.join(work, 'restored', 'pgdata.tar.zst'),
      path.join(work, 'restored', 'report.json'),
    ]);
    expect(await digests(restored)).toEqual(await digests(files));
  });

  it('two puts of the same file name at once: the file there is one of them, whole, and the other fails', async () => {
    const sources = await Promise.all(
      ['a', 'b'].map(async (which) => {
        const file = path.join(work, `race-${which}`, 'data.tar.zst');
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, randomBytes(16 * 1024 * 1024));
        return file;
      }),
    );
    const dir = path.join(work, 'race-dest');
    const store = await createStore(`path:${dir}`, options());
    const outcomes = await Promise.allSettled(sources.map((file) => store.put([file])));
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [sources[i] as string] : []));
    expect(won).toHaveLength(1);
    expect(await digests([path.join(dir, 'data.tar.zst')])).toEqual(await digests(won));
    const lost = outcomes.find((o) => o.status === 'rejected');
    expect(String(lost?.reason)).toContain(
      `${path.join(dir, 'data.tar.zst')} was replaced by another process`,
    );
    expect(await fs.readdir(dir)).toEqual(['data.tar.zst']);
  });

  it('names the directory and the fix when DIR cannot be created', async () => {
    // tests run as root, so chmod would not stop them: a regular file in the path does
    await fs.writeFile(path.join(work, 'not-a-dir'), 'x');
    const store = await createStore('path:not-a-dir/backups', options());
    const error = await store.put(files).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain(path.join(work, 'not-a-dir', 'backups'));
    expect((error as Error).message).toMatch(
      /ENOTDIR.*a part of the path is a file.*choose another directory/,
    );
  });

  it('refuses DIR being a file', async () => {
    const store = await createStore(`path:${path.join(work, 'not-a-dir')}`, options());
    await expect(store.put(files)).rejects.toThrow(/EEXIST.*a file with that name exists/);
  });

  it('fails clearly when DIR holds no archives', async () => {
    const store = await createStore('path:missing', options());
    expect(await store.list()).toEqual([]);
    await expect(store.get(path.join(work, 'x'))).rejects.toThrow(UserError);
    await expect(store.get(path.join(work, 'x'))).rejects.toThrow(/No archives in .*missing/);
  });
});
