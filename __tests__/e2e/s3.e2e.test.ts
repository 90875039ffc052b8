// S3 round trip through the built action (dist/main.js + dist/post.js) and the unmodified SDK, against
// s3rver on 127.0.0.1 started here: archive-to s3://…/RUN/, seed from the parent prefix, digest equal;
// the freshness and size guards; a missing object and bad credentials as one-line errors naming the URL.
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openArchiveSource, verifyArchive } from '../../src/archive/volume-tar.js';
import { S3Store, s3ClientFromEnv } from '../../src/stores/s3-store.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import {
  Cleanup,
  composeFile,
  errorLines,
  NOTHING_LEFT,
  reportOf,
  runAction,
  runnerEnv,
  uniqueName,
} from '../faults/support.js';

const BUCKET = 'cp-e2e-backups';
const cleanup = new Cleanup();
let server: S3Server;
let compose: string;

const APP = `
services:
  app:
    image: ${BUSYBOX_IMAGE}
    command: ['sh', '-c', 'exec sleep 1000000']
    stop_grace_period: 1s
    volumes:
      - appdata:/data
volumes:
  appdata:
`;
const WRITE =
  'app: sh -c "mkdir -p /data/orders && echo order-1 > /data/orders/1.txt && head -c 3000000 /dev/urandom > /data/blob.bin"';
const PROBE = 'app: sh -c "cat /data/orders/1.txt; md5sum /data/blob.bin"';

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
  compose = await composeFile(await cleanup.tempDir(), APP);
});

afterAll(async () => {
  await cleanup.run();
  await server?.stop();
});

function s3Run(project: string, inputs: Record<string, string>, env: Record<string, string> = server.env) {
  return runAction(
    cleanup.project(project),
    { 'compose-file': compose, 'restart-modes': 'restart', ...inputs },
    runnerEnv(env),
  );
}

describe('S3 store through the action (s3rver, unmodified SDK)', () => {
  let archivedDigest: string | undefined;
  let archivedProbe: string | undefined;
  let archivedAt = 0;
  const nightly = `s3://${BUCKET}/nightly/`;

  it('archives to s3://…/RUN/ streamed, and seeds from the parent prefix: same digest, same data', async () => {
    const a = await s3Run(uniqueName('s3-a'), {
      exec: WRITE,
      probes: PROBE,
      'archive-to': `${nightly}run-1/`,
    });
    expect(a.main.exitCode, a.main.stdout).toBe(0);
    archivedAt = Date.now();
    const reportA = await reportOf(a.main);
    expect(reportA.archives.map((x) => [x.file, x.store])).toEqual([
      ['appdata.tar.zst', `S3 ${nightly}run-1/`],
    ]);
    // streamed: the volume went from the engine into the upload, with no staged copy in between
    expect(a.main.stdout).toContain(
      `Archive ${a.main.stdout.match(/Archive (\S+_appdata) to/)?.[1]} to ${nightly}run-1/appdata.tar.zst`,
    );
    archivedDigest = reportA.archives[0]?.digest;
    archivedProbe = reportA.modes[0]?.probes[0]?.after;
    expect(archivedProbe).toMatch(/^order-1\n[0-9a-f]{32} /);
    expect(a.leftovers).toEqual(NOTHING_LEFT);

    // A second archive to the same place is refused before anything is stopped: last night's backup stays.
    const again = await s3Run(uniqueName('s3-again'), { exec: WRITE, 'archive-to': `${nightly}run-1/` });
    expect(again.main.exitCode).not.toBe(0);
    expect(errorLines(again.main).join('\n')).toMatch(
      /s3:\/\/cp-e2e-backups\/nightly\/run-1\/appdata\.tar\.zst already exists and is never replaced/,
    );

    const b = await s3Run(uniqueName('s3-b'), {
      seed: `appdata: ${nightly}`,
      probes: PROBE,
      'archive-to': 'none',
      'seed-max-age': '1h',
      'seed-min-size': '2M',
    });
    expect(b.main.exitCode, b.main.stdout).toBe(0);
    const reportB = await reportOf(b.main);
    expect(reportB.seeds.map((s) => [s.source, s.digest])).toEqual([
      [`${nightly} → ${nightly}run-1/appdata.tar.zst`, archivedDigest],
    ]);
    expect(reportB.modes[0]?.probes[0]?.before).toBe(archivedProbe);
    expect(b.main.summary).toContain(`${nightly}run-1/appdata.tar.zst`);
    expect(b.leftovers).toEqual(NOTHING_LEFT);
  });

  it('refuses a stale backup (seed-max-age) and a too-small one (seed-min-size) in one line, leaving nothing', async () => {
    expect(archivedDigest, 'the round trip ran first').toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, archivedAt + 3000 - Date.now())));
    const stale = await s3Run(uniqueName('s3-stale'), {
      seed: `appdata: ${nightly}`,
      'seed-max-age': '2s',
      'archive-to': 'none',
    });
    expect(stale.main.exitCode).not.toBe(0);
    expect(errorLines(stale.main)).toEqual([
      expect.stringMatching(
        /^::error::Backup s3:\/\/cp-e2e-backups\/nightly\/run-1\/appdata\.tar\.zst is \d+[sm].* old \((stored|archived) .*\), older than seed-max-age 2s: /,
      ),
    ]);
    expect(stale.main.stdout).not.toContain('Start the stack');
    expect(stale.leftovers).toEqual(NOTHING_LEFT);

    const small = await s3Run(uniqueName('s3-small'), {
      seed: `appdata: ${nightly}`,
      'seed-min-size': '100M',
      'archive-to': 'none',
    });
    expect(small.main.exitCode).not.toBe(0);
    expect(errorLines(small.main)).toEqual([
      expect.stringMatching(
        /^::error::Backup s3:\/\/cp-e2e-backups\/nightly\/run-1\/appdata\.tar\.zst holds 2\.\d MiB of data \(\d+ files\), less than seed-min-size 100 MiB: it is truncated or empty/,
      ),
    ]);
    expect(small.leftovers).toEqual(NOTHING_LEFT);
  });

  it('a missing object and bad credentials are one-line errors naming the URL', async () => {
    const missing = await s3Run(uniqueName('s3-missing'), {
      seed: `appdata: s3://${BUCKET}/nightly/nope.tar.gz`,
      'archive-to': 'none',
    });
    expect(missing.main.exitCode).not.toBe(0);
    expect(errorLines(missing.main)).toEqual([
      `::error::No object at s3://${BUCKET}/nightly/nope.tar.gz (NotFound): check the key, or end it with / to use the newest object under a prefix.`,
    ]);
    expect(missing.leftovers).toEqual(NOTHING_LEFT);

    const denied = await s3Run(
      uniqueName('s3-denied'),
      { seed: `appdata: ${nightly}`, 'archive-to': 'none' },
      { ...server.env, AWS_ACCESS_KEY_ID: 'NOBODY' },
    );
    expect(denied.main.exitCode).not.toBe(0);
    expect(errorLines(denied.main)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::error::S3 refused ${nightly} \\(InvalidAccessKeyId\\): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        ),
      ),
    ]);
    expect(denied.leftovers).toEqual(NOTHING_LEFT);
  });
});

describe('bind mounts as data (archive-to)', () => {
  it('archives a writable data bind beside the volume; a read-only bind and the project folder are left out', async () => {
    const project = await cleanup.tempDir();
    const data = await cleanup.tempDir();
    await mkdir(path.join(project, 'code'));
    await writeFile(path.join(project, 'code', 'app.sh'), 'echo hi\n');
    const file = await composeFile(
      project,
      `${APP.replace(
        '      - appdata:/data',
        `      - appdata:/data\n      - ${data}:/var/lib/app\n      - ./code:/code:ro\n      - .:/project`,
      )}`,
    );
    const run = await runAction(
      cleanup.project(uniqueName('s3-bind')),
      {
        'compose-file': file,
        'restart-modes': 'restart',
        exec: 'app: sh -c "echo order-7 > /data/o.txt && mkdir -p /var/lib/app/db && echo row-1 > /var/lib/app/db/rows"',
        probes: 'app: cat /var/lib/app/db/rows',
        'archive-to': `s3://${BUCKET}/binds/run-1/`,
      },
      runnerEnv(server.env),
    );
    expect(run.main.exitCode, run.main.stdout).toBe(0);
    const report = await reportOf(run.main);
    expect(
      report.archives.map((a) => [a.volume.endsWith('_appdata') ? 'appdata' : a.volume, a.file]),
    ).toEqual([
      ['appdata', 'appdata.tar.zst'],
      [data, 'bind-app-var-lib-app.tar.zst'],
    ]);
    // The stored object holds the bind's files, verified against its manifest, with the digest reported.
    const [blob] = await new S3Store(
      `s3://${BUCKET}/binds/run-1/bind-app-var-lib-app.tar.zst`,
      s3ClientFromEnv(server.env),
    ).objects();
    const manifest = await verifyArchive(await openArchiveSource(blob!));
    expect(manifest.entries.map((e) => e.path)).toEqual(['.', 'db', 'db/rows']);
    expect(manifest.digest).toBe(report.archives[1]?.digest);
    expect(run.leftovers).toEqual(NOTHING_LEFT);
  });

  it('seeds a missing bind source from S3 (created, filled, read back); one that holds data is refused, or replaced with overwrite', async () => {
    const project = await cleanup.tempDir();
    const parent = await cleanup.tempDir();
    const data = path.join(parent, 'restored'); // missing: the seed creates it
    const file = await composeFile(
      project,
      APP.replace('      - appdata:/data', `      - appdata:/data\n      - ${data}:/var/lib/app`),
    );
    const seeded = await runAction(
      cleanup.project(uniqueName('s3-bind-seed')),
      {
        'compose-file': file,
        'restart-modes': 'restart',
        seed: `bind-app-var-lib-app: s3://${BUCKET}/binds/`,
        probes: 'app: cat /var/lib/app/db/rows',
        'archive-to': 'none',
      },
      runnerEnv(server.env),
    );
    expect(seeded.main.exitCode, seeded.main.stdout).toBe(0);
    const report = await reportOf(seeded.main);
    expect(report.seeds.map((s) => [s.volume, s.source])).toEqual([
      [data, `s3://${BUCKET}/binds/ → s3://${BUCKET}/binds/run-1/bind-app-var-lib-app.tar.zst`],
    ]);
    expect(report.modes[0]?.probes[0]?.before).toBe('row-1');
    expect(seeded.leftovers).toEqual(NOTHING_LEFT);

    // Now it holds data: refused without overwrite, and left as it is.
    const again = await runAction(
      cleanup.project(uniqueName('s3-bind-again')),
      {
        'compose-file': file,
        seed: `bind-app-var-lib-app: s3://${BUCKET}/binds/`,
        'archive-to': 'none',
      },
      runnerEnv(server.env),
    );
    expect(again.main.exitCode).not.toBe(0);
    expect(errorLines(again.main)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^::error::Bind source ${data} already holds data \\(1 files\\): refusing to seed over it\\. Set overwrite: true`,
        ),
      ),
    ]);
    expect(again.leftovers).toEqual(NOTHING_LEFT);

    // With overwrite it is replaced (backed up, emptied, written, read back), the backup removed.
    const over = await runAction(
      cleanup.project(uniqueName('s3-bind-over')),
      {
        'compose-file': file,
        'restart-modes': 'restart',
        seed: `bind-app-var-lib-app: s3://${BUCKET}/binds/`,
        overwrite: 'true',
        probes: 'app: cat /var/lib/app/db/rows',
        'archive-to': 'none',
      },
      runnerEnv(server.env),
    );
    expect(over.main.exitCode, over.main.stdout).toBe(0);
    expect((await reportOf(over.main)).seeds.map((s) => s.volume)).toEqual([data]);
    expect(over.leftovers).toEqual(NOTHING_LEFT);
    expect(again.leftovers).toEqual(NOTHING_LEFT);
  });
});
