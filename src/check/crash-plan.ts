// What a crash round's seed decides: how long the load runs before the SIGKILL, and the next round's seed.
// Derived from the seed alone, so `crash-seed: S` with `crash-rounds: 1` replays the round that printed S.
import { randomInt } from 'node:crypto';

/** Time under load before a round's SIGKILL, counted from the load's first token: a random 0.5–5 s. */
export const LOAD_MS = { min: 500, max: 5000 } as const;

/** Seeds are 32-bit (the generator's state). */
export const SEED_LIMIT = 2 ** 32;

export interface RoundPlan {
  loadMs: number;
  nextSeed: number;
}

export function roundPlan(seed: number): RoundPlan {
  const next = mulberry32(seed);
  return {
    loadMs: LOAD_MS.min + Math.floor(next() * (LOAD_MS.max - LOAD_MS.min + 1)),
    nextSeed: Math.floor(next() * SEED_LIMIT),
  };
}

/** A seed for a run that gave none (printed, so the run can be replayed). */
export function randomSeed(): number {
  return randomInt(0, SEED_LIMIT);
}

/** mulberry32: a small, well-mixed 32-bit generator; numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / SEED_LIMIT;
  };
}
