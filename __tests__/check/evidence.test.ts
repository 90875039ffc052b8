import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTarStream, type VolumeListing } from '../../src/volumes/fingerprint-listing.js';
import { tarOf, type FixtureEntry } from '../archive/tar-fixtures.js';
import { existsSync } from 'node:fs';
import {
  compareStores,
  gatherEvidence,
  STORE_READS_AT_ONCE,
  type Evidence,
  type EvidenceSources,
} from '../../src/check/evidence.js';
import type { Compose } from '../../src/docker/compose.js';
import { describeUnreadable, listStores, type StoreRef } from '../../src/check/stores.js';
import { engineWith, serviceContainer } from '../__fixtures__/engine.js';
import { stackModel } from '../__fixtures__/phase-input.js';

let tempDir: string;
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'cp-evidence-test-'));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

/** A listing on disk of a volume holding these files (path → content). */
function listing(files: Record<string, string>): Promise<VolumeListing> {
  const entries: FixtureEntry[] = [
    { name: 'volume/', type: 'directory', mode: 0o755 },
    ...Object.entries(files).map(([p, content]) => ({ name: `volume/${p}`, content, mode: 0o644 })),
  ];
  return listTarStream(tarOf(entries), { root: 'volume', tempDir });
}

const anonymousRef = (source: string): StoreRef => ({
  key: 'db:/var/lib/postgresql/data',
  kind: 'anonymous',
  source,
  mountedAt: ['db:/var/lib/postgresql/data'],
  images: [],
});
const bindRef: StoreRef = {
  key: '/src/pgdata',
  kind: 'bind',
  source: '/src/pgdata',
  mountedAt: ['db:/data'],
  images: [],
};

async function evidence(...readings: [StoreRef, Promise<VolumeListing>][]): Promise<Evidence> {
  const stores = await Promise.all(
    readings.map(async ([ref, l]) => [ref.key, { ref, listing: await l }] as const),
  );
  return { probes: [], stores: new Map(stores), unreadable: new Map() };
}
const noIgnore = () => ({ ignore: [], appendOnly: [] });

describe('compareStores: every place read before, against the same place after', () => {
  it('an anonymous volume down-up replaced fails, even when a fresh init recreated the same file names', async () => {
    const before = await evidence([
      anonymousRef('a'.repeat(64)),
      listing({ PG_VERSION: '1', 'base/1': 'rows' }),
    ]);
    const after = await evidence([
      anonymousRef('b'.repeat(64)),
      listing({ PG_VERSION: '1', 'base/1': 'empty' }),
    ]);
    const [diff] = await compareStores(before, after, 'no-loss', noIgnore);
    expect(diff).toMatchObject({ kind: 'anonymous', replaced: true, ok: false, filesBefore: 2 });
  });
  it('a replaced anonymous volume with exactly the same files (image content copied up) lost nothing', async () => {
    const files = { 'conf/a': '1' };
    const before = await evidence([anonymousRef('a'.repeat(64)), listing(files)]);
    const after = await evidence([anonymousRef('b'.repeat(64)), listing(files)]);
    expect((await compareStores(before, after, 'no-loss', noIgnore))[0]?.ok).toBe(true);
  });
  it('a replaced anonymous volume that was empty lost nothing', async () => {
    const before = await evidence([anonymousRef('a'.repeat(64)), listing({})]);
    const after = await evidence([anonymousRef('b'.repeat(64)), listing({ 'new-file': '1' })]);
    expect((await compareStores(before, after, 'no-loss', noIgnore))[0]).toMatchObject({
      ok: true,
      filesBefore: 0,
    });
  });
  it('the same anonymous volume (restart, recreate) is compared with the policy, matched by service and path', async () => {
    const before = await evidence([anonymousRef('a'.repeat(64)), listing({ x: '1' })]);
    const after = await evidence([anonymousRef('a'.repeat(64)), listing({ x: '2' })]);
    expect((await compareStores(before, after, 'no-loss', noIgnore))[0]).toMatchObject({ ok: true });
    expect((await compareStores(before, after, 'exact', noIgnore))[0]).toMatchObject({ ok: false });
  });
  it('a file deleted from a bind source fails, like a volume loss', async () => {
    const before = await evidence([bindRef, listing({ keep: '1', gone: '2' })]);
    const after = await evidence([bindRef, listing({ keep: '1' })]);
    expect((await compareStores(before, after, 'no-loss', noIgnore))[0]).toMatchObject({
      kind: 'bind',
      ok: false,
      removed: ['gone'],
      mountedAt: ['db:/data'],
    });
  });
  it('a place that cannot be read after the mode lost its files', async () => {
    const before = await evidence([bindRef, listing({ keep: '1' })]);
    const after = await evidence();
    after.unreadable.set(bindRef.key, { ref: bindRef, reason: 'bind source path does not exist' });
    expect((await compareStores(before, after, 'no-loss', noIgnore))[0]).toMatchObject({
      ok: false,
      unreadable: 'bind source path does not exist',
      removed: ['keep'],
    });
  });
  it('ignore globs are asked per place', async () => {
    const before = await evidence([bindRef, listing({ 'postmaster.pid': '1' })]);
    const after = await evidence([bindRef, listing({})]);
    const diff = await compareStores(before, after, 'no-loss', (ref) => ({
      ignore: ref.kind === 'bind' ? ['*.pid'] : [],
      appendOnly: [],
    }));
    expect(diff[0]).toMatchObject({ ok: true, filesBefore: 1, filesVerified: 0 });
  });
  it('check-files: off compares nothing', async () => {
    const before = await evidence([bindRef, listing({ x: '1' })]);
    expect(await compareStores(before, await evidence(), 'off', noIgnore)).toEqual([]);
  });
});

const volumeRef = (name: string): StoreRef => ({
  key: name,
  kind: 'volume',
  source: name,
  mountedAt: [`db:/${name}`],
  images: [],
});

/** Sources with no probes whose reads of each place finish after `delayMs[place]`, counting reads in flight. */
function slowReads(refs: StoreRef[], delayMs: Record<string, number>, fails: Set<string> = new Set()) {
  const seen = { inFlight: 0, most: 0, listings: [] as VolumeListing[] };
  const sources: EvidenceSources = {
    compose: {} as Compose,
    probes: [],
    probeEnv: {},
    probeTimeoutMs: 1000,
    hostCwd: tempDir,
    stores: () => Promise.resolve(refs),
    fingerprint: async (ref) => {
      seen.inFlight++;
      seen.most = Math.max(seen.most, seen.inFlight);
      await new Promise((resolve) => setTimeout(resolve, delayMs[ref.key] ?? 0));
      seen.inFlight--;
      if (fails.has(ref.key)) throw new Error(`${ref.key} is unreadable`);
      const read = await listing({ [ref.key]: 'x' });
      seen.listings.push(read);
      return read;
    },
  };
  return { sources, seen };
}

describe('gatherEvidence: the places are read a few at a time', () => {
  const refs = ['v1', 'v2', 'v3', 'v4'].map(volumeRef);
  it(`reads ${STORE_READS_AT_ONCE} at once and keeps the places in the stack's order`, async () => {
    const { sources, seen } = slowReads(refs, { v1: 40, v2: 5, v3: 5, v4: 0 });
    const evidence = await gatherEvidence(sources);
    expect(seen.most).toBe(STORE_READS_AT_ONCE);
    expect([...evidence.stores.keys()]).toEqual(['v1', 'v2', 'v3', 'v4']);
  });
  it('a named volume that cannot be read fails the evidence once every read settled, its listings removed', async () => {
    const { sources, seen } = slowReads(refs, { v1: 0, v2: 30 }, new Set(['v1']));
    await expect(gatherEvidence(sources)).rejects.toThrow('v1 is unreadable');
    expect(seen.inFlight).toBe(0);
    expect(seen.listings).toHaveLength(3);
    for (const read of seen.listings) expect(existsSync(read.dir)).toBe(false);
  });
  it('a bind that cannot be read is noted as unreadable, the rest read', async () => {
    const { sources } = slowReads([bindRef, volumeRef('v1')], {}, new Set([bindRef.key]));
    const evidence = await gatherEvidence(sources);
    expect([...evidence.stores.keys()]).toEqual(['v1']);
    expect(evidence.unreadable.get(bindRef.key)?.reason).toBe(`${bindRef.key} is unreadable`);
  });
});

describe('listStores: named volumes, writable binds, anonymous volumes on the containers', () => {
  const anon = 'c'.repeat(64);
  const model = stackModel({
    binds: [
      { service: 'db', source: '/src/pgdata', target: '/extra', readOnly: false },
      { service: 'app', source: '/src/pgdata', target: '/shared', readOnly: false },
      { service: 'db', source: '/src/init', target: '/docker-entrypoint-initdb.d', readOnly: true },
    ],
  });
  const db = serviceContainer('shop', 'db', {
    mounts: [
      { type: 'volume', name: 'shop_pgdata', source: '', destination: '/var/lib/postgresql/data', rw: true },
      { type: 'volume', name: anon, source: '', destination: '/var/lib/postgresql/data/pg', rw: true },
      { type: 'bind', source: '/src/pgdata', destination: '/extra', rw: true },
    ],
  });
  it('lists each once, keyed so a down-up matches them again', async () => {
    const stores = await listStores(engineWith([db]), model, []);
    expect(stores.map((s) => [s.kind, s.key, s.source, s.mountedAt])).toEqual([
      ['volume', 'shop_pgdata', 'shop_pgdata', ['db:/var/lib/postgresql/data']],
      ['bind', '/src/pgdata', '/src/pgdata', ['db:/extra', 'app:/shared']],
      ['anonymous', 'db:/var/lib/postgresql/data/pg', anon, ['db:/var/lib/postgresql/data/pg']],
    ]);
  });
  it('with `services`, only the selected services’ binds and anonymous volumes', async () => {
    const stores = await listStores(engineWith([db]), model, ['app']);
    expect(stores.map((s) => [s.kind, s.mountedAt])).toEqual([
      ['volume', ['db:/var/lib/postgresql/data']],
      ['bind', ['app:/shared']],
    ]);
  });
});

describe('describeUnreadable', () => {
  it('words the common cases: a single file, a socket', () => {
    expect(
      describeUnreadable(bindRef, 'Unsafe tar stream: its root volume/ is a file, not a directory.'),
    ).toBe('bind /src/pgdata: a single file, not fingerprinted');
    expect(
      describeUnreadable(bindRef, 'The tar stream of volume x has no root entry volume/: it is empty'),
    ).toBe('bind /src/pgdata: not a directory (a socket or device), not fingerprinted');
    expect(describeUnreadable(bindRef, 'HTTP 500')).toBe('bind /src/pgdata could not be read: HTTP 500');
  });
});
