import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeKnownStore,
  KNOWN_STORE_SAMPLES,
  placeRules,
  recognizeStores,
} from '../../src/check/known-stores.js';
import { listTarStream, type VolumeListing } from '../../src/volumes/fingerprint-listing.js';
import { diffListings } from '../../src/volumes/listing-diff.js';
import { tarOf, type FixtureEntry } from '../archive/tar-fixtures.js';

let tempDir: string;
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'cp-known-stores-test-'));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

/** A place holding these files (path → content), listed with the known stores' samples. */
function listing(files: Record<string, string>): Promise<VolumeListing> {
  const entries: FixtureEntry[] = [
    { name: 'volume/', type: 'directory', mode: 0o755 },
    ...Object.entries(files).map(([p, content]) => ({ name: `volume/${p}`, content, mode: 0o600 })),
  ];
  return listTarStream(tarOf(entries), { root: 'volume', tempDir, samples: KNOWN_STORE_SAMPLES });
}

/** The place before and after, compared under no-loss with the stores recognised in it (or none). */
async function compare(
  before: Record<string, string>,
  after: Record<string, string>,
  known = true,
  userGlobs: string[] = [],
) {
  const [a, b] = await Promise.all([listing(before), listing(after)]);
  const stores = known ? recognizeStores(a.samples, b.samples) : [];
  return diffListings(a, b, { policy: 'no-loss', ...placeRules(userGlobs, stores) });
}

/** Every key of `files` but those named. */
const without = (files: Record<string, string>, ...gone: string[]) =>
  Object.fromEntries(Object.entries(files).filter(([p]) => !gone.includes(p)));

const SEGMENT = (n: number) => `00000001000000000000000${n}`;

/** A PostgreSQL 15 data directory at pgdata/ inside the place (PGDATA below the volume's mount). */
const PGDATA: Record<string, string> = {
  'pgdata/PG_VERSION': '15\n',
  'pgdata/global/pg_control': 'control',
  'pgdata/global/1262': 'pg_database',
  'pgdata/global/pg_internal.init': 'relcache',
  'pgdata/base/5/PG_VERSION': '15\n',
  'pgdata/base/5/16384': 'orders',
  'pgdata/base/5/pg_internal.init': 'relcache',
  'pgdata/base/5/16400': 'unlogged main',
  'pgdata/base/5/16400_fsm': 'unlogged fsm',
  'pgdata/base/5/16400_init': 'unlogged init',
  'pgdata/base/pgsql_tmp/pgsql_tmp12.0': 'sort',
  'pgdata/postmaster.pid': '42',
  'pgdata/postmaster.opts': 'postgres',
  'pgdata/pg_stat_tmp/global.stat': 'stats',
  'pgdata/pg_subtrans/0000': 'subtrans',
  [`pgdata/pg_wal/${SEGMENT(1)}`]: 'wal 1',
  [`pgdata/pg_wal/${SEGMENT(2)}`]: 'wal 2',
  [`pgdata/pg_wal/archive_status/${SEGMENT(1)}.ready`]: '',
  'pgdata/pg_logical/replorigin_checkpoint': 'origin',
};
/** What PostgreSQL leaves after a restart: every transient file gone, segment 1 recycled as 3. */
const PGDATA_RESTARTED = {
  ...without(
    PGDATA,
    'pgdata/global/pg_internal.init',
    'pgdata/base/5/pg_internal.init',
    'pgdata/base/5/16400_fsm',
    'pgdata/base/pgsql_tmp/pgsql_tmp12.0',
    'pgdata/postmaster.pid',
    'pgdata/pg_stat_tmp/global.stat',
    'pgdata/pg_subtrans/0000',
    `pgdata/pg_wal/${SEGMENT(1)}`,
    `pgdata/pg_wal/archive_status/${SEGMENT(1)}.ready`,
  ),
  [`pgdata/pg_wal/${SEGMENT(3)}`]: 'wal 3',
  'pgdata/postmaster.pid': '43',
};

describe('PostgreSQL', () => {
  it('is recognised at any depth, with its version, and only its data directory (not base/N)', async () => {
    const place = await listing(PGDATA);
    const stores = recognizeStores(place.samples);
    expect(stores.map((s) => [s.dir, s.what])).toEqual([['pgdata', 'PostgreSQL 15 data directory']]);
    expect(describeKnownStore(stores[0]!)).toMatch(
      /^PostgreSQL 15 data directory at pgdata\/ — left out as pg_basebackup does: postmaster\.pid, postmaster\.opts, pg_internal\.init, pgsql_tmp\*, the contents of pg_stat_tmp\//,
    );
  });

  it('a restart that deletes what PostgreSQL rebuilds is no loss; without known stores it is', async () => {
    const diff = await compare(PGDATA, PGDATA_RESTARTED);
    expect(diff).toMatchObject({ ok: true, removed: [] });
    // The data files, the control file and the surviving WAL are still compared.
    expect(diff.filesCompared).toBe(8);
    const naive = await compare(PGDATA, PGDATA_RESTARTED, false);
    expect(naive.ok).toBe(false);
    expect(naive.removed).toContain('pgdata/base/5/pg_internal.init');
  });

  it('a deleted table file is still a loss', async () => {
    const diff = await compare(PGDATA, without(PGDATA_RESTARTED, 'pgdata/base/5/16384'));
    expect(diff).toMatchObject({ ok: false, removed: ['pgdata/base/5/16384'] });
  });

  it('a WAL segment missing while an older one is left is a loss; the init fork and non-WAL files too', async () => {
    const gapInWal = await compare(PGDATA, without(PGDATA, `pgdata/pg_wal/${SEGMENT(2)}`));
    expect(gapInWal).toMatchObject({ ok: false, removed: [`pgdata/pg_wal/${SEGMENT(2)}`] });
    const initFork = await compare(PGDATA, without(PGDATA, 'pgdata/base/5/16400_init'));
    expect(initFork).toMatchObject({ ok: false, removed: ['pgdata/base/5/16400_init'] });
    const logical = await compare(PGDATA, without(PGDATA, 'pgdata/pg_logical/replorigin_checkpoint'));
    expect(logical.ok).toBe(false);
  });

  it('a PG_VERSION without global/pg_control is no data directory', async () => {
    const place = await listing({ 'backup/PG_VERSION': '15\n', 'backup/postmaster.pid': '1' });
    expect(recognizeStores(place.samples)).toEqual([]);
    expect((await compare({ 'backup/PG_VERSION': '15\n', 'backup/postmaster.pid': '1' }, {})).ok).toBe(false);
  });
});

describe('MariaDB/MySQL', () => {
  const DATADIR = {
    ibdata1: 'system',
    ib_logfile0: 'redo',
    ibtmp1: 'temp',
    aria_log_control: 'aria',
    'aria_log.00000001': 'aria log',
    mysql_upgrade_info: '10.11.6-MariaDB',
    'mysql/user.MAI': 'users',
    'shop/orders.ibd': 'orders',
    'shop/#sql-alter-1-2.ibd': 'temporary',
    'mariadb.pid': '7',
    '#innodb_temp/temp_1.ibt': 'session temp',
  };
  it('recognises the datadir with its release; its temp tablespace, #sql tables and pid file are left out', async () => {
    const place = await listing(DATADIR);
    expect(recognizeStores(place.samples).map((s) => s.what)).toEqual(['MariaDB 10.11.6 data directory']);
    const restarted = without(
      DATADIR,
      'ibtmp1',
      'shop/#sql-alter-1-2.ibd',
      'mariadb.pid',
      '#innodb_temp/temp_1.ibt',
    );
    expect((await compare(DATADIR, restarted)).ok).toBe(true);
    expect(await compare(DATADIR, without(restarted, 'shop/orders.ibd'))).toMatchObject({
      ok: false,
      removed: ['shop/orders.ibd'],
    });
  });
});

describe('Redis', () => {
  const manifest = (n: number) =>
    `file appendonly.aof.${n}.base.rdb seq ${n} type b\nfile appendonly.aof.${n}.incr.aof seq ${n} type i\n`;
  const aof = (n: number, incr: string) => ({
    'appendonlydir/appendonly.aof.manifest': manifest(n),
    [`appendonlydir/appendonly.aof.${n}.base.rdb`]: `REDIS0011 base ${n}`,
    [`appendonlydir/appendonly.aof.${n}.incr.aof`]: incr,
  });
  const DATA = { 'dump.rdb': 'REDIS0011', 'temp-31.rdb': 'half a snapshot', ...aof(1, 'SET a 1\nSET b 2\n') };

  it('a snapshot temp file gone and the incr AOF grown is no loss', async () => {
    const place = await listing(DATA);
    expect(recognizeStores(place.samples).map((s) => [s.dir, s.what])).toEqual([
      ['.', 'Redis data directory'],
    ]);
    const grown = { ...without(DATA, 'temp-31.rdb'), ...aof(1, 'SET a 1\nSET b 2\nSET c 3\n') };
    expect((await compare(DATA, grown)).ok).toBe(true);
  });

  it('a rewrite to a new base and incr file that the manifest names is no loss', async () => {
    const rewritten = {
      'dump.rdb': 'REDIS0011',
      'appendonlydir/temp-rewriteaof-bg-9.aof': 'in progress',
      ...aof(2, ''),
    };
    expect((await compare(DATA, rewritten)).ok).toBe(true);
  });

  it('a truncated AOF is a loss (it only grows), and so is a vanished one the manifest still names', async () => {
    const truncated = await compare(DATA, { ...DATA, ...aof(1, 'SET a 1\n') });
    expect(truncated).toMatchObject({ ok: false, shrunk: ['appendonlydir/appendonly.aof.1.incr.aof'] });
    expect(truncated.counts.shrunk).toBe(1);
    const gone = await compare(DATA, without(DATA, 'appendonlydir/appendonly.aof.1.incr.aof'));
    expect(gone).toMatchObject({ ok: false, removed: ['appendonlydir/appendonly.aof.1.incr.aof'] });
  });

  it('without known stores a truncated AOF passes no-loss (a changed file), which is why the rule exists', async () => {
    expect((await compare(DATA, { ...DATA, ...aof(1, 'SET a 1\n') }, false)).ok).toBe(true);
  });
});

describe('SQLite', () => {
  const header = 'SQLite format 3\0';
  const APP = {
    'app/shop.db': `${header}pages`,
    'app/shop.db-wal': 'wal frames',
    'app/shop.db-shm': 'index',
    'notes.db': 'not sqlite',
    'notes.db-wal': 'not a WAL of SQLite',
  };

  it('recognises databases by their header; their -wal and -shm vanishing on close is no loss', async () => {
    const place = await listing(APP);
    expect(recognizeStores(place.samples).map((s) => s.what)).toEqual(['SQLite database app/shop.db']);
    expect((await compare(APP, without(APP, 'app/shop.db-wal', 'app/shop.db-shm'))).ok).toBe(true);
  });

  it('a deleted database is a loss, and so is a -wal beside a file that is no SQLite database', async () => {
    expect(await compare(APP, without(APP, 'app/shop.db', 'app/shop.db-wal'))).toMatchObject({
      ok: false,
      removed: ['app/shop.db'],
    });
    expect(await compare(APP, without(APP, 'notes.db-wal'))).toMatchObject({
      ok: false,
      removed: ['notes.db-wal'],
    });
  });

  it('names with glob characters are matched literally', async () => {
    const odd = { 'a*b/x?.db': `${header}pages`, 'a*b/x?.db-wal': 'w', 'aXb/xY.db-wal': 'w' };
    const diff = await compare(odd, without(odd, 'a*b/x?.db-wal', 'aXb/xY.db-wal'));
    expect(diff).toMatchObject({ ok: false, removed: ['aXb/xY.db-wal'] });
  });
});

describe('MongoDB', () => {
  const log = (n: number) => `journal/WiredTigerLog.000000000${n}`;
  const DBPATH = {
    WiredTiger: 'WiredTiger\nWiredTiger 10.0.2: (December 21, 2021)\n',
    'WiredTiger.wt': 'metadata',
    'collection-0-123.wt': 'orders',
    'mongod.lock': '1',
    'diagnostic.data/metrics.2026-12-07T10-00-00Z-00000': 'ftdc',
    [log(1)]: 'log 1',
    [log(2)]: 'log 2',
    'journal/WiredTigerPreplog.0000000001': 'preallocated',
  };
  it('its lock, diagnostic data and logs older than the oldest left go; a collection file does not', async () => {
    const place = await listing(DBPATH);
    expect(recognizeStores(place.samples).map((s) => s.what)).toEqual([
      'MongoDB data directory (WiredTiger 10.0.2)',
    ]);
    const restarted = {
      ...without(
        DBPATH,
        'mongod.lock',
        'diagnostic.data/metrics.2026-12-07T10-00-00Z-00000',
        log(1),
        'journal/WiredTigerPreplog.0000000001',
      ),
      [log(3)]: 'log 3',
    };
    expect((await compare(DBPATH, restarted)).ok).toBe(true);
    expect(await compare(DBPATH, without(restarted, 'collection-0-123.wt'))).toMatchObject({
      ok: false,
      removed: ['collection-0-123.wt'],
    });
    expect((await compare(DBPATH, without(DBPATH, log(2)))).ok).toBe(false);
  });
});

describe('rules and samples', () => {
  it("the user's ignore globs add to a store's rules", async () => {
    const before = { ...PGDATA, 'cache/x': '1' };
    expect((await compare(before, PGDATA_RESTARTED)).ok).toBe(false);
    expect((await compare(before, PGDATA_RESTARTED, true, ['cache'])).ok).toBe(true);
  });

  it('several stores in one place each get their rules', async () => {
    const both = { ...PGDATA, 'sqlite/app.db': 'SQLite format 3\0x', 'sqlite/app.db-wal': 'w' };
    const place = await listing(both);
    expect(recognizeStores(place.samples).map((s) => s.dir)).toEqual(['pgdata', '.']);
    expect((await compare(both, without(PGDATA_RESTARTED, 'sqlite/app.db-wal'))).ok).toBe(false);
    expect((await compare(both, { ...PGDATA_RESTARTED, 'sqlite/app.db': 'SQLite format 3\0y' })).ok).toBe(
      true,
    );
  });

  it('keeps the content of small named files only (a big marker is kept by path and size)', async () => {
    const place = await listing({ ibdata1: 'x'.repeat(20_000), PG_VERSION: '15\n' });
    expect(place.samples).toEqual([
      { path: 'ibdata1', type: 'file', size: 20_000 },
      { path: 'PG_VERSION', type: 'file', size: 3, content: '15\n' },
    ]);
  });

  it('keeps at most max samples and counts the rest; a file is sampled by its header only when it has one', async () => {
    const files = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`db${i}.sqlite`, 'SQLite format 3\0x']),
    );
    const entries: FixtureEntry[] = [
      { name: 'volume/', type: 'directory', mode: 0o755 },
      ...Object.entries({ ...files, 'plain.txt': 'SQLite' }).map(([p, content]) => ({
        name: `volume/${p}`,
        content,
      })),
    ];
    const place = await listTarStream(tarOf(entries), {
      root: 'volume',
      tempDir,
      samples: { ...KNOWN_STORE_SAMPLES, max: 3 },
    });
    expect(place.samples.map((s) => s.path)).toEqual(['db0.sqlite', 'db1.sqlite', 'db2.sqlite']);
    expect(place.samplesDropped).toBe(2);
    expect(place.samples[0]).toMatchObject({ header: 0, type: 'file' });
    expect(place.samples[0]?.content).toBeUndefined();
  });
});
