import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { cli, runOk } from '../volumes/fixtures.js';
import {
  Cleanup,
  TEST_LABEL,
  createUserVolume,
  digestOf,
  leftoversOf,
  runnerEnv,
  uniqueName,
} from './support.js';

// Load: 10 volumes of 200 MiB of random data, archived and seeded back with the CLI (3 at a time, as
// parallel jobs on one runner would), every digest compared. About a minute here; bounded at 4.
const VOLUMES = 10;
const MIB = 200;
const PARALLEL = 3;
const cleanup = new Cleanup();
const env = { ...process.env, ...runnerEnv() };
let dir: string;
let userVolume: string;
let userDigest: string;

beforeAll(async () => {
  dir = await cleanup.tempDir();
  userVolume = await createUserVolume(cleanup);
  userDigest = await digestOf(userVolume);
});

afterAll(() => cleanup.run());

/** Runs work(item) for every item, at most `limit` at once; results in input order. */
async function eachLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

describe(`${VOLUMES} volumes × ${MIB} MiB`, () => {
  it('archive and seed with equal digests, leaving no helper behind', async () => {
    const started = Date.now();
    const sources = Array.from({ length: VOLUMES }, (_, i) => cleanup.volume(uniqueName(`load${i}`)));
    await eachLimited(sources, PARALLEL, async (volume) => {
      await runOk('docker', ['volume', 'create', '--label', TEST_LABEL, volume]);
      await runOk('docker', [
        'run',
        '--rm',
        '--network',
        'none',
        '--label',
        TEST_LABEL,
        '--mount',
        `type=volume,source=${volume},target=/v`,
        BUSYBOX_IMAGE,
        'sh',
        '-c',
        `dd if=/dev/urandom of=/v/blob bs=1M count=${MIB} 2>/dev/null && mkdir /v/d && echo ${volume} > /v/d/name`,
      ]);
    });
    const filled = Date.now();

    const image = ['--helper-image', BUSYBOX_IMAGE];
    const results = await eachLimited(sources, PARALLEL, async (source) => {
      // The digest archive prints is the source volume's, read by the engine; the target's is read anew.
      const file = path.join(dir, `${source}.tar.zst`);
      const archived = await cli(['archive', source, file, ...image], env);
      expect(archived.code, archived.stderr).toBe(0);
      const target = cleanup.volume(`${source}-seeded`);
      const seeded = await cli(['seed', target, file, ...image], env);
      expect(seeded.code, seeded.stderr).toBe(0);
      return {
        archived: lastLine(archived.stdout),
        seeded: lastLine(seeded.stdout),
        target: await digestOf(target, env),
        bytes: (await stat(file)).size,
      };
    });
    const done = Date.now();

    for (const r of results) {
      expect(r.archived).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect([r.seeded, r.target]).toEqual([r.archived, r.archived]);
      // Random data does not compress: the archive really holds the 200 MiB.
      expect(r.bytes).toBeGreaterThan(MIB * 1024 * 1024);
    }
    // Ten different volumes: ten different digests.
    expect(new Set(results.map((r) => r.archived)).size).toBe(VOLUMES);
    expect(await leftoversOf('cp-fault-load-none', env.GITHUB_RUN_ID as string)).toMatchObject({
      helpers: [],
    });
    expect(await digestOf(userVolume)).toBe(userDigest);
    console.info(
      `load: fill ${filled - started} ms, archive+seed+digests ${done - filled} ms for ${VOLUMES}×${MIB} MiB`,
    );
    // The figures above are for reading; the time is not asserted (a loaded machine takes what it takes), only
    // the test's own timeout bounds it.
  }, 600_000);
});
