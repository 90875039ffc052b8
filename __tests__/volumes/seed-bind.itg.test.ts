import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManifestAppender, verifyArchiveFile } from '../../src/archive/volume-tar.js';
import { RUN_LABEL } from '../../src/constants.js';
import type { Engine, HelperContainer, HelperSpec } from '../../src/docker/engine.js';
import { digestOfBind } from '../../src/volumes/fingerprint.js';
import { BACKUP_DIGEST_LABEL, BACKUP_OF_LABEL } from '../../src/volumes/volume-backup.js';
import { seedBind } from '../../src/volumes/seed-bind.js';
import type { SeedOptions } from '../../src/volumes/seed-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { RUN_ID, Resources, engine, tarBuffer, uniqueName } from './fixtures.js';

const resources = new Resources();
const helper = { engine, image: BUSYBOX_IMAGE, runLabel: RUN_ID };
let dir: string;
/** Two files of ours, with the manifest our archive command writes. */
let archive: string;
let archiveDigest: string;
/** The same archive with one file's bytes changed: its manifest no longer matches. */
let corrupt: string;
/** The same archive cut in half. */
let truncated: string;
/** Passes verification, but the engine cannot create its 300-byte file name: fails after the bind was emptied. */
let longName: string;

function optionsOf(runLabel: string, overwrite: boolean, extra: Partial<SeedOptions> = {}): SeedOptions {
  return { engine, helperImage: BUSYBOX_IMAGE, runLabel, overwrite, ...extra };
}

async function withManifest(tar: Buffer, name: string): Promise<string> {
  const file = path.join(dir, name);
  await pipeline(
    Readable.from([tar]),
    createManifestAppender({ volumeName: 'crafted' }),
    createWriteStream(file),
  );
  return file;
}

/** A bind source on this (the engine's) host holding old data; returns it and its digest. */
async function oldBind(): Promise<{ source: string; digest: string }> {
  const source = path.join(await resources.tempDir(), 'data');
  await mkdir(path.join(source, 'db'), { recursive: true });
  await writeFile(path.join(source, 'db', 'rows'), 'old-row-1\nold-row-2\n');
  await writeFile(path.join(source, '.hidden'), 'old hidden\n');
  return { source, digest: (await digestOfBind(source, helper)).digest };
}

/** Volumes and containers left labelled with the run: nothing may be left. */
async function leftoversOf(runLabel: string): Promise<string[]> {
  const containers = await engine.listContainers([`${RUN_LABEL}=${runLabel}`]);
  const volumes = await engine.listVolumes([`${RUN_LABEL}=${runLabel}`]);
  return [...containers.map((c) => `container ${c.name}`), ...volumes.map((v) => `volume ${v.name}`)];
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** The real engine, whose first write into a bind (the seed's PUT) fires ABORT as it begins. */
function abortingOnWrite(controller: AbortController): Engine {
  let fired = false;
  const wrap = (container: HelperContainer): HelperContainer =>
    Object.assign(Object.create(container) as HelperContainer, {
      putArchive: (tar: Readable, at: string) => {
        if (!fired) {
          fired = true;
          controller.abort(new Error('interrupted by the test'));
        }
        return container.putArchive(tar, at);
      },
    });
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === 'createHelper') {
        return async (spec: HelperSpec) => {
          const container = await target.createHelper(spec);
          const writesBind = spec.mounts.some((m) => 'bind' in m && !m.readOnly) && !spec.cmd;
          return writesBind ? wrap(container) : container;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  dir = await resources.tempDir();
  const tar = await tarBuffer([
    { header: { name: 'volume/', type: 'directory', mode: 0o755 } },
    { header: { name: 'volume/db/', type: 'directory', mode: 0o750 } },
    { header: { name: 'volume/db/rows', type: 'file', mode: 0o640 }, content: 'new-row-1\n' },
    { header: { name: 'volume/README', type: 'file', mode: 0o644 }, content: 'new\n' },
  ]);
  archive = await withManifest(tar, 'new.tar');
  archiveDigest = (await verifyArchiveFile(archive)).digest;
  const bytes = await readFile(archive);
  const at = bytes.indexOf('new-row-1');
  corrupt = path.join(dir, 'corrupt.tar');
  await writeFile(
    corrupt,
    Buffer.concat([bytes.subarray(0, at), Buffer.from('NEW-ROW-1'), bytes.subarray(at + 9)]),
  );
  truncated = path.join(dir, 'truncated.tar');
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  longName = await withManifest(
    await tarBuffer([
      { header: { name: 'volume/', type: 'directory', mode: 0o755 } },
      { header: { name: 'volume/ok.txt', type: 'file', mode: 0o644 }, content: 'fine\n' },
      { header: { name: `volume/${'x'.repeat(300)}`, type: 'file', mode: 0o644 }, content: 'long\n' },
    ]),
    'long-name.tar',
  );
});

afterAll(() => resources.cleanup());

describe('seeding a data bind that holds data', () => {
  it('is refused without overwrite, and left as it is', async () => {
    const { source, digest } = await oldBind();
    const runLabel = uniqueName('bind-refused');
    const error = await failureOf(seedBind(source, archive, optionsOf(runLabel, false)));
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Bind source ${source} already holds data \\(2 files\\): refusing to seed over it\\. Set overwrite: true`,
      ),
    );
    expect((await digestOfBind(source, helper)).digest).toBe(digest);
    expect(await leftoversOf(runLabel)).toEqual([]);
  });

  it('is replaced with overwrite: digest equal to the archive, the backup removed', async () => {
    const { source, digest } = await oldBind();
    const runLabel = uniqueName('bind-over');
    const result = await seedBind(source, archive, optionsOf(runLabel, true));
    expect(result.manifest.digest).toBe(archiveDigest);
    expect((await digestOfBind(source, helper)).digest).toBe(archiveDigest);
    expect(archiveDigest).not.toBe(digest);
    expect(await readFile(path.join(source, 'db', 'rows'), 'utf8')).toBe('new-row-1\n');
    expect(await leftoversOf(runLabel)).toEqual([]);
  });

  it.each([
    ['corrupt', () => corrupt, /sha256|digest|manifest/i],
    ['truncated', () => truncated, /truncated|unexpected end|incomplete|manifest/i],
  ])('with a %s archive is refused by verification before anything changes', async (_, file, reason) => {
    const { source, digest } = await oldBind();
    const runLabel = uniqueName('bind-bad');
    const error = await failureOf(seedBind(source, file(), optionsOf(runLabel, true)));
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('\n');
    expect((await digestOfBind(source, helper)).digest).toBe(digest);
    expect(await leftoversOf(runLabel)).toEqual([]);
  });

  it('that fails after it was emptied (the engine refuses a file) gets its old contents back in full', async () => {
    const { source, digest } = await oldBind();
    const runLabel = uniqueName('bind-refused-write');
    const error = await failureOf(seedBind(source, longName, optionsOf(runLabel, true)));
    expect((error as Error).message).toMatch(/file name too long/);
    expect((error as Error).message).toContain(
      `bind source ${source} still holds its previous contents (digest ${digest}).`,
    );
    expect((await digestOfBind(source, helper)).digest).toBe(digest);
    expect(await readFile(path.join(source, 'db', 'rows'), 'utf8')).toBe('old-row-1\nold-row-2\n');
    expect(await leftoversOf(runLabel)).toEqual([]);
  });

  it('interrupted mid-write gets its old contents back in full, and the interruption is what it throws', async () => {
    const { source, digest } = await oldBind();
    const runLabel = uniqueName('bind-abort');
    const controller = new AbortController();
    const options = optionsOf(runLabel, true, {
      engine: abortingOnWrite(controller),
      signal: controller.signal,
    });
    const error = await failureOf(seedBind(source, archive, options));
    expect(controller.signal.aborted).toBe(true);
    expect((error as Error).message).toBe('interrupted by the test');
    expect((await digestOfBind(source, helper)).digest).toBe(digest);
    expect(await readFile(path.join(source, '.hidden'), 'utf8')).toBe('old hidden\n');
    expect(await leftoversOf(runLabel)).toEqual([]);
  });

  it('with a backup of it left by another run (an unfinished overwrite) is refused, naming the backup', async () => {
    const { source, digest } = await oldBind();
    const runLabel = uniqueName('bind-left');
    const backup = uniqueName('bind-backup-left');
    resources.volumes.add(backup);
    await engine.createVolume(backup, {
      [RUN_LABEL]: uniqueName('gone-run'),
      [BACKUP_OF_LABEL]: source,
      [BACKUP_DIGEST_LABEL]: digest,
    });
    const error = await failureOf(seedBind(source, archive, optionsOf(runLabel, true)));
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Bind source ${source} has a backup volume ${backup} left by run .* \\(digest ${digest}\\)`,
      ),
    );
    expect((await digestOfBind(source, helper)).digest).toBe(digest);
    expect(await engine.inspectVolume(backup)).toBeDefined();
    expect(await leftoversOf(runLabel)).toEqual([]);
  });
});
