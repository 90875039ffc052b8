import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Encrypter } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOfVolume } from '../../src/volumes/fingerprint.js';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import {
  RUN_ID,
  Resources,
  TRICKY_SCRIPT,
  cli,
  createVolume,
  engine,
  inVolume,
  runOk,
  uniqueName,
  volumeListing,
} from './fixtures.js';

// Backups made the way other tools make them (Docker's docs, offen/docker-volume-backup,
// loomchild/volume-backup, plain tar), seeded with the CLI and compared with the source volume by an
// independent listing (busybox stat + md5sum: owners, modes, links, sizes, mtimes, hashes) and by digest.

const resources = new Resources();
const IMAGE = ['--helper-image', BUSYBOX_IMAGE];
const helper = { engine, image: BUSYBOX_IMAGE, runLabel: RUN_ID };
const PROOF = 'foreign archive: verified by read-back (no per-file manifest)';
let dir: string;
let source: string;
let sourceListing: string;
let sourceDigest: string;

/** Runs `script` in busybox with the source volume at /data and the test folder at /backup. */
async function backupTool(
  script: string,
  mounts: string[] = ['--mount', `type=volume,source=${source},target=/data`],
) {
  const args = ['run', '--rm', '--network', 'none', '--label', `dev.compose-persist.run=${RUN_ID}`];
  await runOk('docker', [...args, ...mounts, '-v', `${dir}:/backup`, BUSYBOX_IMAGE, 'sh', '-c', script]);
}

/** busybox tar's stream of the source, compressed on the host by `compressor` (busybox cannot write xz). */
async function hostCompressed(file: string, compressor: string[]): Promise<string> {
  const out = path.join(dir, file);
  await backupTool(`tar -C /data -cf /backup/${file}.tar ./`);
  await runOk('sh', ['-c', `${compressor.join(' ')} < "${path.join(dir, `${file}.tar`)}" > "${out}"`]);
  return out;
}

async function seedsLikeSource(file: string, extra: string[] = [], env = process.env) {
  const volume = uniqueName('foreign');
  resources.volumes.add(volume);
  const result = await cli(['seed', volume, file, ...IMAGE, ...extra], env);
  expect(result.stderr + result.stdout).toContain(PROOF);
  expect(result.code).toBe(0);
  expect(result.stdout.trim().split('\n').at(-1)).toBe(sourceDigest);
  expect(await volumeListing(volume)).toBe(sourceListing);
  expect((await digestOfVolume(volume, helper)).digest).toBe(sourceDigest);
  return volume;
}

beforeAll(async () => {
  dir = await resources.tempDir();
  source = await createVolume(resources);
  await inVolume(source, TRICKY_SCRIPT);
  sourceListing = await volumeListing(source);
  sourceDigest = (await digestOfVolume(source, helper)).digest;
}, 120_000);

afterAll(() => resources.cleanup());

describe('seeding backups other tools made', () => {
  it("Docker's docs: busybox tar czf -C /data . (entries ./…)", async () => {
    await backupTool('tar czf /backup/docs.tar.gz -C /data .');
    await seedsLikeSource(path.join(dir, 'docs.tar.gz'));
  });

  it('tar czf /data: a data/ top directory', async () => {
    await backupTool('tar czf /backup/top.tar.gz /data');
    await seedsLikeSource(path.join(dir, 'top.tar.gz'));
  });

  it('offen-style: the volume under backup/pgdata beside another volume, given with --from', async () => {
    const other = await createVolume(resources);
    await inVolume(other, 'echo other > /v/not-this-one');
    await backupTool('tar czf /backup/offen.tar.gz -C / backup/pgdata backup/other', [
      '--mount',
      `type=volume,source=${source},target=/backup/pgdata`,
      '--mount',
      `type=volume,source=${other},target=/backup/other`,
    ]);
    // the test folder is mounted at /backup too: the volumes sit below it, so it holds both and the archive
    await seedsLikeSource(path.join(dir, 'offen.tar.gz'), ['--from', 'backup/pgdata']);
  });

  it('loomchild-style tar.bz2 of ./ (busybox tar -cjf)', async () => {
    await backupTool('tar -C /data -cjf /backup/loomchild.tar.bz2 ./');
    await seedsLikeSource(path.join(dir, 'loomchild.tar.bz2'));
  });

  it('tar.xz and tar.zst, and a name that says nothing: the content decides', async () => {
    await seedsLikeSource(await hostCompressed('backup.tar.xz', ['xz', '-c']));
    await seedsLikeSource(await hostCompressed('nightly.bin', ['zstd', '-q', '-c']));
  });
});

describe('encrypted backups', () => {
  let plain: string;
  beforeAll(async () => {
    await backupTool('tar czf /backup/enc.tar.gz -C /data .');
    plain = path.join(dir, 'enc.tar.gz');
  });

  it('gpg -c with a passphrase (from the environment); a wrong one is refused before anything is written', async () => {
    const home = path.join(dir, 'gnupg');
    await mkdir(home, { mode: 0o700 });
    await writeFile(path.join(dir, 'pass'), 'correct horse battery\n');
    const gpg = ['gpg', '--homedir', home, '--batch', '--pinentry-mode', 'loopback'];
    await runOk(gpg[0] as string, [
      ...gpg.slice(1),
      '--passphrase-file',
      path.join(dir, 'pass'),
      '--symmetric',
      '-o',
      `${plain}.gpg`,
      plain,
    ]);
    await runOk('gpgconf', ['--homedir', home, '--kill', 'all']);
    const none = await cli(['seed', uniqueName('nopass'), `${plain}.gpg`, ...IMAGE]);
    expect(none.stderr).toMatch(/is gpg-encrypted: give its passphrase \(--decrypt-passphrase/);
    const env = { ...process.env, COMPOSE_PERSIST_DECRYPT_PASSPHRASE: 'correct horse battery' };
    await seedsLikeSource(`${plain}.gpg`, [], env);

    const volume = uniqueName('wrongpass');
    resources.volumes.add(volume);
    const wrong = await cli(['seed', volume, `${plain}.gpg`, ...IMAGE, '--decrypt-passphrase', 'nope']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/cannot be decrypted: wrong passphrase .*Bad session key/);
    expect(wrong.stderr).not.toContain('nope');
    expect(await engine.inspectVolume(volume)).toBeUndefined();
  });

  it('age: an identity file (age CLI) and a passphrase (scrypt); wrong ones are refused, existing data kept', async () => {
    const key = path.join(dir, 'age-key.txt');
    await runOk('age-keygen', ['-o', key]);
    const recipient = /age1[0-9a-z]+/.exec(await readFile(key, 'utf8'))?.[0] as string;
    await runOk('age', ['-r', recipient, '-o', `${plain}.age`, plain]);
    await seedsLikeSource(`${plain}.age`, ['--decrypt-identity', key]);

    // typage (the same code the seed uses) writes what `age -p` would, without a terminal
    const encrypter = new Encrypter();
    encrypter.setPassphrase('age passphrase 1');
    encrypter.setScryptWorkFactor(14);
    const ciphertext = await encrypter.encrypt(
      Readable.toWeb(
        (await import('node:fs')).createReadStream(plain),
      ) as unknown as ReadableStream<Uint8Array>,
    );
    const scrypted = path.join(dir, 'scrypt.tar.gz.age');
    await pipeline(
      Readable.fromWeb(ciphertext as unknown as WebReadableStream<Uint8Array>),
      createWriteStream(scrypted),
    );
    await seedsLikeSource(scrypted, ['--decrypt-passphrase', 'age passphrase 1']);

    const existing = await createVolume(resources);
    await inVolume(existing, 'echo keep > /v/mine');
    const before = await volumeListing(existing);
    const wrong = await cli([
      'seed',
      existing,
      scrypted,
      ...IMAGE,
      '--overwrite',
      '--decrypt-passphrase',
      'wrong',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/cannot be decrypted: wrong passphrase or identity/);
    expect(await volumeListing(existing)).toBe(before);
  });
});

describe('refusals name the real reason', () => {
  it('entries at the top level with no ./ and no top directory ask for --from', async () => {
    await backupTool('cd /data && tar czf /backup/loose.tar.gz owned999 other');
    const volume = uniqueName('loose');
    resources.volumes.add(volume);
    const result = await cli(['seed', volume, path.join(dir, 'loose.tar.gz'), ...IMAGE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has neither \.\/ entries nor one top directory .*--from PATH/);
    expect(await engine.inspectVolume(volume)).toBeUndefined();
  });

  it('a --from that holds nothing, and a second top directory', async () => {
    const volume = uniqueName('nofrom');
    resources.volumes.add(volume);
    const missing = await cli(['seed', volume, path.join(dir, 'top.tar.gz'), ...IMAGE, '--from', 'nope']);
    expect(missing.stderr).toMatch(/has nothing in nope\/: give the directory that holds the volume/);
    await backupTool('mkdir -p /tmp/b/one /tmp/b/two && tar czf /backup/two.tar.gz -C /tmp/b one two');
    const two = await cli(['seed', volume, path.join(dir, 'two.tar.gz'), ...IMAGE]);
    expect(two.stderr).toMatch(/does not keep everything in one\/ \("two\/" is outside it\)/);
    expect(await engine.inspectVolume(volume)).toBeUndefined();
  });
});

describe('plain tools restore our archives (docs/archives-and-seeding.md)', () => {
  it('GNU tar and busybox tar --strip-components=1 give the volume back (the manifest left out)', async () => {
    const archive = path.join(dir, 'ours.tar.gz');
    await archiveVolume(source, archive, { ...helper, helperImage: BUSYBOX_IMAGE, consistency: 'live' });
    const byGnu = await createVolume(resources);
    const mountpoint = await volumeMountpoint(byGnu);
    await runOk('tar', ['-xzf', archive, '-C', mountpoint, '--strip-components=1', '--numeric-owner']);
    const byBusybox = await createVolume(resources);
    await backupTool('tar -xzf /backup/ours.tar.gz -C /data --strip-components=1 --numeric-owner', [
      '--mount',
      `type=volume,source=${byBusybox},target=/data`,
    ]);
    // The root entry is stripped with the rest of volume/, so the root keeps its own owner and mode.
    const withoutRoot = (listing: string) => listing.split('\n').filter((line) => !/^\/v\|/.test(line));
    expect(withoutRoot(await volumeListing(byGnu))).toEqual(withoutRoot(sourceListing));
    // busybox tar does not restore directory and symlink mtimes: everything else matches.
    const withoutDirTimes = (listing: string) =>
      withoutRoot(listing).map((line) =>
        /\|(directory|symbolic link)\|/.test(line)
          ? line.replace(/\|\d+\|(directory|symbolic link)\|/, '|-|$1|')
          : line,
      );
    expect(withoutDirTimes(await volumeListing(byBusybox))).toEqual(withoutDirTimes(sourceListing));
    expect(await volumeListing(byBusybox)).not.toContain('compose-persist-manifest.json');
  });
});

/** Where the local engine keeps a volume (the tests' engine is this machine's). */
async function volumeMountpoint(volume: string): Promise<string> {
  const result = await runOk('docker', ['volume', 'inspect', '-f', '{{.Mountpoint}}', volume]);
  return result.stdout.trim();
}
