import { chmod, cp, lstat, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManifestAppender } from '../../src/archive/volume-tar.js';
import { DockerEngine } from '../../src/docker/engine.js';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { DATA_PATH_ENV, chosenDataPath, dataPathOf } from '../../src/volumes/data-path.js';
import { FingerprintSession, digestOfVolume } from '../../src/volumes/fingerprint.js';
import { seedVolume } from '../../src/volumes/seed-volume.js';
import { END, ROOT_DIR, hostileCorpus, rawFile, rawHeader, type Reading } from '../archive/hostile-tars.js';
import { bufferOf } from '../archive/tar-fixtures.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { SshEngine } from '../support/ssh-engine.js';
import { RUN_ID, Resources, cli, createVolume, engine, run, runOk, uniqueName } from './fixtures.js';

// The host data path (GNU tar on the volume's directory) on this machine's local, rootful engine: exact
// where the engine's archive API is not, safe against hostile archives, and not chosen for a remote engine.

const resources = new Resources();
const options = { engine, helperImage: BUSYBOX_IMAGE, runLabel: RUN_ID };
const helper = { engine, image: BUSYBOX_IMAGE, runLabel: RUN_ID };
let dir: string;

beforeAll(async () => {
  dir = await resources.tempDir();
});

afterAll(() => resources.cleanup());

async function mountpointOf(volume: string): Promise<string> {
  const info = await engine.inspectVolume(volume);
  if (!info) throw new Error(`no volume ${volume}`);
  return info.mountpoint;
}

/** Runs a bash script on this host in DIR (we are root here, as the host path needs). */
async function onHost(dir: string, script: string): Promise<string> {
  return (await runOk('bash', ['-ec', script], { cwd: dir })).stdout;
}

/**
 * Everything GNU tar keeps, listed on the host: path (bytes, octal-escaped), mode, owner, mtime to the
 * nanosecond, type, symlink target, size, link count; every xattr (hex) and ACL; each file's md5.
 */
async function exactListing(volume: string): Promise<string> {
  return onHost(
    await mountpointOf(volume),
    [
      "find . -printf '%p|%m|%U:%G|%T@|%y|%l|%s|%n\\n' | LC_ALL=C sort",
      "echo '--- xattrs'",
      'getfattr -R -h -d -m - -e hex . 2>/dev/null',
      "echo '--- acls'",
      'getfacl -R -P -n . 2>/dev/null',
      "echo '--- content'",
      'find . -type f -exec md5sum {} + | LC_ALL=C sort',
    ].join('\n'),
  );
}

/**
 * The CLI in `shared`/dist as a runner's user runs it: as root, the user scripts/setup.sh makes (in the docker
 * group, passwordless sudo) through `sudo -u`; as anyone else, that user itself.
 */
async function asRunner(shared: string, args: string[]) {
  const engineEnv = process.env.DOCKER_HOST ? [`DOCKER_HOST=${process.env.DOCKER_HOST}`] : [];
  const cliArgs = [path.join(shared, 'dist', 'cli.js'), ...args];
  if (process.getuid?.() !== 0) return runOk('node', cliArgs, { cwd: shared });
  if ((await run('id', [RUNNER_USER])).code !== 0) {
    throw new Error(`No user ${RUNNER_USER} on this machine: run scripts/setup.sh (it makes it) first.`);
  }
  return runOk('sudo', ['-u', RUNNER_USER, '-H', '--', 'env', ...engineEnv, 'node', ...cliArgs], {
    cwd: shared,
  });
}

/** The GitHub-runner-like user of scripts/setup.sh. */
const RUNNER_USER = 'cp-runner';

/** The hard fixture: what the engine's archive API loses (ns mtimes, user.* xattrs, ACLs) and the rest. */
const HARD_FIXTURE = `
mkdir -p 'dir with space' empty/nested setgid sticky "$(printf 'caf\\351')" "${'d'.repeat(60)}/${'e'.repeat(60)}"
printf 'hello\\n' > 'dir with space/file ü 文件.txt'
printf 'owned\\n' > owned && chown 999:999 owned
printf 'other\\n' > other && chown 1234:5678 other
printf '#!/bin/sh\\n' > suid && chmod 4755 suid
printf 'sgid\\n' > setgid/inside && chown -R 0:999 setgid && chmod 2775 setgid
chmod 1777 sticky && printf 'note\\n' > sticky/note && chown 4242:4242 sticky/note
printf 'latin1\\n' > "$(printf 'caf\\351')/$(printf 'na\\357ve')"
printf 'long\\n' > "${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(120)}.txt"
printf 'hard\\n' > hard1 && ln hard1 hard2 && ln hard1 empty/hard3
ln -s 'dir with space/file ü 文件.txt' relative-link && ln -s nowhere/at/all dangling
setfattr -n user.origin -v upload-42 owned && setfattr -n user.bin -v 0x00ff10 other
setfacl -m u:1234:rw,g:777:r other && setfacl -d -m u:1234:rwx,m::rwx sticky
touch -d '2001-09-09 01:46:40.123456789' owned
touch -h -d '2010-01-01 00:00:00.5' relative-link
touch -d '1999-12-31 23:59:59.999999999' empty/nested 'dir with space'
chown 999:999 . && chmod 0700 . && touch -d '2020-02-29 12:34:56.000000789' .
`;

describe('the host data path on a local rootful engine', () => {
  it('is chosen, with "host path" as its reason', async () => {
    expect((await dataPathOf(engine, RUN_ID)).kind).toBe('host');
    expect(await chosenDataPath(engine)).toBe('host path');
  });

  it('round-trips the hard fixture exactly: ns mtimes, xattrs, ACLs, owners, modes, links, odd names, the root', async () => {
    const source = await createVolume(resources);
    await onHost(await mountpointOf(source), HARD_FIXTURE);
    const before = await exactListing(source);
    // The fixture holds what the test is about (else an equal listing would prove nothing).
    expect(before).toMatch(/\.\/owned\|644\|999:999\|1000000000\.123456789\d\|f\|/);
    expect(before).toMatch(/^\.\|700\|999:999\|1582979696\.000000789\d\|d\|/m);
    expect(before).toContain('user.origin=0x75706c6f61642d3432');
    expect(before).toContain('user:1234:rw-');
    expect(before).toContain('default:user:1234:rwx');
    expect(before).toMatch(/\.\/suid\|4755\|/);

    const file = path.join(dir, 'hard.tar.zst');
    const archived = await archiveVolume(source, file, { ...options, consistency: 'stop' });
    expect(archived.manifest.exactDigest).toBeDefined();
    expect(archived.manifest.exactDigest).not.toBe(archived.manifest.digest); // ns and xattrs are in it

    const target = uniqueName('exact');
    resources.volumes.add(target);
    const seeded = await seedVolume(target, file, { ...options, overwrite: false });
    expect(seeded.manifest.digest).toBe(archived.manifest.digest);
    expect(await exactListing(target)).toBe(before);
    const readBack = await digestOfVolume(target, helper);
    expect(readBack.exact).toBe(true);
    expect(readBack.exactDigest).toBe(archived.manifest.exactDigest);

    // The check's fingerprints go the same way and agree with the archive's digest.
    const session = new FingerprintSession(dir);
    try {
      const listing = await session.list({ kind: 'volume', source: target }, helper);
      expect(listing.digest).toBe(archived.manifest.digest);
    } finally {
      await session.close();
    }
  });

  it('runs through sudo -n for a user that is not root, as on a GitHub-hosted runner', async () => {
    const source = await createVolume(resources);
    await onHost(await mountpointOf(source), HARD_FIXTURE);
    const before = await exactListing(source);
    // The runner's user reads dist/ and writes the archive: a copy where it can (this checkout may be root's).
    const shared = await resources.tempDir();
    await cp(path.resolve('dist'), path.join(shared, 'dist'), { recursive: true });
    await chmod(shared, 0o777);
    const file = path.join(shared, 'runner.tar.zst');
    const target = uniqueName('runner');
    resources.volumes.add(target);
    const archived = await asRunner(shared, ['archive', source, file]);
    expect(archived.stderr).toContain('data path: host path');
    const seeded = await asRunner(shared, ['seed', target, file]);
    expect(seeded.stderr).toContain('data path: host path');
    expect(await exactListing(target)).toBe(before); // ns mtimes, xattrs and ACLs: only GNU tar keeps them
  });

  it('is what makes the difference: the engine archive API seeds the same archive with its ACLs lost', async () => {
    const source = await createVolume(resources);
    await onHost(await mountpointOf(source), HARD_FIXTURE);
    const file = path.join(dir, 'hard-engine.tar.zst');
    await archiveVolume(source, file, { ...options, consistency: 'stop' });
    const viaEngine = new DockerEngine();
    process.env[DATA_PATH_ENV] = 'engine';
    try {
      expect(await dataPathOf(viaEngine, RUN_ID)).toEqual({
        kind: 'engine',
        reason: `engine archive API: asked for (${DATA_PATH_ENV}=engine)`,
      });
    } finally {
      delete process.env[DATA_PATH_ENV];
    }
    const target = uniqueName('lossy');
    resources.volumes.add(target);
    await seedVolume(target, file, { ...options, engine: viaEngine, overwrite: false });
    const lossy = await exactListing(target);
    expect(lossy).not.toBe(await exactListing(source));
    // The PUT keeps ns mtimes and user.* xattrs (its GET does not), but no ACL: Go ignores GNU tar's records.
    expect(lossy).not.toContain('user:1234:rw-');
    expect(lossy).not.toContain('default:user:1234:rwx');
  });

  it('fails a seed whose read-back misses what only the exact digest covers, and removes the new volume', async () => {
    const source = await createVolume(resources);
    await onHost(await mountpointOf(source), 'printf x > f && setfattr -n user.k -v v f');
    const file = path.join(dir, 'xattr.tar');
    const archived = await archiveVolume(source, file, { ...options, consistency: 'stop' });
    const target = uniqueName('noxattr');
    resources.volumes.add(target);
    // A tar that drops xattrs on extraction stands in for a host tar that loses them.
    const wrapper = path.join(dir, 'bin');
    await onHost(
      dir,
      `mkdir -p bin && printf '#!/bin/sh\\nexec %s "$@" --no-xattrs\\n' "$(command -v tar)" > bin/tar && chmod +x bin/tar`,
    );
    const lossyHost = new DockerEngine();
    const pathBefore = process.env.PATH;
    process.env.PATH = `${wrapper}:${pathBefore ?? ''}`;
    try {
      await dataPathOf(lossyHost, RUN_ID);
      await expect(
        seedVolume(target, file, { ...options, engine: lossyHost, overwrite: false }),
      ).rejects.toThrow(/exact digest .* ≠ /);
    } finally {
      process.env.PATH = pathBefore;
    }
    expect(await engine.inspectVolume(target)).toBeUndefined();
    expect(archived.manifest.exactDigest).not.toBe(archived.manifest.digest);
  });
});

/** A hostile case's tar with a manifest of what we read in it, as an attacker would ship it. */
async function hostileArchive(file: string, tar: Buffer): Promise<void> {
  const whole = Buffer.concat([tar, END]);
  const appender = createManifestAppender({ root: 'volume' });
  const archive = await Promise.all([bufferOf(appender), pipeline(Readable.from([whole]), appender)]).then(
    ([bytes]) => bytes,
    () => whole, // refused already when made: shipped bare
  );
  await writeFile(file, archive);
}

/** What GNU tar wrote, read on the host the way the corpus states its readings (names as Latin-1 bytes). */
async function hostReadings(volume: string): Promise<Reading[]> {
  const root = await mountpointOf(volume);
  const readings: Reading[] = [];
  const walk = async (relative: Buffer): Promise<void> => {
    const where = Buffer.concat([Buffer.from(`${root}/`), relative]);
    const info = await lstat(where);
    const type = info.isFile()
      ? 'file'
      : info.isDirectory()
        ? 'directory'
        : info.isSymbolicLink()
          ? 'symlink'
          : 'other';
    const name = `volume/${relative.toString('latin1')}`.replace(/\/$/, '');
    readings.push({ name, type, mode: info.mode & 0o7777, size: info.isFile() ? info.size : 0 });
    if (!info.isDirectory()) return;
    for (const child of await readdir(where, { encoding: 'buffer' })) {
      await walk(relative.length ? Buffer.concat([relative, Buffer.from('/'), child]) : child);
    }
  };
  await walk(Buffer.alloc(0));
  return readings.sort((a, b) =>
    Buffer.compare(Buffer.from(a.name, 'latin1'), Buffer.from(b.name, 'latin1')),
  );
}

/** Path tricks the path guard refuses before GNU tar sees a header. */
function escapes(): { title: string; tar: Buffer }[] {
  return [
    {
      title: 'a dot-dot name',
      tar: Buffer.concat([ROOT_DIR, rawFile({ name: 'volume/../escape.txt' }, 'x')]),
    },
    {
      title: 'a file through a symlink to /tmp',
      tar: Buffer.concat([
        ROOT_DIR,
        rawHeader({ name: 'volume/out', flag: '2', linkname: '/tmp' }),
        rawFile({ name: 'volume/out/escape.txt' }, 'x'),
      ]),
    },
    {
      title: 'a hard link to /etc/passwd',
      tar: Buffer.concat([ROOT_DIR, rawHeader({ name: 'volume/pw', flag: '1', linkname: '/etc/passwd' })]),
    },
    { title: 'an absolute name', tar: Buffer.concat([ROOT_DIR, rawFile({ name: '/tmp/escape.txt' }, 'x')]) },
  ];
}

describe('hostile archives through the host path', () => {
  it.each(hostileCorpus().map((c) => [c.title, c] as const))(
    '%s: GNU tar writes exactly our reading, or nothing',
    async (_title, hostile) => {
      const file = path.join(dir, `${uniqueName('hostile')}.tar`);
      await hostileArchive(file, hostile.tar);
      const volume = uniqueName('hostile');
      resources.volumes.add(volume);
      const seeding = seedVolume(volume, file, { ...options, overwrite: false });
      if (!Array.isArray(hostile.ours)) {
        await expect(seeding).rejects.toThrow(hostile.ours.refused);
        expect(await engine.inspectVolume(volume)).toBeUndefined();
        return;
      }
      await seeding;
      const expected = hostile.ours
        .map((r) => ({
          name: r.name.replace(/\/$/, ''),
          type: r.type === 'link' ? 'file' : r.type,
          mode: r.mode,
        }))
        .sort((a, b) => Buffer.compare(Buffer.from(a.name, 'latin1'), Buffer.from(b.name, 'latin1')));
      const written = (await hostReadings(volume)).map(({ name, type, mode }) => ({ name, type, mode }));
      expect(written).toEqual(expected);
      // Nothing beside the volume's own directory: its parent holds _data alone.
      expect(await readdir(path.dirname(await mountpointOf(volume)))).toEqual(['_data']);
    },
  );

  it.each(escapes().map((c) => [c.title, c] as const))(
    '%s: refused, nothing written anywhere',
    async (_title, escape) => {
      const file = path.join(dir, `${uniqueName('escape')}.tar`);
      await hostileArchive(file, escape.tar);
      const volume = uniqueName('escape');
      resources.volumes.add(volume);
      await expect(seedVolume(volume, file, { ...options, overwrite: false })).rejects.toThrow(
        /unsafe|outside|refus/i,
      );
      expect(await engine.inspectVolume(volume)).toBeUndefined();
      for (const place of ['/tmp/escape.txt', '/var/lib/docker/volumes/escape.txt']) {
        await expect(lstat(place)).rejects.toThrow(/ENOENT/);
      }
    },
  );
});

describe('a remote engine', () => {
  const ssh = new SshEngine();
  beforeAll(() => ssh.start(), 60_000);
  afterAll(() => ssh.stop());

  it('gets the engine archive API, and the CLI says why', async () => {
    const source = await createVolume(resources);
    await onHost(await mountpointOf(source), 'printf data > f && setfattr -n user.k -v v f');
    const file = path.join(dir, 'remote.tar.zst');
    const env = { ...process.env, ...ssh.env };
    const archived = await cli(['archive', source, file, '--helper-image', BUSYBOX_IMAGE], env);
    expect(archived.code).toBe(0);
    expect(archived.stderr).toContain(
      'data path: engine archive API: the engine is reached at ssh://root@127.0.0.1',
    );
    expect(ssh.traffic.dials).toBeGreaterThan(0);
    const target = uniqueName('remote');
    resources.volumes.add(target);
    const seeded = await cli(['seed', target, file, '--helper-image', BUSYBOX_IMAGE], env);
    expect(seeded.code).toBe(0);
    expect(seeded.stderr).toContain('data path: engine archive API: the engine is reached at ssh://');
    expect(await onHost(await mountpointOf(target), 'cat f')).toBe('data');
  });
});
