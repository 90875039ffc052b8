import { describe, expect, it } from 'vitest';
import { Compose } from '../../src/docker/compose.js';
import type { ContainerDetails } from '../../src/docker/engine.js';
import { upAndWait } from '../../src/stack/lifecycle.js';
import { Wait, type WaitStrategy } from '../../src/stack/wait.js';
import { engineWith, serviceContainer } from '../__fixtures__/engine.js';

/** `true -f … up …`: a compose that always succeeds, so only the wait after it is tested. */
const compose = new Compose(
  { tool: 'true', prefix: [] },
  { files: ['/nonexistent/compose.yml'], projectName: 'shop', profiles: [], cwd: '/' },
);
const startedAgo = (ms: number) => new Date(Date.now() - ms).toISOString();

/** A strategy as it is, recording every pause it asks for. */
function recordingPauses(inner: WaitStrategy): { wait: WaitStrategy; pauses: number[] } {
  const pauses: number[] = [];
  const wait: WaitStrategy = {
    waitUntilReady: (target) =>
      inner.waitUntilReady({
        ...target,
        sleep: (ms) => {
          pauses.push(ms);
          return target.sleep(ms);
        },
      }),
  };
  return { wait, pauses };
}

describe('upAndWait: up --wait, then the steady-run wait on the containers', () => {
  // The pauses the wait asks for, not the time the call took: a loaded machine makes any call slow.
  it('returns at once for containers that have been up a while (no fixed pause)', async () => {
    const engine = engineWith([serviceContainer('shop', 'db', { startedAt: startedAgo(3000) })]);
    const { wait, pauses } = recordingPauses(Wait.forSteadyRun());
    const marks = await upAndWait(compose, engine, { waitTimeoutSeconds: 10 }, 'after restart', wait);
    expect(pauses).toEqual([]);
    expect([...marks.keys()]).toEqual(['db-id']);
  });

  it('waits out the rest of the second for a container that has just started', async () => {
    const engine = engineWith([serviceContainer('shop', 'db', { startedAt: startedAgo(400) })]);
    const started = Date.now();
    await upAndWait(compose, engine, { waitTimeoutSeconds: 10 }, 'after restart');
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('fails, naming the crash loop, when the restart policy restarts a container while it is watched', async () => {
    const db: ContainerDetails = serviceContainer('shop', 'db', { startedAt: startedAgo(100) });
    let inspections = 0;
    const engine = engineWith(
      [db],
      {},
      {
        inspectContainer: async () => {
          // The first look (the marks right after up) sees it running; then it has crashed and come back.
          inspections++;
          return inspections === 1 ? db : { ...db, restartCount: 1, startedAt: startedAgo(10) };
        },
      },
    );
    await expect(upAndWait(compose, engine, { waitTimeoutSeconds: 10 }, 'after kill')).rejects.toThrow(
      /after kill: not healthy: db \(crash loop: restarted 1 time\(s\)/,
    );
  });
});
