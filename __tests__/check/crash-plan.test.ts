import { describe, expect, it } from 'vitest';
import { LOAD_MS, randomSeed, roundPlan, SEED_LIMIT } from '../../src/check/crash-plan.js';

describe('roundPlan: a round is replayable from its seed alone', () => {
  it('the same seed gives the same time under load and the same next seed', () => {
    expect(roundPlan(4242)).toEqual(roundPlan(4242));
    expect(roundPlan(4242)).not.toEqual(roundPlan(4243));
  });

  it('times under load stay within 0.5–5 s and spread over the range; seeds stay 32-bit', () => {
    const times: number[] = [];
    let seed = 1;
    for (let i = 0; i < 2000; i++) {
      const plan = roundPlan(seed);
      times.push(plan.loadMs);
      expect(Number.isInteger(plan.nextSeed) && plan.nextSeed >= 0 && plan.nextSeed < SEED_LIMIT).toBe(true);
      seed = plan.nextSeed;
    }
    expect(Math.min(...times)).toBeGreaterThanOrEqual(LOAD_MS.min);
    expect(Math.max(...times)).toBeLessThanOrEqual(LOAD_MS.max);
    expect(times.filter((t) => t < 1500).length).toBeGreaterThan(200);
    expect(times.filter((t) => t > 4000).length).toBeGreaterThan(200);
  });

  it('edge seeds 0 and 2^32-1 work; a drawn seed is a whole 32-bit number', () => {
    expect(roundPlan(0).loadMs).toBeGreaterThanOrEqual(LOAD_MS.min);
    expect(roundPlan(SEED_LIMIT - 1).loadMs).toBeLessThanOrEqual(LOAD_MS.max);
    const seed = randomSeed();
    expect(Number.isInteger(seed) && seed >= 0 && seed < SEED_LIMIT).toBe(true);
  });
});
