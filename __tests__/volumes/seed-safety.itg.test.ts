import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rmdir } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManifestAppender, verifyArchiveFile } from '../../src/archive/volume-tar.js';
import { RUN_LABEL } from '../../src/constants.js';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { digestOfVolume } from '../../src/volumes/fingerprint.js';
import { leaseName } from '../../src/volumes/seed-lease.js';
import { backupVolume, restoreCommand } from '../../src/volumes/volume-backup.js';
import { seedVolume, type SeedOptions } from '../../src/volumes/seed-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import {
  CLI,
  RUN_ID,
  Resources,
  cli,
  createVolume,
  engine,
  inVolume,
  runOk,
  TRICKY_SCRIPT,
  tarBuffer,
  uniqueName,
  volumeListing,
} from './fixtures.js';

const resources = new Resources();
const helper = { engine, image: BUSYBOX_IMAGE, runLabel: RUN_ID };
const mounts: string[] = [];
const containers: string[] = [];
let dir: string;
/** 20 MiB of random data (does not compress), and its digest. */
let big20: string;
let big20Digest: string;
/** 200 small files: few bytes, many inodes. */
let manyFiles: string;
/** One small file. */
let smallArchive: string;
/** A file name of 300 bytes: the engine cannot create it ("file name too long"). */
let longName: string;
/** 100 MiB of random data: long enough to kill a seed mid-write. */
let big100: string;

/** Seed options under a run id of the test's own, so what that run leaves can be listed. */
function optionsOf(runLabel: string, overwrite = true): SeedOptions {
  return { engine, helperImage: BUSYBOX_IMAGE, runLabel, overwrite };
}

async function digestOf(volume: string): Promise<string> {
  return (await digestOfVolume(volume, helper)).digest;
}

/** Containers and volumes labelled with the run id: nothing may be left of a run. */
async function leftoversOf(runLabel: string): Promise<string[]> {
  const containersLeft = await engine.listContainers([`${RUN_LABEL}=${runLabel}`]);
  const volumesLeft = await engine.listVolumes([`${RUN_LABEL}=${runLabel}`]);
  return [...containersLeft.map((c) => `container ${c.name}`), ...volumesLeft.map((v) => `volume ${v.name}`)];
}

/** A volume bound to a fresh tmpfs (`mount -t tmpfs -o OPTIONS`), holding a few files of its owner's. */
async function smallVolume(tmpfsOptions: string): Promise<string> {
  const mountPoint = await mkdtemp(path.join(os.tmpdir(), 'cp-small-'));
  await runOk('mount', ['-t', 'tmpfs', '-o', tmpfsOptions, 'tmpfs', mountPoint]);
  mounts.push(mountPoint);
  const name = uniqueName('small');
  resources.volumes.add(name);
  await runOk('docker', [
    'volume',
    'create',
    '-o',
    'type=none',
    '-o',
    'o=bind',
    '-o',
    `device=${mountPoint}`,
    name,
  ]);
  await inVolume(
    name,
    "printf 'precious\\n' > /v/precious && mkdir /v/keep && head -c 100000 /dev/urandom > /v/keep/noise",
  );
  return name;
}

async function userVolume(): Promise<string> {
  const name = await createVolume(resources);
  await inVolume(name, "printf 'precious\\n' > /v/precious && mkdir /v/keep && chown 999 /v/keep");
  return name;
}

async function archiveOf(script: string, name: string): Promise<string> {
  const source = await createVolume(resources);
  await inVolume(source, script);
  const file = path.join(dir, name);
  await archiveVolume(source, file, {
    engine,
    helperImage: BUSYBOX_IMAGE,
    runLabel: RUN_ID,
    consistency: 'live',
  });
  return file;
}

/** A hand-built tar with a compose-persist manifest appended, as our archive command would write it. */
async function withManifest(tar: Buffer, name: string): Promise<string> {
  const file = path.join(dir, name);
  await pipeline(
    Readable.from([tar]),
    createManifestAppender({ volumeName: 'crafted' }),
    createWriteStream(file),
  );
  return file;
}

async function expectSeedFails(
  volume: string,
  file: string,
  runLabel: string,
  message: RegExp,
): Promise<string> {
  const error = await seedVolume(volume, file, optionsOf(runLabel)).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error?.message).toMatch(message);
  expect(error?.message).not.toContain('\n');
  expect(error?.message).not.toMatch(/HTTP code/);
  return error?.message ?? '';
}

beforeAll(async () => {
  dir = await resources.tempDir();
  big20 = await archiveOf('head -c 20971520 /dev/urandom > /v/random.bin', 'big20.tar.zst');
  big20Digest = (await verifyArchiveFile(big20)).digest;
  smallArchive = await archiveOf("printf 'new\\n' > /v/new.txt", 'small.tar');
  big100 = await archiveOf('head -c 104857600 /dev/urandom > /v/random.bin', 'big100.tar.zst');
  manyFiles = await archiveOf('for i in $(seq 200); do echo $i > /v/f$i; done', 'many.tar.gz');
  const tar = await tarBuffer([
    { header: { name: 'volume/', type: 'directory', mode: 0o755 } },
    { header: { name: 'volume/ok.txt', type: 'file', mode: 0o644 }, content: 'fine\n' },
    { header: { name: `volume/${'x'.repeat(300)}`, type: 'file', mode: 0o644 }, content: 'long\n' },
  ]);
  longName = await withManifest(tar, 'long-name.tar');
});

afterAll(async () => {
  for (const container of containers) await runOk('docker', ['rm', '-f', container]).catch(() => undefined);
  await resources.cleanup();
  for (const mountPoint of mounts) {
    await runOk('umount', [mountPoint]).catch(() => undefined);
    await rmdir(mountPoint).catch(() => undefined);
  }
});

describe('overwrite never loses both the old and the new contents', () => {
  it('an archive larger than the disk is refused before the volume is emptied', async () => {
    const volume = await smallVolume('size=8m');
    const before = await digestOf(volume);
    const runLabel = uniqueName('run');
    const message = await expectSeedFails(
      volume,
      big20,
      runLabel,
      new RegExp(
        `^Volume ${volume} \\(at /tmp/cp-small-\\w+\\) has \\d+ bytes free .*big20\\.tar\\.zst needs 20971520`,
      ),
    );
    expect(message).toContain(`${volume} still holds its previous contents (digest ${before})`);
    expect(await digestOf(volume)).toBe(before);
    expect(await leftoversOf(runLabel)).toEqual([]);
  });

  it('running out of space mid-write (inodes): the old contents are restored, the message says so', async () => {
    const volume = await smallVolume('size=8m,nr_inodes=64');
    const before = await digestOf(volume);
    const runLabel = uniqueName('run');
    const message = await expectSeedFails(
      volume,
      manyFiles,
      runLabel,
      new RegExp(
        `^Volume ${volume} \\(at /tmp/cp-small-\\w+\\) ran out of space .*many\\.tar\\.gz.*no space left on device`,
      ),
    );
    expect(message).toMatch(/needs \d+ bytes/);
    expect(message).toContain(`${volume} still holds its previous contents (digest ${before})`);
    expect(await digestOf(volume)).toBe(before);
    expect(await leftoversOf(runLabel)).toEqual([]);
  });

  it("an engine error mid-write: the engine's words and what to do, and the old contents restored", async () => {
    const volume = await userVolume();
    const before = await digestOf(volume);
    const runLabel = uniqueName('run');
    const message = await expectSeedFails(
      volume,
      longName,
      runLabel,
      // The engine's words on its archive API, GNU tar's on the host path (data-path.ts).
      new RegExp(
        `^(The Docker engine|GNU tar on the host) refused to write volume ${volume} \\((500: )?.*file name too long`,
        'i',
      ),
    );
    expect(message).toContain(`${volume} still holds its previous contents (digest ${before})`);
    expect(await digestOf(volume)).toBe(before);
    expect(await leftoversOf(runLabel)).toEqual([]);
  });

  it('a good archive still replaces the contents (so the checks above can fail)', async () => {
    const volume = await smallVolume('size=8m,nr_inodes=64');
    const runLabel = uniqueName('run');
    const result = await seedVolume(volume, smallArchive, optionsOf(runLabel));
    expect(await digestOf(volume)).toBe(result.manifest.digest);
    expect(await leftoversOf(runLabel)).toEqual([]);
  });
});

describe('the backup of an overwritten volume', () => {
  it('is exact for awkward contents, and the restore commands a kept backup is named with restore it', async () => {
    const volume = await createVolume(resources);
    await inVolume(volume, TRICKY_SCRIPT);
    const before = await digestOf(volume);
    const listing = await volumeListing(volume);
    const backup = `${volume}.cp-backup-test`;
    resources.volumes.add(backup);
    await backupVolume(volume, backup, before, helper);
    expect(await digestOf(backup)).toBe(before);
    await inVolume(volume, 'rm -rf /v/sub && echo changed > /v/zero');
    const commands = restoreCommand(volume, backup).split(' && ');
    for (const command of commands) {
      const [node, tool, ...args] = command
        .replace(`${backup}.tar`, path.join(dir, `${backup}.tar`))
        .split(' ');
      expect([node, tool]).toEqual(['node', 'dist/cli.js']);
      const result = await cli([...args, '--helper-image', BUSYBOX_IMAGE]);
      expect(result.code, result.stderr).toBe(0);
    }
    expect(await digestOf(volume)).toBe(before);
    expect(await volumeListing(volume)).toBe(listing);
  });
});

describe('a volume mounted by a container in any state is in use', () => {
  it('created, exited and paused containers are named with their states; the volume is unchanged', async () => {
    const volume = await userVolume();
    const before = await digestOf(volume);
    const names = {
      created: uniqueName('created'),
      exited: uniqueName('exited'),
      paused: uniqueName('paused'),
    };
    containers.push(...Object.values(names));
    const mount = ['--label', 'dev.compose-persist.test=1', '-v', `${volume}:/data`];
    await runOk('docker', ['create', '--name', names.created, ...mount, BUSYBOX_IMAGE, 'true']);
    await runOk('docker', ['run', '--name', names.exited, ...mount, BUSYBOX_IMAGE, 'true']);
    await runOk('docker', ['run', '-d', '--name', names.paused, ...mount, BUSYBOX_IMAGE, 'sleep', '600']);
    await runOk('docker', ['pause', names.paused]);
    const runLabel = uniqueName('run');
    const message = await expectSeedFails(
      volume,
      smallArchive,
      runLabel,
      new RegExp(`^Volume ${volume} is mounted by`),
    );
    for (const [state, name] of Object.entries(names)) expect(message).toContain(`${name} (${state})`);
    expect(message).toMatch(/docker rm -f/);
    expect(await digestOf(volume)).toBe(before);
    expect(await leftoversOf(runLabel)).toEqual([]);
    await runOk('docker', ['rm', '-f', ...Object.values(names)]);
  });
});

describe('two seeds of one new volume', () => {
  it('one writes, the other is refused naming the run that holds the volume', async () => {
    const volume = uniqueName('race');
    resources.volumes.add(volume);
    const [first, second] = [uniqueName('run'), uniqueName('run')];
    const results = await Promise.allSettled([
      seedVolume(volume, big20, optionsOf(first, false)),
      seedVolume(volume, big20, optionsOf(second, false)),
    ]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect((rejected[0]?.reason as Error).message).toMatch(
      new RegExp(
        `^Volume ${volume} is being seeded by run cp-vol-itg-run-\\w+ \\(pid ${process.pid} on ${os.hostname()}\\): wait for it`,
      ),
    );
    expect(await digestOf(volume)).toBe(big20Digest);
    const winner = results[0]?.status === 'fulfilled' ? first : second;
    expect((await leftoversOf(winner)).filter((l) => l !== `volume ${volume}`)).toEqual([]);
    expect(await leftoversOf(winner === first ? second : first)).toEqual([]);
  });
});

describe('a seed killed with SIGKILL', () => {
  it('leaves a half-filled volume the next seed removes, saying so in one line', async () => {
    const volume = uniqueName('killed');
    resources.volumes.add(volume);
    await seedKilledWhen(volume, [], async () => (await engine.inspectVolume(volume)) !== undefined);
    const deadRun = (await engine.inspectVolume(volume))?.labels[RUN_LABEL] ?? '';
    expect(deadRun, 'the volume the killed seed created').not.toBe('');

    const again = await cli(['seed', volume, smallArchive, '--helper-image', BUSYBOX_IMAGE]);
    expect(again.code, again.stderr).toBe(0);
    expect(noticesOf(again.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `removed the half-seeded volume ${volume} left by run ${deadRun} \\(pid \\d+\\), which is gone`,
        ),
      ),
    ]);
    expect(await digestOf(volume)).toBe((await verifyArchiveFile(smallArchive)).digest);
    expect(await engine.listContainers([`${RUN_LABEL}=${deadRun}`])).toEqual([]);
  });

  it.each([
    ['its lease left', false],
    ["its lease removed too (as the action's teardown removes helpers)", true],
  ])(
    'killed while overwriting, %s: the next seed restores the old contents from its backup, saying so',
    async (_what, leaseRemoved) => {
      const volume = await userVolume();
      const before = await digestOf(volume);
      // Killed once the volume was emptied (read on the host: the engine is local and we are root).
      const data = (await engine.inspectVolume(volume))?.mountpoint ?? '';
      await seedKilledWhen(volume, ['--overwrite'], async () => !existsSync(path.join(data, 'precious')));
      if (leaseRemoved) await engine.removeContainer(leaseName(volume));
      const again = await cli(['seed', volume, smallArchive, '--helper-image', BUSYBOX_IMAGE]);
      expect(noticesOf(again.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(
            `restored ${volume} to its previous contents \\(digest ${before}\\) from the backup left by run \\S+ \\(pid \\d+\\), which is gone`,
          ),
        ),
        `compose-persist seed: Volume ${volume} already holds data: refusing to seed over it. Set overwrite: true to replace it, or seed a new volume.`,
      ]);
      expect(again.code).toBe(1);
      expect(await digestOf(volume)).toBe(before);
      expect(await engine.listVolumes([`dev.compose-persist.backup-of=${volume}`])).toEqual([]);
    },
  );
});

/** The CLI's own lines (not its progress lines). */
function noticesOf(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('compose-persist seed:'));
}

/**
 * `seed VOLUME big100 ARGS` in a process group of its own, SIGKILLed whole (the CLI's wrapper and the
 * worker doing the seed) as soon as `ready` holds.
 */
async function seedKilledWhen(volume: string, args: string[], ready: () => Promise<boolean>): Promise<void> {
  const child = spawn(
    process.execPath,
    [CLI, 'seed', volume, big100, '--helper-image', BUSYBOX_IMAGE, ...args],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  while (!(await ready()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  process.kill(-(child.pid as number), 'SIGKILL');
  await exited;
  expect(
    await engine.inspectContainer(leaseName(volume)).catch((e: unknown) => String(e)),
    'the lease the kill left',
  ).toMatchObject({ state: 'created' });
}
