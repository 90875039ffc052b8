import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type * as Stores from '../../src/stores/index.js';
import { startActionsService, type ActionsService, type Run } from '../support/actions-service/index.js';
import { digests, makeArchives, tempDir } from './helpers.js';

let svc: ActionsService;
let stores: typeof Stores;
let work: string;
let saveRun: Run;
let restoreRun: Run;
let goldenFiles: string[];
let restoreEnv = () => {};

beforeAll(async () => {
  svc = await startActionsService();
  saveRun = svc.createRun();
  restoreRun = svc.createRun();
  restoreEnv = svc.applyEnv(saveRun.id);
  stores = await import('../../src/stores/index.js');
  work = await tempDir('cache-store');
  goldenFiles = await makeArchives(path.join(work, 'golden'), 'golden');
});

afterAll(async () => {
  restoreEnv();
  await svc?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

const options = (restoreKeys?: string[]): Stores.StoreOptions => ({
  workspaceDir: svc.workspace,
  tempDir: svc.runnerTemp,
  restoreKeys,
});
const stagingLeft = () => existsSync(path.join(svc.runnerTemp, 'compose-persist-cache'));

describe('cache:KEY store', () => {
  it('saves in one run and restores the exact key in another', async () => {
    svc.applyEnv(saveRun.id);
    const stored = await (await stores.createStore('cache:pg-golden-v1', options())).put(goldenFiles);
    expect(stored.files).toEqual(['pgdata.tar.zst', 'report.json']);
    expect(stored.id).toBeGreaterThan(0);
    expect(stagingLeft()).toBe(false);

    svc.applyEnv(restoreRun.id);
    const store = await stores.createStore('cache:pg-golden-v1', options());
    expect(await store.list()).toEqual(['pg-golden-v1']);
    const restored = await store.get(path.join(work, 'exact'));
    expect(restored.map((file) => path.relative(work, file)).sort()).toEqual([
      path.join('exact', 'pgdata.tar.zst'),
      path.join('exact', 'report.json'),
    ]);
    expect(await digests(restored)).toEqual(await digests(goldenFiles));
    expect(stagingLeft()).toBe(false);
  });

  it('restores the newest entry whose key starts with a restore key', async () => {
    svc.applyEnv(saveRun.id);
    const newerFiles = await makeArchives(path.join(work, 'newer'), 'newer');
    await (await stores.createStore('cache:pg-golden-v1.1', options())).put(newerFiles);

    svc.applyEnv(restoreRun.id);
    const store = await stores.createStore('cache:pg-golden-v2', options(['pg-golden-v1']));
    expect(await store.list()).toEqual(['pg-golden-v1']); // an exact restore key beats a newer prefix match
    const prefixOnly = await stores.createStore('cache:pg-golden-v2', options(['pg-golden-']));
    expect(await prefixOnly.list()).toEqual(['pg-golden-v1.1']);
    expect(await digests(await prefixOnly.get(path.join(work, 'prefix')))).toEqual(await digests(newerFiles));
  });

  it('returns nothing on a miss, including an entry saved with other paths (another version)', async () => {
    const cache = await import('@actions/cache');
    const otherDir = path.join(work, 'other-paths');
    await fs.mkdir(otherDir);
    await fs.writeFile(path.join(otherDir, 'file'), 'other');
    expect(await cache.saveCache([otherDir], 'pg-foreign')).toBeGreaterThan(0);

    for (const spec of ['cache:pg-absent', 'cache:pg-foreign']) {
      const store = await stores.createStore(spec, options());
      expect(await store.exists()).toBe(false);
      expect(await store.get(path.join(work, 'miss'))).toEqual([]);
    }
    expect(existsSync(path.join(work, 'miss'))).toBe(false);
  });

  it('refuses to overwrite a key, and retries a failed reservation', async () => {
    svc.applyEnv(saveRun.id);
    const again = (await stores.createStore('cache:pg-golden-v1', options())).put(goldenFiles);
    await expect(again).rejects.toThrow(UserError);
    await expect(again).rejects.toThrow(/"pg-golden-v1" already exists/);

    const before = svc.calls('CreateCacheEntry');
    svc.failNext('CreateCacheEntry', 1, 500);
    await (await stores.createStore('cache:pg-retried', options())).put(goldenFiles);
    expect(svc.calls('CreateCacheEntry') - before).toBe(2);
    const restored = await (
      await stores.createStore('cache:pg-retried', options())
    ).get(path.join(work, 'retried'));
    expect(await digests(restored)).toEqual(await digests(goldenFiles));
  });

  it('turns an invalid key into a UserError', async () => {
    await expect((await stores.createStore('cache:a,b', options())).put(goldenFiles)).rejects.toThrow(
      /Invalid cache key: .*cannot contain commas/,
    );
  });
});
