import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, POSTGRES_IMAGE } from '../support/images.js';
import {
  Resources,
  cli,
  createVolume,
  engine,
  inVolume,
  tarBuffer,
  uniqueName,
  writeArchive,
} from './fixtures.js';

const docker = promisify(execFile);
const resources = new Resources();
const IMAGE = ['--helper-image', BUSYBOX_IMAGE];
let dir: string;

beforeAll(async () => {
  dir = await resources.tempDir();
});

afterAll(() => resources.cleanup());

async function digestOf(volume: string): Promise<string> {
  const result = await cli(['digest', volume, ...IMAGE]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe('limits and unsafe content when seeding', () => {
  it('stops a decompression bomb at max-archive-size, leaving no volume', async () => {
    // 64 MiB of zeros gzip to about 64 KiB.
    const tar = await tarBuffer([
      { header: { name: 'volume/', type: 'directory', mode: 0o755 } },
      {
        header: { name: 'volume/zeros', type: 'file', mode: 0o644 },
        content: Buffer.alloc(64 * 1024 * 1024),
      },
    ]);
    const bomb = await writeArchive(dir, 'bomb.tar.gz', tar);
    const target = uniqueName('bomb');
    const seeded = await cli(['seed', target, bomb, ...IMAGE, '--max-archive-size', '8M']);
    expect(seeded.code).toBe(1);
    expect(seeded.stderr).toMatch(
      /bomb\.tar\.gz expands to more than max-archive-size \(8 MiB\): raise max-archive-size/,
    );
    expect(await engine.inspectVolume(target)).toBeUndefined();
    // The same archive under a larger limit gets past the size check (and then fails only on its missing manifest).
    const roomy = await cli(['seed', uniqueName('bomb'), bomb, ...IMAGE, '--max-archive-size', '1G']);
    expect(roomy.stderr).toMatch(/no compose-persist-manifest\.json at its end/);
  });

  it('refuses device nodes, leaving no volume', async () => {
    const tar = await tarBuffer([
      { header: { name: 'volume/', type: 'directory', mode: 0o755 } },
      { header: { name: 'volume/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 } },
    ]);
    const archive = await writeArchive(dir, 'device.tar', tar);
    const target = uniqueName('device');
    const seeded = await cli(['seed', target, archive, ...IMAGE]);
    expect(seeded.code).toBe(1);
    expect(seeded.stderr).toMatch(
      /holds a device node \(volume\/sda\): refusing to create device files in a volume/,
    );
    expect(await engine.inspectVolume(target)).toBeUndefined();
  });

  it('keeps FIFOs: they round-trip as FIFOs', async () => {
    const source = await createVolume(resources);
    await inVolume(source, 'mkfifo -m 0620 /v/queue && chown 999:999 /v/queue');
    const file = path.join(dir, 'fifo.tar.zst');
    expect((await cli(['archive', source, file, ...IMAGE])).code).toBe(0);
    const target = uniqueName('fifo');
    resources.volumes.add(target);
    const seeded = await cli(['seed', target, file, ...IMAGE]);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect((await inVolume(target, "test -p /v/queue && stat -c '%a %u %g' /v/queue", true)).trim()).toBe(
      '620 999 999',
    );
  });

  it('refuses to seed a volume a running container uses, and leaves it unchanged', async () => {
    const busy = await createVolume(resources);
    await inVolume(busy, 'echo live > /v/data');
    const before = await digestOf(busy);
    const container = uniqueName('user');
    await docker('docker', [
      'run',
      '-d',
      '--name',
      container,
      '--label',
      'dev.compose-persist.test=1',
      '-v',
      `${busy}:/v`,
      BUSYBOX_IMAGE,
      'sleep',
      '600',
    ]);
    try {
      const source = await createVolume(resources);
      await inVolume(source, 'echo replacement > /v/data');
      const file = path.join(dir, 'replacement.tar');
      expect((await cli(['archive', source, file, ...IMAGE])).code).toBe(0);
      const seeded = await cli(['seed', busy, file, ...IMAGE, '--overwrite']);
      expect(seeded.code).toBe(1);
      expect(seeded.stderr).toContain(
        `Volume ${busy} is mounted by container(s) ${container} (running): a container that can run again must not find its volume replaced; remove them first (docker rm -f ${container}) or seed another volume.`,
      );
    } finally {
      await docker('docker', ['rm', '-f', container]);
    }
    expect(await digestOf(busy)).toBe(before);
  });

  it.each([['bad name'], ['x'], ['-leading-dash'], ['a/b'], ['ü-volume']])(
    'refuses the invalid volume name %j in one line',
    async (name) => {
      for (const args of [
        ['seed', ...IMAGE, '--', name, path.join(dir, 'whatever.tar')],
        ['archive', ...IMAGE, '--', name, path.join(dir, 'out.tar')],
      ]) {
        const result = await cli(args);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`Volume name "${name}" is invalid`);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
    },
  );
});

describe('helper containers', () => {
  it('leave no anonymous volume behind, even from an image that declares VOLUMEs', async () => {
    const anonymous = async () =>
      new Set((await engine.listVolumes([])).map((v) => v.name).filter((n) => /^[0-9a-f]{64}$/.test(n)));
    const source = await createVolume(resources);
    await inVolume(source, 'echo kept > /v/data');
    const before = await anonymous();
    // local/postgres:15 (or postgres:16-alpine) declares VOLUME /var/lib/postgresql/data.
    const digest = await cli(['digest', source, '--helper-image', POSTGRES_IMAGE]);
    expect(digest.code, digest.stderr).toBe(0);
    const leaked = [...(await anonymous())].filter((n) => !before.has(n));
    expect(leaked).toEqual([]);
    // The named volume the helper mounted is untouched.
    expect((await inVolume(source, 'cat /v/data', true)).trim()).toBe('kept');
  });
});
