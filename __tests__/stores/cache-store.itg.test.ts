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

// @actions/cache never throws for these: it returns -1 or "no entry" and says why in its log only. The store
// turns each into an error that names the cause and the fix, on the client's real words.
describe('a cache that cannot be written or read says why', () => {
  const withCacheMode = async <T>(mode: string, work: () => Promise<T>): Promise<T> => {
    process.env.ACTIONS_CACHE_MODE = mode;
    try {
      return await work();
    } finally {
      delete process.env.ACTIONS_CACHE_MODE;
    }
  };
  const put = async (key: string) => (await stores.createStore(`cache:${key}`, options())).put(goldenFiles);
  const get = async (key: string) =>
    (await stores.createStore(`cache:${key}`, options())).get(path.join(work, `got-${key}`));

  it('ACTIONS_CACHE_MODE=read: the save names the mode and the fix, not "see the warning above"', async () => {
    svc.applyEnv(saveRun.id);
    const before = svc.calls('CreateCacheEntry');
    const saving = withCacheMode('read', () => put('pg-mode-read'));
    await expect(saving).rejects.toThrow(UserError);
    await expect(saving).rejects.toThrow(
      /^Saving cache key pg-mode-read failed: the runner set ACTIONS_CACHE_MODE=read for this job, so the cache can be read but not written here\. Fix: archive to an artifact instead \(archive-to: artifact\)/,
    );
    expect(svc.calls('CreateCacheEntry')).toBe(before);
    expect(stagingLeft()).toBe(false);
  });

  it('ACTIONS_CACHE_MODE=none: a seed is told the cache is off, not that nothing was found', async () => {
    svc.applyEnv(restoreRun.id);
    const reading = withCacheMode('none', () => get('pg-golden-v1'));
    await expect(reading).rejects.toThrow(UserError);
    await expect(reading).rejects.toThrow(
      /ACTIONS_CACHE_MODE=none for this job, so the cache cannot be read here \(this is not a cache miss\)\. Fix: seed from an artifact or a path/,
    );
    await expect(withCacheMode('none', () => put('pg-mode-none'))).rejects.toThrow(
      /so the cache is off here/,
    );
  });

  it('ACTIONS_CACHE_MODE=write-only: it still saves (it cannot look for the key first)', async () => {
    svc.applyEnv(saveRun.id);
    const stored = await withCacheMode('write-only', () => put('pg-mode-write-only'));
    expect(stored.id).toBeGreaterThan(0);
  });

  it("a fork pull request's read-only token: the refusal is quoted, restores still work", async () => {
    const fork = svc.createRun({ cacheAccess: 'read-only' });
    svc.applyEnv(fork.id);
    const saving = put('pg-from-fork');
    await expect(saving).rejects.toThrow(UserError);
    await expect(saving).rejects.toThrow(
      /the cache service refused the write \("cache write denied: the token of this run is scoped read-only"\): this run's token may only read the cache.*pull request from a fork\. Fix: archive to an artifact/,
    );
    expect(await digests(await get('pg-golden-v1'))).toEqual(await digests(goldenFiles));
  });

  it('a token without cache scopes: the read is refused, not a miss', async () => {
    const none = svc.createRun({ cacheAccess: 'none' });
    svc.applyEnv(none.id);
    await expect(get('pg-golden-v1')).rejects.toThrow(
      /^Restoring cache key pg-golden-v1 failed: the cache service refused the read \("cache read denied: the token of this run has no readable cache scope/,
    );
  });

  it("the repository's cache budget is used up: says so and how to make room", async () => {
    svc.applyEnv(saveRun.id);
    svc.setCacheQuota(1);
    try {
      const saving = put('pg-over-budget');
      await expect(saving).rejects.toThrow(UserError);
      await expect(saving).rejects.toThrow(
        /^Saving cache key pg-over-budget failed: the repository's Actions cache storage is full .*Fix: delete cache entries you no longer need/,
      );
    } finally {
      svc.setCacheQuota(Infinity);
    }
  });

  it('a service error during a restore fails with its words instead of passing as a miss', async () => {
    svc.applyEnv(restoreRun.id);
    svc.failNext('GetCacheEntryDownloadURL', 1, 400);
    const reading = get('pg-golden-v1');
    await expect(reading).rejects.toThrow(
      /^Restoring cache key pg-golden-v1 failed: .*\(400\).*it is not one\)\.$/,
    );
    await expect(reading).rejects.not.toThrow(UserError);
  });
});
