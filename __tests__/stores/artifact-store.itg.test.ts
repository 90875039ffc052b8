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
let seedRun: Run;
let verifyRun: Run;
let seedFiles: string[];
let restoreEnv = () => {};

beforeAll(async () => {
  svc = await startActionsService();
  seedRun = svc.createRun({ workflow: 'seed.yml', branch: 'main' });
  verifyRun = svc.createRun({ workflow: 'verify.yml', branch: 'main' });
  restoreEnv = svc.applyEnv(seedRun.id);
  // @actions/github reads GITHUB_API_URL once, when imported
  stores = await import('../../src/stores/index.js');
  work = await tempDir('artifact-store');
  seedFiles = await makeArchives(path.join(work, 'seed'), 'seed');
});

afterAll(async () => {
  restoreEnv();
  await svc?.stop();
  await fs.rm(work, { recursive: true, force: true });
});

const options = (extra: Partial<Stores.StoreOptions> = {}): Stores.StoreOptions => ({
  workspaceDir: svc.workspace,
  tempDir: svc.runnerTemp,
  ...extra,
});

const fromRun = (
  runId: number | 'latest',
  extra: Partial<Stores.RunRef> = {},
): Partial<Stores.StoreOptions> => ({
  fromRun: { runId, token: svc.githubToken, repository: svc.repository, ...extra },
  apiUrl: svc.url,
});

describe('artifact:NAME store', () => {
  it('uploads the files as one artifact and downloads them in the same run', async () => {
    svc.applyEnv(seedRun.id);
    const store = await stores.createStore('artifact:volumes-myproj', options({ retentionDays: 3 }));
    expect(await store.exists()).toBe(false);

    const stored = await store.put(seedFiles);
    expect(stored.files).toEqual(['pgdata.tar.zst', 'report.json']);
    expect(stored.location).toBe(`artifact volumes-myproj (id ${stored.id})`);
    const [artifact] = svc.artifacts(seedRun.id);
    const expiresIn = Date.parse(artifact?.expiresAt ?? '') - Date.now();
    expect(expiresIn / 86_400_000).toBeCloseTo(3, 1);

    expect(await store.exists()).toBe(true);
    expect(await store.list()).toEqual(['volumes-myproj']);
    const restored = await store.get(path.join(work, 'same-run'));
    expect(restored.map((file) => path.basename(file)).sort()).toEqual(['pgdata.tar.zst', 'report.json']);
    expect(await digests(restored)).toEqual(await digests(seedFiles));
  });

  it('downloads from another run through the REST API', async () => {
    svc.applyEnv(verifyRun.id);
    const sameRun = await stores.createStore('artifact:volumes-myproj', options());
    expect(await sameRun.exists()).toBe(false); // the Twirp API only shows this run's artifacts

    const store = await stores.createStore('artifact:volumes-myproj', options(fromRun(seedRun.id)));
    expect(store.description).toBe(`artifact volumes-myproj from run ${seedRun.id} of ${svc.repository}`);
    const restored = await store.get(path.join(work, 'other-run'));
    expect(await digests(restored)).toEqual(await digests(seedFiles));
    expect(svc.calls('DownloadArtifact')).toBe(1);
  });

  it("finds the 'latest' successful run of a workflow on a branch", async () => {
    const newer = svc.createRun({ workflow: 'seed.yml', branch: 'main' });
    svc.createRun({ workflow: 'seed.yml', branch: 'main', conclusion: 'failure' });
    svc.createRun({ workflow: 'seed.yml', branch: 'feature' });
    svc.applyEnv(newer.id);
    const newerFiles = await makeArchives(path.join(work, 'newer'), 'newer');
    await (await stores.createStore('artifact:volumes-myproj', options())).put(newerFiles);

    svc.applyEnv(verifyRun.id);
    const latest = fromRun('latest', { workflow: 'seed.yml', branch: 'main' });
    const restored = await (
      await stores.createStore('artifact:volumes-myproj', options(latest))
    ).get(path.join(work, 'latest'));
    expect(await digests(restored)).toEqual(await digests(newerFiles));

    const none = fromRun('latest', { workflow: 'seed.yml', branch: 'nowhere' });
    await expect(
      (await stores.createStore('artifact:volumes-myproj', options(none))).get(work),
    ).rejects.toThrow(/No successful run of workflow seed.yml on branch nowhere/);
  });

  it("walks 'latest' back past newer runs whose artifact expired or was never uploaded, and names the run used", async () => {
    const kept = svc.createRun({ workflow: 'walk.yml', branch: 'main' });
    const expired = svc.createRun({ workflow: 'walk.yml', branch: 'main' });
    const empty = svc.createRun({ workflow: 'walk.yml', branch: 'main' }); // succeeded, uploaded nothing
    const keptFiles = await makeArchives(path.join(work, 'kept'), 'kept');
    svc.applyEnv(kept.id);
    await (await stores.createStore('artifact:volumes-walk', options())).put(keptFiles);
    svc.applyEnv(expired.id);
    await (await stores.createStore('artifact:volumes-walk', options())).put(seedFiles);
    svc.expireArtifact(expired.id, 'volumes-walk');

    svc.applyEnv(verifyRun.id);
    const store = await stores.createStore(
      'artifact:volumes-walk',
      options(fromRun('latest', { workflow: 'walk.yml', branch: 'main' })),
    );
    const restored = await store.get(path.join(work, 'walked'));
    expect(await digests(restored)).toEqual(await digests(keptFiles));
    expect(store.origin?.()).toBe(
      `run ${kept.id} of ${svc.repository}, the latest successful run of walk.yml on main with this artifact; ` +
        `2 newer runs (${empty.id}, ${expired.id}) no longer had it`,
    );
  });

  it('gives up after the newest runs, bounded, naming the runs it looked at', async () => {
    const runs = Array.from({ length: 12 }, () => svc.createRun({ workflow: 'gone.yml', branch: 'main' }));
    const oldest = runs[0] as Run;
    svc.applyEnv(oldest.id); // beyond the bound: never looked at
    await (await stores.createStore('artifact:volumes-gone', options())).put(seedFiles);
    svc.applyEnv(verifyRun.id);
    const before = svc.calls('ListRunArtifacts');
    const store = await stores.createStore(
      'artifact:volumes-gone',
      options(fromRun('latest', { workflow: 'gone.yml' })),
    );
    const newest = runs
      .slice(2)
      .reverse()
      .map((run) => run.id)
      .join(', ');
    await expect(store.get(work)).rejects.toThrow(
      `None of the 10 newest successful runs of workflow gone.yml in ${svc.repository} still has an artifact named "volumes-gone" (runs ${newest}: expired, or never uploaded)`,
    );
    expect(svc.calls('ListRunArtifacts') - before).toBe(10);
  });

  it('lists the artifacts that do exist when the name is wrong', async () => {
    svc.applyEnv(seedRun.id);
    const store = await stores.createStore('artifact:volumes-typo', options());
    expect(await store.exists()).toBe(false);
    const error = await store.get(work).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(
      /No artifact named "volumes-typo" in this workflow run \(the run has: volumes-myproj\)/,
    );

    svc.applyEnv(verifyRun.id);
    const rest = await stores.createStore('artifact:volumes-typo', options(fromRun(seedRun.id)));
    await expect(rest.get(work)).rejects.toThrow(
      /in run \d+ of octo-org\/compose-persist \(the run has: volumes-myproj\)/,
    );
  });

  it('says when the artifact has expired', async () => {
    svc.applyEnv(seedRun.id);
    await (await stores.createStore('artifact:short-lived', options({ retentionDays: 1 }))).put(seedFiles);
    svc.expireArtifact(seedRun.id, 'short-lived');
    svc.applyEnv(verifyRun.id);
    const store = await stores.createStore('artifact:short-lived', options(fromRun(seedRun.id)));
    await expect(store.get(path.join(work, 'expired'))).rejects.toThrow(/short-lived .* has expired/);
  });

  it('says the token needs actions: read on 401 and 403, without printing it', async () => {
    svc.applyEnv(verifyRun.id);
    for (const [token, status] of [
      [svc.tokenWithoutActionsRead, 403],
      ['ghs_wrong', 401],
    ] as const) {
      const store = await stores.createStore(
        'artifact:volumes-myproj',
        options(fromRun(seedRun.id, { token })),
      );
      const error = await store.get(work).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toContain(
        `(HTTP ${status}): give it the \`actions: read\` permission`,
      );
      expect((error as Error).message).not.toContain(token);
    }
  });

  it('survives a failed finalize (the client retries) and refuses a duplicate name', async () => {
    svc.applyEnv(seedRun.id);
    const before = svc.calls('FinalizeArtifact');
    svc.failNext('FinalizeArtifact', 1, 500);
    const store = await stores.createStore('artifact:retried', options());
    await store.put(seedFiles);
    expect(svc.calls('FinalizeArtifact') - before).toBe(2);
    expect(await digests(await store.get(path.join(work, 'retried')))).toEqual(await digests(seedFiles));

    await expect(store.put(seedFiles)).rejects.toThrow(/already exists in this run/);
  });

  it('a block upload cut mid-stream is sent again: the artifact is complete', async () => {
    svc.applyEnv(seedRun.id);
    const before = svc.blobs.traffic();
    svc.blobs.cutNextBlockUpload(1024 * 1024); // the connection drops 1 MiB into the first block
    const store = await stores.createStore('artifact:cut-upload', options());
    await store.put(seedFiles);
    const after = svc.blobs.traffic();
    expect(after.cuts - before.cuts).toBe(1);
    // The zip of 9 MiB goes up in 8 MiB blocks: two, plus the one sent again.
    expect(after.blockUploads - before.blockUploads).toBe(3);
    expect(await digests(await store.get(path.join(work, 'cut-upload')))).toEqual(await digests(seedFiles));
  });
});
