import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import {
  RUN_ID,
  Resources,
  cli,
  createVolume,
  inVolume,
  run,
  runOk,
  uniqueName,
  type RunResult,
} from './fixtures.js';

const resources = new Resources();
const IMAGE = ['--helper-image', BUSYBOX_IMAGE];

afterAll(() => resources.cleanup());

/** The digest an `archive` printed (its last line). */
function printedDigest(result: RunResult): string {
  return result.stdout.trim().split('\n').at(-1) ?? '';
}

describe('two archives to one file at the same time', () => {
  let dir: string;
  let volumes: [string, string];

  beforeAll(async () => {
    dir = await resources.tempDir();
    volumes = [await createVolume(resources), await createVolume(resources)];
    // Different data, big enough (16 MiB each, incompressible) that the two writes overlap.
    for (const [index, volume] of volumes.entries()) {
      await inVolume(volume, `echo ${index} > /v/which && head -c 16777216 /dev/urandom > /v/noise`);
    }
  });

  it('a run that says it succeeded printed the digest of the file that is there when it says so; nothing partial left', async () => {
    const snapshots = await resources.tempDir();
    let lost = 0;
    for (let round = 0; round < 5; round++) {
      const dest = path.join(dir, `race-${round}.tar.gz`);
      // The moment a run exits 0, DEST is copied aside: that copy is what its claim is about (a run that
      // starts after another ended may replace DEST later, legitimately).
      const results = await Promise.all(
        volumes.map(async (volume, index) => {
          const result = await cli(['archive', volume, dest, ...IMAGE]);
          const snapshot = path.join(snapshots, `${round}-${index}.tar.gz`);
          if (result.code === 0) await copyFile(dest, snapshot);
          return { ...result, snapshot };
        }),
      );
      const succeeded = results.filter((r) => r.code === 0);
      expect(succeeded.length, results.map((r) => r.stderr).join('\n')).toBeGreaterThan(0);
      for (const result of succeeded) {
        const digest = await cli(['digest', result.snapshot]);
        expect(digest.code, digest.stderr).toBe(0);
        expect(printedDigest(result)).toBe(digest.stdout.trim());
      }
      lost += results.length - succeeded.length;
      for (const result of results.filter((r) => r.code !== 0)) {
        // The progress line, then one line naming the file and the fix.
        expect(result.stderr.trim().split('\n').at(-1)).toBe(
          `compose-persist archive: ${dest} was replaced by another process while this run wrote it, so this run's file was not kept (the other one stays): write each archive to a file of its own.`,
        );
      }
      expect(await readdir(dir)).toEqual(
        Array.from({ length: round + 1 }, (_, i) => `race-${i}.tar.gz`).sort(),
      );
    }
    // Both start together and each takes seconds: the writes did overlap, so the guard was exercised.
    expect(lost).toBeGreaterThan(0);
  });
});

describe('the CLI check and its temp folder', () => {
  let dir: string;
  let tmp: string;
  let file: string;

  beforeAll(async () => {
    dir = await resources.tempDir();
    tmp = path.join(dir, 'tmp');
    await mkdir(tmp);
    file = path.join(dir, 'compose.yml');
    await writeFile(
      file,
      [
        'services:',
        '  app:',
        `    image: ${BUSYBOX_IMAGE}`,
        "    command: ['sh', '-c', 'head -c 1048576 /dev/urandom > /data/blob; exec sleep 1000000']",
        '    stop_grace_period: 1s',
        '    volumes: [data:/data]',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
  });

  /** `check` with TMPDIR pointing at the test's own folder. */
  function check(archiveTo: string, project = uniqueName('tmpdir')): Promise<RunResult> {
    resources.projects.push({ name: project, file });
    const args = ['check', '-f', file, '--project-name', project, '--restart-modes', 'restart'];
    return cli([...args, '--archive-to', archiveTo, ...IMAGE, '--json'], { ...process.env, TMPDIR: tmp });
  }

  it('leaves the container it stopped for the archive stopped: the CLI tears the stack down next', async () => {
    const project = uniqueName('no-restart');
    const since = Math.floor(Date.now() / 1000) - 1;
    const result = await check(`path:${path.join(dir, 'store-no-restart')}`, project);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`Stopping ${project}-app-1 while volume ${project}_data is read`);
    const events = await runOk('docker', [
      'events',
      '--since',
      String(since),
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      'type=container',
      '--format',
      '{{.Action}}',
    ]);
    const actions = events.stdout.trim().split('\n');
    // up starts it, the restart mode stops and starts it, the archive stops it, teardown destroys it. Were it
    // started again after the archive, there would be a third start and teardown's own third stop. Only these
    // three actions are compared: the others around a stop come in the engine's own order (20.10 sends die
    // before stop, 28 stop before die).
    expect(
      actions.filter((a) => a === 'start' || a === 'stop' || a === 'destroy'),
      actions.join(' '),
    ).toEqual(['start', 'stop', 'start', 'stop', 'destroy']);
  });

  it('BUG(src) — leaves nothing in the temp folder once the archives are stored, run after run', async () => {
    const store = path.join(dir, 'store');
    for (let round = 0; round < 2; round++) {
      const result = await check(`path:${store}`);
      expect(result.code, result.stderr).toBe(0);
      expect(await readdir(tmp)).toEqual([]);
    }
    expect((await readdir(store)).sort()).toEqual(['data.tar.zst', 'report.json']);
  });

  it('BUG(src) — leaves nothing there either when storing fails', async () => {
    await rm(tmp, { recursive: true });
    await mkdir(tmp);
    await writeFile(path.join(dir, 'a-file'), 'x');
    const result = await check(`path:${path.join(dir, 'a-file', 'store')}`);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('ENOTDIR');
    expect(await readdir(tmp)).toEqual([]);
  });
});

// An 8 MiB tmpfs as the destination and 20 MiB of incompressible data. Mounting needs root (CI and the dev
// container run as root); elsewhere the test is skipped, not faked.
const AS_ROOT = process.getuid?.() === 0;

describe.skipIf(!AS_ROOT)('an archive into a directory that fills up', () => {
  let small = '';
  let mounted = false;
  let volume: string;

  beforeAll(async () => {
    small = path.join(await resources.tempDir(), 'small');
    await mkdir(small);
    await runOk('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small]);
    mounted = true;
    volume = await createVolume(resources);
    await inVolume(volume, 'head -c 20971520 /dev/urandom > /v/noise');
  });

  afterAll(async () => {
    if (mounted) await run('umount', [small]);
  });

  it.each(['tar.gz', 'tar.zst', 'tar'])(
    'BUG(src) — %s: one line naming the file, what was written and free, and the fix; no partial file',
    async (format) => {
      const dest = path.join(small, `data.${format}`);
      const result = await cli(['archive', volume, dest, ...IMAGE]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n').at(-1)).toMatch(
        new RegExp(
          `^compose-persist archive: No space left on the device for ${dest.replace(/\./g, '\\.')}: ` +
            `it filled after \\d+(\\.\\d)? MiB were written \\(the file system had 8 MiB free\\); ` +
            'free space there or archive to another directory\\.$',
        ),
      );
      expect(await readdir(small)).toEqual([]);
    },
  );
});

describe('a file that shrinks while a live archive reads it', () => {
  let dir: string;
  let volume: string;
  let writer = '';

  beforeAll(async () => {
    dir = await resources.tempDir();
    volume = await createVolume(resources);
    await inVolume(volume, 'head -c 67108864 /dev/urandom > /v/big');
    // Cut the file short and grow it again, over and over, while the archive reads it.
    const mount = `type=volume,source=${volume},target=/v`;
    const script = 'while :; do truncate -s 4096 /v/big; head -c 67108864 /dev/zero >> /v/big; done';
    const started = await runOk('docker', [
      'run',
      '-d',
      '--network',
      'none',
      '--label',
      `dev.compose-persist.run=${RUN_ID}`,
      '--mount',
      mount,
      BUSYBOX_IMAGE,
      'sh',
      '-c',
      script,
    ]);
    writer = started.stdout.trim();
  });

  afterAll(async () => {
    if (writer) await run('docker', ['rm', '-f', writer]);
  });

  it('BUG(src) — says the file changed while it was read and suggests archive-consistency: stop', async () => {
    const failures: RunResult[] = [];
    for (let attempt = 0; attempt < 10 && failures.length === 0; attempt++) {
      const dest = path.join(dir, `live-${attempt}.tar.gz`);
      const result = await cli(['archive', volume, dest, '--archive-consistency', 'live', ...IMAGE]);
      // The first read can get through between two cuts; the second read (the check for changes) then
      // names the file, the same way, as a warning.
      if (result.code === 0) expect(result.stderr).toContain('warning: big changed while it was read\n');
      else failures.push(result);
    }
    // The engine's tar ends in the middle of the entry whose file shrank (seen in nearly every trial here;
    // once, on an idle 20.10, five reads in a row got through: so up to ten).
    expect(failures.length).toBeGreaterThan(0);
    for (const result of failures) {
      expect(result.stderr.trim().split('\n').at(-1)).toBe(
        `compose-persist archive: Archive of volume ${volume} failed: big changed while it was read (archive-consistency: live); use archive-consistency: stop (the default) for a consistent copy.`,
      );
    }
    expect((await readdir(dir)).filter((name) => !/^live-\d\.tar\.gz$/.test(name))).toEqual([]);
  });
});
