// Known stores (issue 26) through the built action (dist/main.js + dist/post.js), on one stack of four real
// stores with their defaults and no probe, no ignore globs: PostgreSQL (PGDATA below the volume's mount),
// MariaDB, Redis with AOF, and a python app keeping SQLite in WAL mode in a bind mount. A crash round under
// load, then the five restart modes with writes before each must pass; a sixth mode, during which each store
// really loses data (a table file, a table's tablespace, the AOF's tail, the SQLite database), must FAIL on
// every one of the four places. One stack start-up covers it all.
import { copyFile, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cleanup, NOTHING_LEFT, reportOf, runAction, uniqueName } from '../faults/support.js';
import '../support/images.js';

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

/** A crash round, six modes, four stores recovering each time, on a loaded 2-core machine. */
const TIMEOUT_MS = 900_000;

/** Each load prints a token of its own store (pg-, my-, sq-, a stream id), one per acknowledged write. */
const LOAD = [
  `db: psql -U postgres -qc "create table if not exists t (id bigserial primary key)" 2>/dev/null; while true; do psql -U postgres -qAtc "insert into t default values returning 'pg-' || id"; done`,
  `my: mariadb -uroot -e "create database if not exists crash; create table if not exists crash.t (id int auto_increment primary key)"; while true; do mariadb -uroot -N -e "insert into crash.t values (); select concat('my-', last_insert_id())"; done`,
  "cache: while true; do redis-cli XADD log '*' n 1; done",
  'app: while true; do id=$(python3 /app/app.py insert load) && echo "sq-$id"; done',
].join('\n');
const ACKNOWLEDGED = [
  `db: psql -U postgres -qAtc "select 'pg-' || id from t"`,
  `my: mariadb -uroot -N -e "select concat('my-', id) from crash.t"`,
  'cache: redis-cli XRANGE log - +',
  "app: python3 /app/app.py list | sed 's/^/sq-/'",
].join('\n');
const SETUP = [
  'db: psql -U postgres -d shop -qc "create table orders (id serial primary key, item text); insert into orders (item) select \'x\' || g from generate_series(1, 200) g"',
  'my: mariadb -uroot -e "create database shop; create table shop.orders (id int auto_increment primary key, item varchar(40)); insert into shop.orders (item) values (\'first\')"',
  'cache: redis-cli set order:0 first',
  'app: python3 /app/app.py insert first',
].join('\n');
/** Before each mode every store gets a write (as a live app keeps writing); before the sixth, the losses. */
const LOSS_ROUND = 6;
const WRITE = [
  `db: psql -U postgres -d shop -qc "insert into orders (item) values ('round-$COMPOSE_PERSIST_ROUND')" && { [ "$COMPOSE_PERSIST_ROUND" != ${LOSS_ROUND} ] || psql -U postgres -d shop -qAtc "select pg_relation_filepath('orders')" > /tmp/lose; }`,
  `my: mariadb -uroot -e "insert into shop.orders (item) values ('round-$COMPOSE_PERSIST_ROUND')" && { [ "$COMPOSE_PERSIST_ROUND" != ${LOSS_ROUND} ] || touch /tmp/lose; }`,
  `cache: redis-cli set "order:$COMPOSE_PERSIST_ROUND" written && { [ "$COMPOSE_PERSIST_ROUND" != ${LOSS_ROUND} ] || touch /tmp/lose; }`,
  `app: python3 /app/app.py insert "round-$COMPOSE_PERSIST_ROUND" && { [ "$COMPOSE_PERSIST_ROUND" != ${LOSS_ROUND} ] || touch /tmp/lose; }`,
].join('\n');

describe('known stores: no false alarm on healthy databases with no configuration, and real losses still fail', () => {
  it(
    'PostgreSQL, MariaDB, Redis (AOF) and SQLite pass a crash round and all five modes; a loss in each FAILS the mode it happened in',
    { timeout: TIMEOUT_MS },
    async () => {
      const dir = await cleanup.tempDir();
      const file = path.join(dir, 'compose.yml');
      await copyFile(path.resolve('__tests__/fixtures/stacks/known-stores/compose.yml'), file);
      await mkdir(path.join(dir, 'sqlite'));
      const project = cleanup.project(uniqueName('known-stores'));
      const { main, post, leftovers } = await runAction(project, {
        'compose-file': file,
        exec: SETUP,
        load: LOAD,
        acknowledged: ACKNOWLEDGED,
        'crash-rounds': '1',
        write: WRITE,
        'restart-modes': 'kill, restart, stop-start, recreate, down-up, restart',
      });
      expect(post.exitCode, post.stdout).toBe(0);
      expect(leftovers).toEqual(NOTHING_LEFT);
      const report = await reportOf(main);

      // The crash round lost no acknowledged write of any store.
      const [round] = report.crashLoad?.rounds ?? [];
      expect(round?.lost, main.stdout).toBe(0);
      expect(round?.acknowledged).toBeGreaterThan(0);

      // Each place says which store it holds and what is left out there.
      const sqliteDir = path.join(dir, 'sqlite');
      expect(report.knownStores).toHaveLength(4);
      expect(report.knownStores).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(
              `^volume ${project}_pgdata: PostgreSQL 15 data directory at pgdata/ — left out as pg_basebackup does: postmaster\\.pid, postmaster\\.opts, pg_internal\\.init, `,
            ),
          ),
          expect.stringMatching(
            new RegExp(
              `^volume ${project}_mydata: MariaDB(/MySQL| [0-9.]+) data directory — left out as mariadb-backup does: ibtmp\\*`,
            ),
          ),
          expect.stringMatching(
            new RegExp(`^volume ${project}_redisdata: Redis data directory — left out as Redis itself`),
          ),
          expect.stringMatching(
            new RegExp(
              `^bind mount ${sqliteDir} \\(app:/data\\): SQLite database shop\\.db — left out as SQLite itself`,
            ),
          ),
        ]),
      );
      expect(main.summary).toContain('**Known stores**');
      expect(main.stdout).toContain(
        `PostgreSQL 15 data directory at pgdata/ — left out as pg_basebackup does`,
      );

      // Five modes, each after a write to every store, lose nothing; every place verified files.
      const modes = report.modes.map((m) => [m.mode, m.passed]);
      expect(modes, main.stdout).toEqual([
        ['kill', true],
        ['restart', true],
        ['stop-start', true],
        ['recreate', true],
        ['down-up', true],
        ['restart', false],
      ]);
      for (const mode of report.modes.slice(0, 5)) {
        expect(mode.probes).toEqual([]);
        expect(mode.volumes.map((v) => [v.volume, v.ok]).sort()).toEqual(
          [
            [`${project}_mydata`, true],
            [`${project}_pgdata`, true],
            [`${project}_redisdata`, true],
            [sqliteDir, true],
          ].sort(),
        );
        for (const place of mode.volumes) expect(place.filesVerified, place.volume).toBeGreaterThan(0);
      }

      // The sixth mode lost data in every store, and each place names its own loss.
      const lossy = report.modes[5];
      const place = (name: string) => lossy?.volumes.find((v) => v.volume === name);
      expect(place(`${project}_pgdata`)).toMatchObject({
        ok: false,
        removed: [expect.stringMatching(/^pgdata\/base\/\d+\/\d+$/)],
      });
      expect(place(`${project}_mydata`)).toMatchObject({ ok: false, removed: ['shop/orders.ibd'] });
      expect(place(`${project}_redisdata`)).toMatchObject({
        ok: false,
        removed: [],
        shrunk: [expect.stringMatching(/^appendonlydir\/appendonly\.aof\.\d+\.incr\.aof$/)],
      });
      expect(place(sqliteDir)).toMatchObject({ ok: false, removed: ['shop.db'] });
      expect(report.result).toBe('failed');
      expect(report.firstLoss).toMatch(/^Data did not survive restart: /);
      for (const loss of [
        /volume \S+_pgdata lost 1 file\(s\) \(pgdata\/base\/\d+\/\d+\)/,
        /volume \S+_mydata lost 1 file\(s\) \(shop\/orders\.ibd\)/,
        /volume \S+_redisdata lost the tail of 1 append-only file\(s\) \(appendonlydir\/appendonly\.aof\.\d+\.incr\.aof: shorter than before\)/,
        /bind mount \S+\/sqlite \(app:\/data\) lost 1 file\(s\) \(shop\.db\)/,
      ]) {
        expect(report.firstLoss).toMatch(loss);
      }
    },
  );
});
