// The data directories of common stores, recognised in a place's listing by their own marker files, and
// what each store itself treats as transient: left out of the comparison the way the store's own backup
// tooling leaves it out, so a healthy database is no false alarm. Pure: listing samples in, rules out.
// A rule only ever leaves out what the store deletes or recreates by design; its data files stay compared.
import { escapeGlob } from '../glob.js';
import type { ListingSample, SampleSpec } from '../volumes/fingerprint-listing.js';

/** One recognised data directory and the rules the comparison applies to it. */
export interface KnownStore {
  /** Its directory inside the place ('.': the place's root). */
  dir: string;
  /** What it is: "PostgreSQL 15 data directory". */
  what: string;
  /** Whose rules, and what they leave out: "as pg_basebackup does: postmaster.pid, …". */
  leftOut: string;
  /** Place-relative globs the comparison leaves out. */
  exclude: string[];
  /** Place-relative globs of files that only ever grow: shorter than before is a loss. */
  appendOnly: string[];
}

/** The comparison's rules for one place: the user's ignore globs plus those of the stores in it. */
export interface PlaceRules {
  ignore: string[];
  appendOnly: string[];
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * What a listing keeps aside for recognition: the marker files by name (small ones with their content:
 * PG_VERSION, an AOF manifest, WiredTiger's version file), the WAL and log segments and unlogged-relation
 * init forks the rules below name, and every file that starts with SQLite's header.
 */
export const KNOWN_STORE_SAMPLES: SampleSpec = {
  names: new Set([
    'PG_VERSION',
    'pg_control',
    'ibdata1',
    'aria_log_control',
    'mysql_upgrade_info',
    'dump.rdb',
    'appendonly.aof',
    'WiredTiger',
  ]),
  pattern: /^(?:\d+_init|[0-9A-F]{24}|.+\.aof\.manifest|WiredTigerLog\.\d{10})$/,
  headers: [SQLITE_MAGIC],
  contentBytes: 16 * 1024,
  max: 10_000,
};

/**
 * The stores in a place, from its samples before a restart and (for the rules that depend on what the
 * store did meanwhile: recycled WAL, a rewritten AOF) after it. Without `after`, those rules leave out
 * nothing more than the rest.
 */
export function recognizeStores(
  before: readonly ListingSample[],
  after: readonly ListingSample[] = before,
): KnownStore[] {
  const now = new SampleIndex(before);
  const later = new SampleIndex(after);
  return [
    ...postgresql(now, later),
    ...mariadb(now),
    ...redis(now, later),
    ...mongodb(now, later),
    ...sqlite(before),
  ];
}

/** The rules of a place: the user's globs, then each recognised store's. */
export function placeRules(userGlobs: readonly string[], stores: readonly KnownStore[]): PlaceRules {
  return {
    ignore: [...userGlobs, ...stores.flatMap((s) => s.exclude)],
    appendOnly: stores.flatMap((s) => s.appendOnly),
  };
}

/** "PostgreSQL 15 data directory at pgdata/ — left out as pg_basebackup does: …". */
export function describeKnownStore(store: KnownStore): string {
  const at = store.dir === '.' ? '' : ` at ${store.dir}/`;
  return `${store.what}${at} — left out ${store.leftOut}`;
}

/** Said once per place when more markers were found than a listing keeps. */
export function droppedSamplesNote(dropped: number): string | undefined {
  if (dropped === 0) return undefined;
  return `${dropped} more marker files (SQLite databases, WAL segments) were not examined: a store among them is compared in full (add ignore globs if one cries wolf)`;
}

class SampleIndex {
  private readonly byPath = new Map<string, ListingSample>();

  constructor(readonly samples: readonly ListingSample[]) {
    for (const sample of samples) this.byPath.set(sample.path, sample);
  }

  get(path: string): ListingSample | undefined {
    return this.byPath.get(path);
  }

  /** Samples whose base name is `name`, each with its directory. */
  named(name: string): { dir: string; sample: ListingSample }[] {
    return this.samples
      .filter((s) => baseName(s.path) === name)
      .map((sample) => ({ dir: dirName(sample.path), sample }));
  }

  /** Base names of the samples directly in `dir` that match `pattern`. */
  namesIn(dir: string, pattern: RegExp): string[] {
    return this.samples
      .filter((s) => dirName(s.path) === dir && pattern.test(baseName(s.path)))
      .map((s) => baseName(s.path));
  }
}

/** A glob for `relative` inside the store's directory, anchored at the place's root. */
function inDir(dir: string, relative: string): string {
  return dir === '.' ? `/${relative}` : `${escapeGlob(dir)}/${relative}`;
}

/** The place-relative path of a file inside `dir`. */
function join(dir: string, name: string): string {
  return dir === '.' ? name : `${dir}/${name}`;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function dirName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '.' : path.slice(0, slash);
}

/**
 * Log segments that a checkpoint recycled: those of `before` older than the oldest one left after (names
 * sort by position). A segment missing from the middle or the end is still a loss.
 */
function recycledSegments(before: string[], after: string[]): string[] {
  if (after.length === 0) return [];
  const oldest = [...after].sort()[0] as string;
  return before.filter((name) => name < oldest && !after.includes(name));
}

const WAL_SEGMENT = /^[0-9A-F]{24}$/;

/**
 * PostgreSQL: a directory with PG_VERSION and global/pg_control. Left out as pg_basebackup leaves them out
 * of a base backup (PostgreSQL 15 src/backend/backup/basebackup.c, excludeDirContents and excludeFiles;
 * the docs' "Making a Base Backup Using the Low Level API" list the same): the contents of pg_dynshmem,
 * pg_notify, pg_serial, pg_snapshots, pg_stat_tmp, pg_subtrans and pg_replslot (re-initialised at start),
 * postmaster.pid/.opts, pg_internal.init (the relation cache, deleted at every start and rebuilt at a
 * database's first connection), pgsql_tmp*, backup_label, tablespace_map, backup_manifest,
 * postgresql.auto.conf.tmp, current_logfiles.tmp, pg_wal/archive_status, and the forks of unlogged
 * relations other than their init fork (crash recovery resets them from it). WAL segments: pg_basebackup
 * sends none of pg_wal with the base; here only those older than the oldest segment left are left out
 * (checkpoints remove or recycle exactly those, per the docs' "WAL Configuration").
 */
function postgresql(now: SampleIndex, later: SampleIndex): KnownStore[] {
  return now
    .named('PG_VERSION')
    .filter(({ dir }) => now.get(join(dir, 'global/pg_control'))?.type === 'file')
    .map(({ dir, sample }) => {
      const version = sample.content?.trim() ?? '';
      const wal = join(dir, 'pg_wal');
      const recycled = recycledSegments(now.namesIn(wal, WAL_SEGMENT), later.namesIn(wal, WAL_SEGMENT));
      const exclude = [
        ...[
          'pg_dynshmem',
          'pg_notify',
          'pg_serial',
          'pg_snapshots',
          'pg_stat_tmp',
          'pg_subtrans',
          'pg_replslot',
          'pg_wal/archive_status',
        ].map((d) => inDir(dir, `${d}/*`)),
        ...[
          'postmaster.pid',
          'postmaster.opts',
          'backup_label',
          'tablespace_map',
          'backup_manifest',
          'postgresql.auto.conf.tmp',
          'current_logfiles.tmp',
        ].map((f) => inDir(dir, f)),
        inDir(dir, '**/pg_internal.init*'),
        inDir(dir, '**/pgsql_tmp*'),
        ...recycled.map((name) => inDir(dir, `pg_wal/${name}`)),
        ...unloggedForks(now, dir),
      ];
      return {
        dir,
        what: `PostgreSQL${/^\d+(\.\d+)?$/.test(version) ? ` ${version}` : ''} data directory`,
        leftOut:
          'as pg_basebackup does: postmaster.pid, postmaster.opts, pg_internal.init, pgsql_tmp*, the contents of pg_stat_tmp/, pg_replslot/, pg_dynshmem/, pg_notify/, pg_serial/, pg_snapshots/, pg_subtrans/, unlogged tables but their init fork; and WAL segments older than the oldest left (recycled by a checkpoint)',
        exclude,
        appendOnly: [],
      };
    });
}

/** Every fork of an unlogged relation but its init fork (`<oid>_init` beside it marks one). */
function unloggedForks(now: SampleIndex, dir: string): string[] {
  const prefix = dir === '.' ? '' : `${dir}/`;
  return now.samples
    .filter((s) => s.path.startsWith(prefix) && /^\d+_init$/.test(baseName(s.path)))
    .flatMap((s) => {
      const relation = escapeGlob(s.path.slice(0, -'_init'.length));
      return [`/${relation}`, `/${relation}.*`, `/${relation}_fsm*`, `/${relation}_vm*`];
    });
}

/**
 * MariaDB/MySQL: a directory with ibdata1 or aria_log_control. Left out as mariadb-backup leaves them out
 * (MariaDB docs, "Files Backed Up By mariadb-backup": not the InnoDB temporary tablespace; its
 * backup_copy.cc skips `#sql` temporary tables), plus what the server recreates at each start: its pid and
 * socket files, and MySQL 8's session temporary tablespaces (#innodb_temp/).
 */
function mariadb(now: SampleIndex): KnownStore[] {
  const dirs = new Set(
    [...now.named('ibdata1'), ...now.named('aria_log_control')]
      .filter(({ sample }) => sample.type === 'file')
      .map(({ dir }) => dir),
  );
  return [...dirs].map((dir) => {
    const release = /^(\d+\.\d+\.\d+)-MariaDB/.exec(now.get(join(dir, 'mysql_upgrade_info'))?.content ?? '');
    return {
      dir,
      what: release ? `MariaDB ${release[1]} data directory` : 'MariaDB/MySQL data directory',
      leftOut:
        'as mariadb-backup does: ibtmp*, #sql* temporary tables; and the pid and socket files, #innodb_temp/ (recreated at start)',
      exclude: [
        inDir(dir, 'ibtmp*'),
        inDir(dir, '**/#sql*'),
        inDir(dir, '*.pid'),
        inDir(dir, '*.sock'),
        inDir(dir, '*.sock.lock'),
        inDir(dir, '#innodb_temp/*'),
      ],
      appendOnly: [],
    };
  });
}

/** One line of a Redis 7 AOF manifest: `file NAME seq N type b|h|i`. */
interface AofPart {
  name: string;
  type: string;
}

function aofManifest(content: string | undefined): AofPart[] | undefined {
  if (content === undefined) return undefined;
  const parts: AofPart[] = [];
  for (const line of content.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    const name = fields[fields.indexOf('file') + 1];
    const type = fields[fields.indexOf('type') + 1];
    if (!fields.includes('file') || !fields.includes('type') || !name || !type) return undefined;
    parts.push({ name, type });
  }
  return parts.length ? parts : undefined;
}

/**
 * Redis: a directory with dump.rdb, appendonly.aof, or an AOF directory (Redis 7) whose manifest names its
 * files. Left out: the temp-*.rdb a snapshot is written to before its rename (rdb.c), Redis 6's
 * temp-rewriteaof-*.aof, and in the AOF directory the temp-* files of a rewrite (aof.c) and the history
 * files (type h) it deletes. A rewrite replaces the base and incr files with a new set the manifest names
 * (aof.c): when the manifest after names other files, the files only the manifest before named are left
 * out. The files both manifests name only grow: one that is shorter lost acknowledged writes.
 */
function redis(now: SampleIndex, later: SampleIndex): KnownStore[] {
  const stores = new Map<string, KnownStore>();
  const store = (dir: string): KnownStore => {
    let found = stores.get(dir);
    if (!found) {
      found = {
        dir,
        what: 'Redis data directory',
        leftOut:
          'as Redis itself replaces them: temp-*.rdb, temp-rewriteaof-*.aof, the AOF directory’s temp-* and history files, and after an AOF rewrite the files the new manifest no longer names; the AOF files must not shrink',
        exclude: [inDir(dir, 'temp-*.rdb'), inDir(dir, 'temp-rewriteaof-*.aof')],
        appendOnly: [],
      };
      stores.set(dir, found);
    }
    return found;
  };
  for (const { dir, sample } of [...now.named('dump.rdb'), ...now.named('appendonly.aof')]) {
    if (sample.type === 'file') store(dir);
  }
  for (const sample of now.samples.filter((s) => /\.aof\.manifest$/.test(s.path))) {
    const parts = aofManifest(sample.content);
    if (!parts || sample.type !== 'file') continue;
    const aofDir = dirName(sample.path);
    const found = store(dirName(aofDir));
    const manifestAfter = aofManifest(later.get(sample.path)?.content) ?? parts;
    const namedAfter = new Set(manifestAfter.map((p) => p.name));
    const rewritten = parts.some((p) => !namedAfter.has(p.name));
    found.exclude.push(
      inDir(aofDir, 'temp-*'),
      ...[...parts, ...manifestAfter]
        .filter((p) => p.type === 'h' || (rewritten && !namedAfter.has(p.name)))
        .map((p) => inDir(aofDir, escapeGlob(p.name))),
    );
    found.appendOnly.push(
      ...parts
        .filter((p) => p.type !== 'h' && namedAfter.has(p.name))
        .map((p) => inDir(aofDir, escapeGlob(p.name))),
    );
  }
  return [...stores.values()];
}

const WIREDTIGER_LOG = /^WiredTigerLog\.\d{10}$/;

/**
 * MongoDB: a directory with WiredTiger's version file. Left out: mongod.lock (it holds the pid; MongoDB's
 * backup docs restore without it), diagnostic.data/ (full-time diagnostic data capture, rotated by
 * mongod), _tmp/, the journal's pre-allocated and temporary logs, and journal logs older than the oldest
 * one left (WiredTiger removes them after a checkpoint).
 */
function mongodb(now: SampleIndex, later: SampleIndex): KnownStore[] {
  return now
    .named('WiredTiger')
    .filter(({ sample }) => sample.type === 'file' && (sample.content ?? '').startsWith('WiredTiger'))
    .map(({ dir, sample }) => {
      const engine = /^WiredTiger (\d+\.\d+\.\d+)/m.exec(sample.content ?? '');
      const journal = join(dir, 'journal');
      const recycled = recycledSegments(
        now.namesIn(journal, WIREDTIGER_LOG),
        later.namesIn(journal, WIREDTIGER_LOG),
      );
      return {
        dir,
        what: `MongoDB data directory (WiredTiger${engine ? ` ${engine[1]}` : ''})`,
        leftOut:
          'as mongod recreates them: mongod.lock, diagnostic.data/, _tmp/, journal pre-allocated and temporary logs, and journal logs older than the oldest left (removed after a checkpoint)',
        exclude: [
          inDir(dir, 'mongod.lock'),
          inDir(dir, 'diagnostic.data/*'),
          inDir(dir, '_tmp/*'),
          inDir(dir, 'journal/WiredTigerPreplog.*'),
          inDir(dir, 'journal/WiredTigerTmplog.*'),
          ...recycled.map((name) => inDir(dir, `journal/${name}`)),
        ],
        appendOnly: [],
      };
    });
}

/**
 * SQLite: every file that starts with its header. Left out as SQLite itself removes them
 * (sqlite.org/tempfiles.html and wal.html): the rollback journal (-journal) at each commit, and the WAL
 * (-wal) and its shared-memory index (-shm) when the last connection closes, after a checkpoint that moved
 * the WAL's content into the database file. The database file itself stays compared. Each rule is a literal
 * path (looked up, not matched), so thousands of databases cost no more than one; a super-journal (-mj…)
 * lives only during one commit across attached databases and is not left out.
 */
function sqlite(samples: readonly ListingSample[]): KnownStore[] {
  const databases = samples
    .filter((s) => s.type === 'file' && s.header === KNOWN_STORE_SAMPLES.headers.indexOf(SQLITE_MAGIC))
    .map((s) => s.path);
  if (databases.length === 0) return [];
  const shown = databases.slice(0, 3).join(', ');
  const more = databases.length > 3 ? ` and ${databases.length - 3} more` : '';
  return [
    {
      dir: '.',
      what: `SQLite database${databases.length > 1 ? 's' : ''} ${shown}${more}`,
      leftOut:
        'as SQLite itself removes them: each database’s -wal and -shm (when the last connection closes) and -journal (at each commit)',
      exclude: databases.flatMap((db) =>
        ['-wal', '-shm', '-journal'].map((suffix) => `/${escapeGlob(db)}${suffix}`),
      ),
      appendOnly: [],
    },
  ];
}
