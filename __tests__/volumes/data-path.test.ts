import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createArchiveReader, createManifestAppender } from '../../src/archive/volume-tar.js';
import { TarScanner, type TarEntryHeader } from '../../src/archive/tar-scanner.js';
import { canonicalHeaderOf, checkedManifestEntry } from '../../src/archive/tar-entries.js';
import { privileged, rootAccess } from '../../src/host/privileged.js';
import { DATA_PATH_ENV, dataPathOf, withHostTar } from '../../src/volumes/data-path.js';
import { fakeEngine } from '../__fixtures__/engine.js';
import { END, ROOT_DIR, paxHeader, paxRecord, rawFile } from '../archive/hostile-tars.js';
import { bufferOf } from '../archive/tar-fixtures.js';

/** The host path as root, for tests that run GNU tar on a temp dir. */
const AS_ROOT = { kind: 'host', reason: 'host path', root: privileged(0) } as const;

/** How many bytes a tar stream holds, read to its end. */
async function byteCount(tar: Readable): Promise<number> {
  let total = 0;
  for await (const chunk of tar) total += (chunk as Buffer).length;
  return total;
}

/** The headers a scanner reads in a tar. */
async function headersOf(tar: Buffer): Promise<TarEntryHeader[]> {
  const headers: TarEntryHeader[] = [];
  const scanner = new TarScanner(
    {
      header: (header) => void headers.push(header),
      content: () => undefined,
      entryEnd: () => undefined,
      end: () => undefined,
    },
    { output: 'none', label: 'The tar' },
  );
  await pipeline(Readable.from([tar]), scanner, async function* (source) {
    for await (const _ of source) yield _;
  });
  return headers;
}

describe('what GNU tar keeps and the engine does not, read and written again', () => {
  const acl = 'user::rw-\nuser:1234:rw-\ngroup::r--\nmask::rw-\nother::r--\n';
  const tar = Buffer.concat([
    ROOT_DIR,
    paxHeader([
      paxRecord('mtime', '946684799.999999999'),
      paxRecord('SCHILY.acl.access', acl),
      paxRecord('SCHILY.xattr.system.posix_acl_access', Buffer.from([2, 0, 0, 0])),
      paxRecord('SCHILY.xattr.user.k', Buffer.from([0, 0xff])),
    ]),
    rawFile({ name: 'volume/f' }, 'x'),
    END,
  ]);

  it('keeps the whole seconds of a pax mtime from its digits and the nanoseconds apart', async () => {
    const [, file] = await headersOf(tar);
    // Number('946684799.999999999') is 946684800: the second must not round up.
    expect(file).toMatchObject({ mtime: 946684799, mtimeNs: 999999999 });
  });

  it('writes the nanoseconds, the xattrs and the ACL text back; the raw ACL xattr only once, as the text', async () => {
    const [, file] = (await headersOf(tar)) as [TarEntryHeader, TarEntryHeader];
    const entry = checkedManifestEntry(file, 'volume', { check: () => undefined });
    expect(entry.mtimeNs).toBe(999999999);
    expect(entry.extendedSha256).toMatch(/^[0-9a-f]{64}$/);
    const [again] = (
      await headersOf(Buffer.concat([canonicalHeaderOf(entry, file, 'volume'), Buffer.alloc(512), END]))
    ).slice(0, 1) as [TarEntryHeader];
    expect(again).toMatchObject({ mtime: 946684799, mtimeNs: 999999999 });
    expect(again.pax.get('SCHILY.acl.access')?.toString()).toBe(acl);
    expect(again.pax.get('SCHILY.xattr.user.k')).toEqual(Buffer.from([0, 0xff]));
    expect(again.pax.has('SCHILY.xattr.system.posix_acl_access')).toBe(false);
  });

  it('an archive whose ACL was changed fails its manifest by the exact digest', async () => {
    const appender = createManifestAppender({ root: 'volume' });
    const [archive] = await Promise.all([bufferOf(appender), pipeline(Readable.from([tar]), appender)]);
    const tampered = Buffer.from(
      archive.toString('latin1').replace('user:1234:rw-', 'user:1234:rwx'),
      'latin1',
    );
    // The pax header's record length is unchanged, so only the ACL differs.
    const reader = createArchiveReader({ label: 'tampered.tar' });
    await expect(
      pipeline(Readable.from([tampered]), reader, async function* (source) {
        for await (const _ of source) yield _;
      }),
    ).rejects.toThrow(/xattrs, ACLs or sub-second mtimes differ/);
  });
});

describe('choosing the data path', () => {
  const host = process.env.DOCKER_HOST;
  afterEach(() => {
    if (host === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = host;
    delete process.env[DATA_PATH_ENV];
  });

  it('takes the engine archive API for an engine reached over tcp, and says why', async () => {
    process.env.DOCKER_HOST = 'tcp://10.0.0.5:2376';
    expect(await dataPathOf(fakeEngine({}), 'run')).toEqual({
      kind: 'engine',
      reason: 'engine archive API: the engine is reached at tcp://10.0.0.5:2376, not on this host',
    });
  });

  it('takes the host path when nothing is asked (auto is the default), the API where it cannot', async () => {
    delete process.env[DATA_PATH_ENV];
    process.env.DOCKER_HOST = 'tcp://10.0.0.5:2376';
    expect((await dataPathOf(fakeEngine({}), 'run')).reason).toMatch(/reached at tcp:\/\/10.0.0.5:2376/);
    delete process.env.DOCKER_HOST;
    // A local engine whose volumes are root's directories here: the probe finds one, so auto goes by host.
    const probed: string[] = [];
    const volumes = await mkdtemp(path.join(tmpdir(), 'cp-volumes-'));
    const local = fakeEngine({
      createVolume: async (name) => void probed.push(name),
      inspectVolume: async (name) => ({
        name,
        mountpoint: volumes,
        driver: 'local',
        options: {},
        labels: {},
      }),
      removeVolume: async () => undefined,
    });
    try {
      const choice = await dataPathOf(local, 'run');
      if (rootAccess() === undefined) expect(choice.reason).toMatch(/not root, and sudo -n is not allowed/);
      else {
        expect(choice.kind).toBe('host');
        expect(probed).toHaveLength(1);
      }
    } finally {
      await rm(volumes, { recursive: true, force: true });
    }
  });

  it('takes it when asked, and refuses a path it does not know', async () => {
    process.env[DATA_PATH_ENV] = 'engine';
    expect((await dataPathOf(fakeEngine({}), 'run')).reason).toMatch(/asked for/);
    process.env[DATA_PATH_ENV] = 'fast';
    await expect(dataPathOf(fakeEngine({}), 'run')).rejects.toThrow(
      /not a data path: use auto, host or engine/,
    );
  });

  it('refuses host when the host path is not available, naming why', async () => {
    process.env.DOCKER_HOST = 'ssh://root@builder';
    process.env[DATA_PATH_ENV] = 'host';
    await expect(dataPathOf(fakeEngine({}), 'run')).rejects.toThrow(
      /host path is not available: the engine is reached at ssh:\/\/root@builder/,
    );
  });
});

describe('GNU tar on a directory that is gone', () => {
  // The reader sees an empty stream end before tar's exit is reported; it used to stop tar then and its
  // "no root entry" hid tar's reason (seen on engine 28 now and then).
  it('fails with tar’s own words, not the reader’s, however the two race', async () => {
    const missing = `/tmp/compose-persist-gone-${process.pid}`;
    const readAll = async (tar: Readable) => {
      const chunks: Buffer[] = [];
      for await (const chunk of tar) chunks.push(chunk as Buffer);
      if (chunks.length === 0) throw new Error('the tar stream has no root entry volume/');
      return chunks;
    };
    for (let round = 0; round < 20; round++) {
      await expect(withHostTar(AS_ROOT, missing, readAll)).rejects.toThrow(/GNU tar exited with 2: .*Cannot/);
    }
  });
});

describe('GNU tar that exits before the reader is ready', () => {
  // Node resumes a child's stdout that nobody listens to when the child exits, dropping its data: a small
  // volume's whole stream was lost while the listing was still making its temp dir (1 read in 15).
  it('still hands the reader the whole stream', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cp-host-tar-'));
    await writeFile(path.join(dir, 'orders.txt'), 'order-1\n');
    try {
      for (let round = 0; round < 5; round++) {
        const bytes = await withHostTar(AS_ROOT, dir, async (tar) => {
          await new Promise((resolve) => setTimeout(resolve, 100)); // tar has exited by now
          return byteCount(tar);
        });
        expect(bytes).toBeGreaterThanOrEqual(3 * 512);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a live read (the check fingerprinting a running store)', () => {
  // A running database's log grows while tar reads it: GNU tar exits 1 ("file changed as we read it").
  // The engine's GET reads what is there; so does a live read. An archive or a digest still fails.
  it('takes a file that grows as it is read; a strict read of the same fails with tar’s words', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cp-live-read-'));
    const log = path.join(dir, 'ib_logfile0');
    await writeFile(log, Buffer.alloc(32 * 1024 * 1024, 1));
    const writer = spawn('sh', ['-c', `while :; do echo entry >> ${log}; done`], { stdio: 'ignore' });
    try {
      await expect(withHostTar(AS_ROOT, dir, byteCount)).rejects.toThrow(
        /GNU tar exited with 1: .*file changed as we read it/,
      );
      expect(await withHostTar(AS_ROOT, dir, byteCount, { live: true })).toBeGreaterThan(32 * 1024 * 1024);
    } finally {
      writer.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
