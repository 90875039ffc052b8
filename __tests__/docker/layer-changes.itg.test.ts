import { afterAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { run, runOk } from '../volumes/fixtures.js';

const engine = new DockerEngine();
const ids: string[] = [];

afterAll(async () => {
  if (ids.length) await run('docker', ['rm', '-f', ...ids]);
});

async function startedBusybox(script: string): Promise<string> {
  const id = (await runOk('docker', ['run', '-d', BUSYBOX_IMAGE, 'sh', '-c', script])).stdout.trim();
  ids.push(id);
  return id;
}

describe('layerChanges on the real engine', () => {
  it('is empty for a container that wrote nothing (the engine answers null), and lists what one wrote', async () => {
    const quiet = await startedBusybox('exec sleep 1000');
    const busy = await startedBusybox('echo x > /orders.txt && exec sleep 1000');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await engine.layerChanges(quiet)).toEqual([]);
    expect(await engine.layerChanges(busy)).toContainEqual({ path: '/orders.txt', kind: 'added' });
  });
});
