import { describe, expect, it } from 'vitest';
import { archives, ENTRY_MODES, ownsStack, PHASES_OF } from '../../src/phases/table.js';

const names = (mode: (typeof ENTRY_MODES)[number]) => PHASES_OF[mode].map((p) => p.name);

describe('the phase table', () => {
  it('the main action runs every phase, in the order that keeps evidence valid', () => {
    expect(names('full')).toEqual([
      'seed',
      'up',
      'drill',
      'tests',
      'layer-audit',
      'crash-load',
      'restarts',
      'archive',
    ]);
  });
  it('the sub-actions run one job each on a stack the user manages', () => {
    expect(names('seed')).toEqual(['seed', 'drill']);
    expect(names('check')).toEqual(['attach', 'layer-audit', 'crash-load', 'restarts']);
    expect(names('archive')).toEqual(['attach', 'archive']);
  });
  it('only the main action owns the stack (post tears it down)', () => {
    expect(ENTRY_MODES.filter(ownsStack)).toEqual(['full']);
  });
  it('the main action and the archive sub-action archive', () => {
    expect(ENTRY_MODES.filter(archives)).toEqual(['full', 'archive']);
  });
  it('the layer audit runs before any restart: re-creation throws the writable layer away', () => {
    for (const mode of ENTRY_MODES) {
      const order = names(mode);
      if (order.includes('restarts'))
        expect(order.indexOf('layer-audit')).toBeLessThan(order.indexOf('restarts'));
    }
  });
  it('the crash rounds run before the restarts, whose last fingerprints then include the rows the load wrote', () => {
    for (const mode of ENTRY_MODES) {
      const order = names(mode);
      if (order.includes('crash-load'))
        expect(order.indexOf('crash-load')).toBeLessThan(order.indexOf('restarts'));
    }
  });
  it('the restore drill asks the probes right after up, before any test can write', () => {
    const order = names('full');
    expect(order.indexOf('drill')).toBe(order.indexOf('up') + 1);
    expect(order.indexOf('drill')).toBeLessThan(order.indexOf('tests'));
  });
  it('every phase after the start needs the stack up: up or attach comes first', () => {
    for (const mode of ENTRY_MODES) {
      const order = names(mode);
      const start = order.findIndex((n) => n === 'up' || n === 'attach');
      // The drill works without a stack (the seed sub-action: it measures the seed alone).
      const needsStack = order.filter((n) => !['seed', 'up', 'attach', 'drill'].includes(n));
      if (needsStack.length) expect(start).toBeGreaterThanOrEqual(0);
      for (const phase of needsStack) expect(order.indexOf(phase)).toBeGreaterThan(start);
    }
  });
});
