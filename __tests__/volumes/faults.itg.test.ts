import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { digestOfVolume } from '../../src/volumes/fingerprint.js';
import { seedVolume } from '../../src/volumes/seed-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import {
  MALICIOUS,
  RUN_ID,
  Resources,
  cli,
  createVolume,
  engine,
  inVolume,
  runOk,
  tarBuffer,
  uniqueName,
  volumeListing,
  writeArchive,
} from './fixtures.js';

const resources = new Resources();
const helper = { engine, image: BUSYBOX_IMAGE, runLabel: RUN_ID };
const seedOptions = { engine, helperImage: BUSYBOX_IMAGE, runLabel: RUN_ID, overwrite: false };
const MARKER = 'MARKER-0123456789-abcdefghij';
let dir: string;
const good: Record<'tar' | 'tar.gz' | 'tar.zst', string> = { tar: '', 'tar.gz': '', 'tar.zst': '' };
let corruptTar: string;

beforeAll(async () => {
  dir = await resources.tempDir();
  const source = await createVolume(resources);
  await inVolume(
    source,
    `mkdir /v/dir && printf '${MARKER}\\n' > /v/dir/victim.txt && head -c 200000 /dev/urandom > /v/noise.bin`,
  );
  for (const format of ['tar', 'tar.gz', 'tar.zst'] as const) {
    good[format] = path.join(dir, `good.${format}`);
    await archiveVolume(source, good[format], {
      engine,
      helperImage: BUSYBOX_IMAGE,
      runLabel: RUN_ID,
      consistency: 'live',
    });
  }
  // One byte flipped inside dir/victim.txt's content; every tar header stays valid.
  const tar = await readFile(good.tar);
  const at = tar.indexOf(MARKER);
  expect(at).toBeGreaterThan(0);
  tar[at + 3] = tar[at + 3]! ^ 0x20;
  corruptTar = path.join(dir, 'corrupt.tar');
  await writeFile(corruptTar, tar);
});

afterAll(() => resources.cleanup());

/** Seeds a volume that does not exist; the promise must fail with one line, and no volume may remain. */
async function expectSeedRefused(file: string, message: RegExp): Promise<void> {
  const volume = uniqueName('fault');
  resources.volumes.add(volume);
  const error = await seedVolume(volume, file, seedOptions).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  const text = (error as Error).message;
  expect(text).toMatch(message);
  expect(text).not.toContain('\n');
  expect(await engine.inspectVolume(volume)).toBeUndefined();
}

async function halfOf(file: string): Promise<string> {
  const bytes = await readFile(file);
  const cut = path.join(dir, `half-${path.basename(file)}`);
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  return cut;
}

describe('seeding a bad archive into a new volume fails clearly and leaves no volume', () => {
  it('a flipped byte in a file: manifest mismatch naming the file (tar, tar.gz, tar.zst)', async () => {
    const mismatch = /does not match its manifest: 1 changed: dir\/victim\.txt \(sha256\)\.$/;
    await expectSeedRefused(corruptTar, mismatch);
    for (const name of ['corrupt.tar.gz', 'corrupt.tar.zst']) {
      await expectSeedRefused(await writeArchive(dir, name, await readFile(corruptTar)), mismatch);
    }
  });

  it('a file cut in half: truncated', async () => {
    await expectSeedRefused(await halfOf(good.tar), /good\.tar is truncated/);
    await expectSeedRefused(await halfOf(good['tar.gz']), /cannot be decompressed as tar\.gz .*truncated/);
    await expectSeedRefused(await halfOf(good['tar.zst']), /cannot be decompressed as tar\.zst .*truncated/);
  });

  it('an entry with ../ is refused', async () => {
    const file = await writeArchive(dir, 'dotdot.tar', await tarBuffer(MALICIOUS['dot-dot']!));
    await expectSeedRefused(
      file,
      /dotdot\.tar was refused\. Unsafe tar entry "volume\/\.\.\/evil": '\.\.' segments/,
    );
  });

  it('an absolute entry is refused', async () => {
    const file = await writeArchive(dir, 'absolute.tar.gz', await tarBuffer(MALICIOUS.absolute!));
    await expectSeedRefused(
      file,
      /absolute\.tar\.gz was refused\. Unsafe tar entry "\/etc\/evil": absolute paths/,
    );
  });

  it.each([
    ['hardlink-out', /Unsafe tar entry "shadow": a hard link to "\/etc\/shadow", outside volume\//],
    ['outside-root', /Unsafe tar entry "elsewhere\/evil": every entry must be below "volume\/"/],
    ['duplicate', /Unsafe tar stream: "ok\.txt" appears twice/],
  ])('%s is refused', async (name, message) => {
    await expectSeedRefused(
      await writeArchive(dir, `${name}.tar`, await tarBuffer(MALICIOUS[name]!)),
      message,
    );
  });

  it('a write through a symlink stored earlier is refused', async () => {
    const file = await writeArchive(dir, 'through.tar.gz', await tarBuffer(MALICIOUS['through-symlink']!));
    await expectSeedRefused(file, /Unsafe tar entry "link\/passwd": it goes through the symlink "link"/);
  });

  it('a zero-byte file, a file that is not an archive, a missing file', async () => {
    const empty = path.join(dir, 'empty.tar.zst');
    await writeFile(empty, '');
    await expectSeedRefused(empty, /empty\.tar\.zst is empty \(0 bytes\)/);
    const text = path.join(dir, 'notes.tar.gz');
    await writeFile(text, 'these are my notes, not an archive\n'.repeat(40));
    await expectSeedRefused(
      text,
      /notes\.tar\.gz is not a tar, tar\.gz, tar\.zst, tar\.bz2 or tar\.xz archive/,
    );
    await expectSeedRefused(path.join(dir, 'nope.tar.zst'), /nope\.tar\.zst cannot be opened: ENOENT/);
  });

  it('a tar with a valid shape but no manifest (not ours) is refused', async () => {
    const file = await writeArchive(dir, 'foreign.tar', await tarBuffer(MALICIOUS['dot-dot']!.slice(0, 2)));
    await expectSeedRefused(file, /foreign\.tar is truncated or was not made by compose-persist/);
  });
});

describe('archiving a volume that does not exist', () => {
  it('fails naming the volume, does not create it, and writes no file', async () => {
    const volume = uniqueName('missing');
    resources.volumes.add(volume);
    const file = path.join(dir, 'missing.tar.gz');
    const options = { engine, helperImage: BUSYBOX_IMAGE, runLabel: RUN_ID, consistency: 'stop' as const };
    await expect(archiveVolume(volume, file, options)).rejects.toThrow(
      new RegExp(`^Volume ${volume} does not exist: check the name`),
    );
    expect(await engine.inspectVolume(volume)).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    expect((await readdir(path.dirname(file))).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });
});

describe('seeding into a volume that already exists', () => {
  let target: string;
  let digest: string;
  let listing: string;

  beforeAll(async () => {
    target = await createVolume(resources);
    await inVolume(target, "printf 'precious\\n' > /v/precious && mkdir /v/keep && chown 999 /v");
    digest = (await digestOfVolume(target, helper)).digest;
    listing = await volumeListing(target);
  });

  async function expectUnchanged() {
    expect((await digestOfVolume(target, helper)).digest).toBe(digest);
    expect(await volumeListing(target)).toBe(listing);
  }

  it('refuses a non-empty volume without overwrite and leaves it untouched', async () => {
    await expect(seedVolume(target, good['tar.gz'], seedOptions)).rejects.toThrow(
      `Volume ${target} already holds data: refusing to seed over it. Set overwrite: true`,
    );
    await expectUnchanged();
  });

  it('with overwrite, verifies a corrupt archive BEFORE emptying: the volume is unchanged', async () => {
    await expect(seedVolume(target, corruptTar, { ...seedOptions, overwrite: true })).rejects.toThrow(
      /does not match its manifest: 1 changed: dir\/victim\.txt \(sha256\)/,
    );
    await expectUnchanged();
    const cut = await halfOf(good['tar.zst']);
    await expect(seedVolume(target, cut, { ...seedOptions, overwrite: true })).rejects.toThrow(/truncated/);
    await expectUnchanged();
  });

  it('with overwrite and a good archive, replaces the contents (so the checks above can fail)', async () => {
    const result = await seedVolume(target, good.tar, { ...seedOptions, overwrite: true });
    expect(result.created).toBe(false);
    const now = await digestOfVolume(target, helper);
    expect(now.digest).toBe(result.manifest.digest);
    expect(now.digest).not.toBe(digest);
    expect(await inVolume(target, 'ls -A /v', true)).toBe('dir\nnoise.bin\n');
  });

  it('an existing EMPTY volume stays (empty) after a failed seed: it was not ours to remove', async () => {
    const empty = await createVolume(resources);
    await expect(seedVolume(empty, corruptTar, seedOptions)).rejects.toThrow(/does not match its manifest/);
    expect(await engine.inspectVolume(empty)).toBeDefined();
    expect(await inVolume(empty, 'ls -A /v', true)).toBe('');
  });
});

describe('the CLI on faults', () => {
  const unreachable = { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' };

  it.each([
    ['archive', ['archive', 'some-volume', 'out.tar.gz']],
    ['seed', ['seed', 'some-volume', 'in.tar.gz']],
    ['digest', ['digest', 'some-volume']],
  ])('%s with the daemon unreachable: one line naming DOCKER_HOST and the fix', async (_verb, args) => {
    const result = await cli(args, unreachable);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Docker daemon unreachable at unix:\/\/\/nonexistent\.sock/);
    expect(lines[0]).toMatch(/start dockerd or set DOCKER_HOST to a reachable engine/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('seed of a corrupt archive: exit 1, one line naming the file, no volume left', async () => {
    const volume = uniqueName('clifault');
    resources.volumes.add(volume);
    const result = await cli(['seed', volume, corruptTar, '--helper-image', BUSYBOX_IMAGE]);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^compose-persist seed: Archive .*corrupt\.tar does not match its manifest: 1 changed: dir\/victim\.txt/,
      ),
    ]);
    expect(await engine.inspectVolume(volume)).toBeUndefined();
  });

  it('archive of a missing volume: exit 1, and the volume is still missing', async () => {
    const volume = uniqueName('climissing');
    resources.volumes.add(volume);
    const result = await cli(['archive', volume, path.join(dir, 'x.tar'), '--helper-image', BUSYBOX_IMAGE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^compose-persist archive: Volume ${volume} does not exist`));
    expect(await engine.inspectVolume(volume)).toBeUndefined();
    expect((await runOk('docker', ['volume', 'ls', '-q'])).stdout.split('\n')).not.toContain(volume);
  });
});
