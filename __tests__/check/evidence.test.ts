import { describe, expect, it } from 'vitest';
import type { ManifestEntry, VolumeManifest } from '../../src/archive/manifest.js';
import { compareStores, type Evidence } from '../../src/check/evidence.js';
import { describeUnreadable, listStores, type StoreRef } from '../../src/check/stores.js';
import { engineWith, serviceContainer } from '../__fixtures__/engine.js';
import { stackModel } from '../__fixtures__/phase-input.js';

/** A manifest holding these files (path → content hash). */
function manifest(files: Record<string, string>): VolumeManifest {
  const entry = (path: string, sha256?: string): ManifestEntry => ({
    path,
    type: sha256 ? 'file' : 'directory',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: sha256 ? 1 : 0,
    mtime: 1,
    ...(sha256 ? { sha256 } : {}),
  });
  const entries = [entry('.'), ...Object.entries(files).map(([p, sha]) => entry(p, sha))];
  return {
    version: 1,
    tool: 'compose-persist',
    root: 'volume',
    createdAt: '2026-12-01T00:00:00Z',
    files: Object.keys(files).length,
    bytes: Object.keys(files).length,
    digest: 'sha256:x',
    limitations: [],
    entries,
  };
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

function evidence(...readings: [StoreRef, VolumeManifest][]): Evidence {
  return {
    probes: [],
    stores: new Map(readings.map(([ref, m]) => [ref.key, { ref, manifest: m }])),
    unreadable: new Map(),
  };
}
const noIgnore = () => [];

describe('compareStores: every place read before, against the same place after', () => {
  it('an anonymous volume down-up replaced fails, even when a fresh init recreated the same file names', () => {
    const before = evidence([anonymousRef('a'.repeat(64)), manifest({ PG_VERSION: '1', 'base/1': 'rows' })]);
    const after = evidence([anonymousRef('b'.repeat(64)), manifest({ PG_VERSION: '1', 'base/1': 'empty' })]);
    const [diff] = compareStores(before, after, 'no-loss', noIgnore);
    expect(diff).toMatchObject({ kind: 'anonymous', replaced: true, ok: false, filesBefore: 2 });
  });
  it('a replaced anonymous volume with exactly the same files (image content copied up) lost nothing', () => {
    const files = { 'conf/a': '1' };
    const before = evidence([anonymousRef('a'.repeat(64)), manifest(files)]);
    const after = evidence([anonymousRef('b'.repeat(64)), manifest(files)]);
    expect(compareStores(before, after, 'no-loss', noIgnore)[0]?.ok).toBe(true);
  });
  it('a replaced anonymous volume that was empty lost nothing', () => {
    const before = evidence([anonymousRef('a'.repeat(64)), manifest({})]);
    const after = evidence([anonymousRef('b'.repeat(64)), manifest({ 'new-file': '1' })]);
    expect(compareStores(before, after, 'no-loss', noIgnore)[0]).toMatchObject({ ok: true, filesBefore: 0 });
  });
  it('the same anonymous volume (restart, recreate) is compared with the policy, matched by service and path', () => {
    const before = evidence([anonymousRef('a'.repeat(64)), manifest({ x: '1' })]);
    const after = evidence([anonymousRef('a'.repeat(64)), manifest({ x: '2' })]);
    expect(compareStores(before, after, 'no-loss', noIgnore)[0]).toMatchObject({ ok: true });
    expect(compareStores(before, after, 'exact', noIgnore)[0]).toMatchObject({ ok: false });
  });
  it('a file deleted from a bind source fails, like a volume loss', () => {
    const before = evidence([bindRef, manifest({ keep: '1', gone: '2' })]);
    const after = evidence([bindRef, manifest({ keep: '1' })]);
    expect(compareStores(before, after, 'no-loss', noIgnore)[0]).toMatchObject({
      kind: 'bind',
      ok: false,
      removed: ['gone'],
      mountedAt: ['db:/data'],
    });
  });
  it('a place that cannot be read after the mode lost its files', () => {
    const before = evidence([bindRef, manifest({ keep: '1' })]);
    const after = evidence();
    after.unreadable.set(bindRef.key, { ref: bindRef, reason: 'bind source path does not exist' });
    expect(compareStores(before, after, 'no-loss', noIgnore)[0]).toMatchObject({
      ok: false,
      unreadable: 'bind source path does not exist',
      removed: ['keep'],
    });
  });
  it('ignore globs are asked per place', () => {
    const before = evidence([bindRef, manifest({ 'postmaster.pid': '1' })]);
    const after = evidence([bindRef, manifest({})]);
    const diff = compareStores(before, after, 'no-loss', (ref) => (ref.kind === 'bind' ? ['*.pid'] : []));
    expect(diff[0]?.ok).toBe(true);
  });
  it('check-files: off compares nothing', () => {
    const before = evidence([bindRef, manifest({ x: '1' })]);
    expect(compareStores(before, evidence(), 'off', noIgnore)).toEqual([]);
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
