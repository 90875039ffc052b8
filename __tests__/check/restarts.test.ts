import { describe, expect, it } from 'vitest';
import { planModes } from '../../src/check/restarts.js';

describe('planModes: a graceful stop never runs between the last write and a crash', () => {
  it('crash-first moves kill before the graceful modes and says so', () => {
    const plan = planModes(['restart', 'kill', 'recreate'], 'crash-first', false);
    expect(plan.modes).toEqual(['kill', 'restart', 'recreate']);
    expect(plan.reordered).toMatch(
      /^Restart modes run as kill, restart, recreate \(restart-order: crash-first\)/,
    );
    expect(plan.warning).toBeUndefined();
  });
  it('an order that already starts with the crash is kept, silently', () => {
    expect(planModes(['kill', 'restart', 'down-up'], 'crash-first', false)).toEqual({
      modes: ['kill', 'restart', 'down-up'],
    });
  });
  it('graceful modes only, or kill only: nothing to reorder', () => {
    expect(planModes(['restart', 'recreate'], 'crash-first', false)).toEqual({
      modes: ['restart', 'recreate'],
    });
    expect(planModes(['kill'], 'crash-first', false)).toEqual({ modes: ['kill'] });
  });
  it('as-given keeps the order, and warns that the late crash tests nothing unflushed', () => {
    const plan = planModes(['restart', 'kill'], 'as-given', false);
    expect(plan.modes).toEqual(['restart', 'kill']);
    expect(plan.warning).toMatch(/kill runs after restart .* with no write before it/);
  });
  it('as-given with write commands before every mode: fresh writes make the late crash a real test', () => {
    expect(planModes(['restart', 'kill'], 'as-given', true)).toEqual({ modes: ['restart', 'kill'] });
  });
});
