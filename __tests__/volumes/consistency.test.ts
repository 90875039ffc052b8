import { describe, expect, it } from 'vitest';
import type { ContainerSummary } from '../../src/docker/engine.js';
import { withQuiescedVolume, type QuiesceOptions } from '../../src/volumes/consistency.js';
import { fakeEngine } from '../__fixtures__/engine.js';

/** An engine whose containers mounting the volume are `db` (running) and `old` (exited); it logs each call. */
function recordingEngine() {
  const calls: string[] = [];
  const containers: ContainerSummary[] = [
    { id: 'db', name: 'p-db-1', image: 'db', state: 'running', labels: {} },
    { id: 'old', name: 'p-old-1', image: 'db', state: 'exited', labels: {} },
  ];
  const engine = fakeEngine({
    containersUsingVolume: async () => containers,
    stopContainer: async (id) => void calls.push(`stop ${id}`),
    startContainer: async (id) => void calls.push(`start ${id}`),
    pauseContainer: async (id) => void calls.push(`pause ${id}`),
    unpauseContainer: async (id) => void calls.push(`unpause ${id}`),
  });
  return { engine, calls };
}

async function quiesce(options: QuiesceOptions, work: () => Promise<void> = async () => undefined) {
  const { engine, calls } = recordingEngine();
  const read = async () => {
    calls.push('read');
    await work();
  };
  const outcome = await withQuiescedVolume(engine, 'vol', options, read).catch((error: unknown) => error);
  return { calls, outcome };
}

describe('withQuiescedVolume', () => {
  it('stops only the running containers for the read and starts them again', async () => {
    expect((await quiesce({ mode: 'stop' })).calls).toEqual(['stop db', 'read', 'start db']);
  });

  it('starts them again when the read fails', async () => {
    const { calls, outcome } = await quiesce({ mode: 'stop' }, async () => {
      throw new Error('read failed');
    });
    expect(calls).toEqual(['stop db', 'read', 'start db']);
    expect(outcome).toEqual(new Error('read failed'));
  });

  it('leaves them stopped when the stack is torn down next (startAgain: false)', async () => {
    expect((await quiesce({ mode: 'stop', startAgain: false })).calls).toEqual(['stop db', 'read']);
  });

  it('always unpauses a paused container, torn down next or not', async () => {
    expect((await quiesce({ mode: 'pause', startAgain: false })).calls).toEqual([
      'pause db',
      'read',
      'unpause db',
    ]);
  });

  it('touches nothing under live', async () => {
    expect((await quiesce({ mode: 'live' })).calls).toEqual(['read']);
  });
});
