import { describe, expect, it } from 'vitest';
import {
  EngineClock,
  SteadyRunWait,
  Wait,
  type ContainerRun,
  type WaitTarget,
} from '../../src/stack/wait.js';

const START = Date.parse('2026-12-01T10:00:00.000Z');
const at = (ms: number) => new Date(START + ms).toISOString();

/** A stack on a fake engine clock: each look returns the runs of that moment; sleeping moves the clock. */
function fakeStack(runsAt: (now: number) => ContainerRun[], startMs: number) {
  let now = START + startMs;
  const looks: number[] = [];
  const pauses: number[] = [];
  const target: WaitTarget<string> = {
    look: async () => {
      looks.push(now - START);
      return { result: `marks at ${now - START}`, running: runsAt(now - START) };
    },
    engineNow: async () => now,
    sleep: async (ms) => {
      pauses.push(ms);
      now += ms;
    },
  };
  return { target, looks, pauses };
}

const run = (startedMs: number, restartCount = 0): ContainerRun => ({
  service: 'db',
  startedAt: at(startedMs),
  restartCount,
});

describe('Wait.forSteadyRun', () => {
  it('is ready at the first look when every container has run long enough (no fixed pause)', async () => {
    const stack = fakeStack(() => [run(0), run(-5000)], 3000);
    await expect(Wait.forSteadyRun().waitUntilReady(stack.target)).resolves.toBe('marks at 3000');
    expect(stack.pauses).toEqual([]);
  });

  it('waits only for what the youngest container still lacks, then looks again', async () => {
    const stack = fakeStack(() => [run(0), run(2700)], 3000);
    await expect(Wait.forSteadyRun().waitUntilReady(stack.target)).resolves.toBe('marks at 3700');
    expect(stack.pauses).toEqual([700]);
    expect(stack.looks).toEqual([3000, 3700]);
  });

  it('watches a container that crashed before for longer, a look at least every second', async () => {
    const stack = fakeStack(() => [run(0, 1)], 500);
    await Wait.forSteadyRun().waitUntilReady(stack.target);
    expect(stack.pauses).toEqual([1000, 1000, 1000, 1000, 500]);
    expect(stack.looks.at(-1)).toBe(5000);
  });

  it('fails as soon as a look does: a container that dies while it is watched is never called ready', async () => {
    const stack = fakeStack(() => [run(0)], 200);
    let looks = 0;
    const target: WaitTarget<string> = {
      ...stack.target,
      look: async () => {
        if (++looks === 2) throw new Error('after restart: not healthy: db (exited, exit code 3)');
        return stack.target.look();
      },
    };
    await expect(new SteadyRunWait().waitUntilReady(target)).rejects.toThrow(/not healthy: db/);
    expect(stack.pauses).toEqual([800]);
  });

  it('counts an unreadable start time as just started', async () => {
    const stack = fakeStack(() => [{ service: 'db', startedAt: '', restartCount: 0 }], 0);
    let looks = 0;
    const target: WaitTarget<string> = {
      ...stack.target,
      look: async () => {
        if (++looks > 3) return { result: 'gave up', running: [] };
        return stack.target.look();
      },
    };
    await expect(Wait.forSteadyRun().waitUntilReady(target)).resolves.toBe('gave up');
    expect(stack.pauses).toEqual([1000, 1000, 1000]);
  });
});

describe('EngineClock', () => {
  it('adds the engine’s offset, measured once, taken as read at the end of the call (never ahead)', async () => {
    let local = 10_000;
    let calls = 0;
    const clock = new EngineClock(
      async () => {
        calls++;
        local += 40; // the call takes 40 ms; the engine read its clock 20 ms in, 5 s ahead of ours
        return 10_020 + 5000;
      },
      () => local,
    );
    expect(await clock.now()).toBe(10_040 + 4980);
    local += 1000;
    expect(await clock.now()).toBe(11_040 + 4980);
    expect(calls).toBe(1);
  });
});
