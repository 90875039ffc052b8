import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerEngine, type HelperContainer } from '../../src/docker/engine.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { run } from '../volumes/fixtures.js';

const engine = new DockerEngine();
const helpers: HelperContainer[] = [];
const volumes: string[] = [];

afterAll(async () => {
  for (const helper of helpers) await helper.remove().catch(() => undefined);
  if (volumes.length) await run('docker', ['volume', 'rm', '-f', ...volumes]);
});

async function helperOnNewVolume(): Promise<HelperContainer> {
  const volume = `cp-helper-archive-${process.pid}-${volumes.length}`;
  volumes.push(volume);
  await engine.createVolume(volume, {});
  const helper = await engine.createHelper({
    name: `${volume}-helper`,
    image: BUSYBOX_IMAGE,
    labels: {},
    mounts: [{ volume, target: '/v/volume' }],
  });
  helpers.push(helper);
  return helper;
}

/** Half a tar header: the engine has not got a whole entry and waits for more of the body. */
const HALF_A_HEADER = Buffer.alloc(256, 0x61);

// The seed's reader refuses a bad archive by destroying the stream it feeds to the PUT; a PUT that does not
// end then kept the engine waiting for the rest of the body and the seed waiting for the engine, for ever.
describe('a helper PUT whose tar stream fails', () => {
  it('rejects with the stream’s error when the stream fails while it is sent', async () => {
    const helper = await helperOnNewVolume();
    const tar = new PassThrough();
    tar.write(HALF_A_HEADER);
    setTimeout(() => tar.destroy(new Error('refused by the reader')), 300);
    const started = Date.now();
    await expect(helper.putArchive(tar, '/v')).rejects.toThrow('refused by the reader');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('rejects at once when the stream has already failed before the PUT begins', async () => {
    const helper = await helperOnNewVolume();
    const tar = new PassThrough().on('error', () => undefined); // the reader's pipeline listens, as here
    tar.destroy(new Error('refused before the helper existed'));
    await expect(helper.putArchive(tar, '/v')).rejects.toThrow('refused before the helper existed');
  });

  it('rejects when the stream is closed early without an error', async () => {
    const helper = await helperOnNewVolume();
    const tar = new PassThrough();
    tar.write(HALF_A_HEADER);
    setTimeout(() => tar.destroy(), 300);
    await expect(helper.putArchive(tar, '/v')).rejects.toThrow(/close/i);
  });
});
