import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build.js';
import { renderSummary } from '../../src/report/summary.js';
import { renderTerminalSummary } from '../../src/report/terminal.js';
import type { StackModel } from '../../src/stack/model.js';
import type { CrashRound } from '../../src/types/outcomes.js';

const model: StackModel = {
  project: 'shop',
  services: ['db'],
  images: {},
  volumes: [],
  binds: [],
  tmpfs: [],
  anonymous: [],
};

const round = (overrides: Partial<CrashRound>): CrashRound => ({
  round: 1,
  seed: 17,
  plannedLoadMs: 1200,
  loadMs: 1234,
  acknowledged: 150,
  duplicates: 0,
  recoveryMs: 4567,
  lost: 0,
  firstLost: [],
  ...overrides,
});

function reportOf(rounds: CrashRound[], roundsPlanned = rounds.length) {
  return buildReport({
    project: 'shop',
    model,
    timings: {},
    startedAt: new Date().toISOString(),
    complete: true,
    outcomes: [
      { phase: 'up', anonymous: [] },
      { phase: 'crash-load', crash: { services: ['db'], seed: 17, roundsPlanned, rounds } },
    ],
  });
}

describe('crash rounds in the report, the summary and the terminal', () => {
  const lossy = round({
    round: 2,
    seed: 99,
    acknowledged: 80,
    lost: 6,
    firstLost: ['1', '2', '3', '4', '5'],
  });
  const silent = round({
    round: 3,
    seed: 5,
    acknowledged: 0,
    lost: undefined,
    recoveryMs: undefined,
    loadMs: 0,
  });

  it('report.crashLoad carries the rounds, the verdict line and why a round is no proof', () => {
    const report = reportOf([round({}), lossy, silent]);
    expect(report.result).toBe('failed');
    expect(report.crashLoad?.line).toBe(
      'crash under load: 3 rounds, 230 acknowledged writes, 6 lost, 1 no proof',
    );
    expect(report.crashLoad?.noProof).toEqual([null, null, expect.stringMatching(/printed no token/)]);
    expect(report.firstLoss).toMatch(/round 2 \(seed 99\) lost 6 of 80/);
  });

  it('the summary has a row per round: time under load, acknowledged, lost, recovery', () => {
    const summary = renderSummary(reportOf([round({}), lossy, silent]));
    expect(summary).toContain(
      '### Crash under load: ❌ crash under load: 3 rounds, 230 acknowledged writes, 6 lost, 1 no proof',
    );
    expect(summary).toContain('| 1 | `17` | 1.2 s | 150 | 0 | 4.6 s | ✅ |');
    expect(summary).toContain('| 2 | `99` | 1.2 s | 80 | 6 (`1`, `2`, `3`, `4`, `5`, …) | 4.6 s | ❌ lost |');
    expect(summary).toMatch(
      /\| 3 \| `5` \| 0\.0 s \| 0 \| {2}\| {2}\| ⚠️ no proof: the load printed no token/,
    );
  });

  it('the terminal prints the verdict line and one line per round', () => {
    const passed = renderTerminalSummary(reportOf([round({})]), false);
    expect(passed).toContain('PASSED');
    expect(passed).toContain('✔ crash under load: 1 round, 150 acknowledged writes, 0 lost (crash-seed 17)');
    expect(passed).toContain(
      'round 1 (seed 17): 1.2 s under load, 150 acknowledged, 0 lost, recovered in 4.6 s',
    );
    const failed = renderTerminalSummary(reportOf([lossy], 3), false);
    expect(failed).toContain('✘ crash under load: 1 round of 3, 80 acknowledged writes, 6 lost');
  });

  it('no load configured: no crash section', () => {
    const report = buildReport({
      project: 'shop',
      model,
      timings: {},
      startedAt: new Date().toISOString(),
      complete: true,
      outcomes: [{ phase: 'up', anonymous: [] }, { phase: 'crash-load' }],
    });
    expect(report.crashLoad).toBeUndefined();
    expect(renderSummary(report)).not.toContain('Crash under load');
  });
});
