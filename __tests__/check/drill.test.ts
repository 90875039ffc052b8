import { describe, expect, it } from 'vitest';
import {
  compareAnswers,
  gatherExpectations,
  parseExpectedProbes,
  restoreTimeOf,
  unrunProbes,
} from '../../src/check/drill.js';
import type { ProbeAnswer } from '../../src/check/probe-answers.js';
import { judgeDrill, judgePhase, restoreOverBudget } from '../../src/check/verdict.js';
import { UserError } from '../../src/errors.js';
import type { DrillOutcome } from '../../src/types/restore.js';

const COUNT = 'db: psql -tAc "select count(*) from orders"';
const CLOCK = 'db: date';
const answer = (probe: string, text: string, ok = true): ProbeAnswer => ({ probe, text, ok });

const TIME = {
  totalMs: 20_000,
  parts: {
    downloadMs: 1000,
    decryptMs: 500,
    writeMs: 4000,
    readBackMs: 1000,
    upMs: 12_000,
    probesMs: 1500,
    otherMs: 500,
  },
};

function drill(over: Partial<DrillOutcome> = {}): DrillOutcome {
  return {
    startedAt: '2026-12-07T10:00:00.000Z',
    restoredAt: '2026-12-07T10:00:20.000Z',
    restore: TIME,
    stackStarted: true,
    probes: [
      {
        probe: COUNT,
        expected: '3',
        expectedFrom: 'the manifest of pgdata.tar.zst',
        actual: '3',
        compared: true,
        same: true,
      },
    ],
    unrun: [],
    conflicts: [],
    ...over,
  };
}

describe('gatherExpectations', () => {
  it('takes each probe from the first source that records it', () => {
    const { expected, conflicts } = gatherExpectations([
      { from: 'the manifest of a', probes: [{ probe: COUNT, output: '3' }] },
      {
        from: 'the manifest of b',
        probes: [
          { probe: COUNT, output: '3' },
          { probe: CLOCK, output: 'x' },
        ],
      },
    ]);
    expect(conflicts).toEqual([]);
    expect([...expected]).toEqual([
      [COUNT, { output: '3', from: 'the manifest of a' }],
      [CLOCK, { output: 'x', from: 'the manifest of b' }],
    ]);
  });

  it('names two sources that disagree (archives of different backup runs)', () => {
    const { conflicts } = gatherExpectations([
      { from: 'the manifest of a', probes: [{ probe: COUNT, output: '3' }] },
      { from: 'expected-probes e.json', probes: [{ probe: COUNT, output: '4' }] },
    ]);
    expect(conflicts).toEqual([
      `probe "${COUNT}" is expected to print "4" by expected-probes e.json but "3" by the manifest of a: seed archives of one backup run (or correct the file)`,
    ]);
  });
});

describe('compareAnswers', () => {
  const expected = new Map([
    [COUNT, { output: '3', from: 'the manifest of a' }],
    [CLOCK, { output: 'Mon', from: 'the manifest of a' }],
  ]);

  it('compares a recorded probe: same only when it succeeded with exactly the recorded text', () => {
    expect(compareAnswers([answer(COUNT, '3')], expected, [])).toEqual([
      {
        probe: COUNT,
        expected: '3',
        expectedFrom: 'the manifest of a',
        actual: '3',
        compared: true,
        same: true,
      },
    ]);
    expect(compareAnswers([answer(COUNT, '4')], expected, [])[0]?.same).toBe(false);
    expect(compareAnswers([answer(COUNT, '3', false)], expected, [])[0]?.same).toBe(false);
  });

  it('shows uncompared probes and probes nothing was recorded for, without comparing them', () => {
    const result = compareAnswers([answer(CLOCK, 'Tue'), answer('host: hostname', 'x')], expected, [CLOCK]);
    expect(result.map((p) => [p.compared, p.same, p.note])).toEqual([
      [false, undefined, 'uncompared-probes: its answer may change'],
      [false, undefined, 'no answer recorded for it'],
    ]);
  });
});

describe('unrunProbes', () => {
  it('lists recorded probes this run did not ask', () => {
    const expected = new Map([
      [COUNT, { output: '3', from: 'the manifest of a' }],
      [CLOCK, { output: 'x', from: 'the manifest of a' }],
    ]);
    expect(unrunProbes(expected, [answer(COUNT, '3')])).toEqual([
      { probe: CLOCK, from: 'the manifest of a' },
    ]);
  });
});

describe('restoreTimeOf', () => {
  it('adds the seeds up; other is what the named parts leave; decrypt stays inside write', () => {
    const time = restoreTimeOf({
      totalMs: 20_000,
      downloadMs: 1000,
      seeds: [
        { decryptMs: 300, writeMs: 3000, readBackMs: 600 },
        { decryptMs: 200, writeMs: 1000, readBackMs: 400 },
      ],
      upMs: 12_000,
      probesMs: 1500,
    });
    expect(time).toEqual(TIME);
    const { parts } = time;
    expect(
      parts.downloadMs + parts.writeMs + parts.readBackMs + parts.upMs + parts.probesMs + parts.otherMs,
    ).toBe(time.totalMs);
  });

  it('never makes other negative', () => {
    const time = restoreTimeOf({ totalMs: 10, downloadMs: 0, seeds: [], upMs: 20, probesMs: 0 });
    expect(time.parts.otherMs).toBe(0);
  });
});

describe('parseExpectedProbes', () => {
  it('reads the shape a manifest records, probes written as in the probes input', () => {
    const text = JSON.stringify({
      recordedAt: 'x',
      probes: [
        { probe: 'db:   psql -tAc "select 1"', output: '1' },
        { probe: 'curl -s localhost', output: 'ok' },
      ],
    });
    expect(parseExpectedProbes(text, 'f')).toEqual([
      { probe: 'db: psql -tAc "select 1"', output: '1' },
      { probe: 'host: curl -s localhost', output: 'ok' },
    ]);
  });

  it.each([
    ['not JSON', 'f is not valid JSON'],
    ['{"probes": [{"probe": "db: x"}]}', 'f must be {"probes": ['],
    ['[]', 'f must be {"probes": ['],
    ['null', 'f must be {"probes": ['],
  ])('refuses %s with a UserError saying the shape', (text, message) => {
    expect(() => parseExpectedProbes(text, 'f')).toThrow(UserError);
    expect(() => parseExpectedProbes(text, 'f')).toThrow(message);
  });
});

describe('judgeDrill (verdict)', () => {
  it('passes a drill whose compared probes answered as recorded, within budget', () => {
    expect(judgeDrill(drill({ budgetMs: 60_000 }))).toEqual({ failures: [], warnings: [] });
  });

  it('fails a probe that answers differently, naming the probe, the expected and the actual output', () => {
    const changed = drill({
      probes: [
        {
          probe: COUNT,
          expected: '3',
          expectedFrom: 'the manifest of pgdata.tar.zst',
          actual: '4',
          compared: true,
          same: false,
        },
      ],
    });
    expect(judgeDrill(changed).failures).toEqual([
      `Restore drill: probe "${COUNT}" does not answer as at backup time: expected "3" (the manifest of pgdata.tar.zst), got "4".`,
    ]);
    expect(judgePhase({ phase: 'drill', drill: changed }).failures).toHaveLength(1);
  });

  it('does not judge probes it did not compare', () => {
    const shown = drill({
      probes: [{ probe: CLOCK, expected: 'Mon', actual: 'Tue', compared: false, note: 'x' }],
    });
    expect(judgeDrill(shown).failures).toEqual([]);
  });

  it('fails a recorded probe this run did not ask, and disagreeing sources', () => {
    const result = judgeDrill(
      drill({ unrun: [{ probe: CLOCK, from: 'the manifest of a' }], conflicts: ['c'] }),
    );
    expect(result.failures).toEqual([
      `Restore drill: the manifest of a records the answer of probe "${CLOCK}", but this run does not ask it: add it to probes (uncompared-probes to show it without comparing).`,
      'Restore drill: c.',
    ]);
  });

  it('fails a restore over its budget with the measured time and every part', () => {
    expect(judgeDrill(drill({ budgetMs: 10_000 })).failures).toEqual([
      'Restore took 20.0 s, over restore-time-budget 10.0 s (from the start of the seed until the stack was healthy and the probes answered): download 1.0 s, decrypt 0.5 s (within write), write 4.0 s, read-back 1.0 s, up 12.0 s, probes 1.5 s, other 0.5 s.',
    ]);
    expect(restoreOverBudget(drill({ budgetMs: 20_000 }))).toBeUndefined();
    expect(restoreOverBudget(drill())).toBeUndefined();
  });

  it('says the seed sub-action measured the seed alone', () => {
    expect(restoreOverBudget(drill({ budgetMs: 1000, stackStarted: false }))).toContain(
      '(the seed alone: this step does not start the stack)',
    );
  });

  it('warns when a budget asks for a drill but no probe answer was compared', () => {
    const nothing = drill({ budgetMs: 60_000, probes: [] });
    expect(judgeDrill(nothing).warnings).toHaveLength(1);
    expect(judgeDrill(drill({ probes: [] })).warnings).toEqual([]);
  });

  it('a probe failure at archive time fails the run (its answer was not recorded)', () => {
    const findings = judgePhase({
      phase: 'archive',
      archives: [],
      notices: [],
      probeFailures: ['db: `x` exited 1'],
    });
    expect(findings.failures).toEqual([
      'record-probes: a probe failed at archive time, so its answer is not recorded: db: `x` exited 1',
    ]);
  });
});

describe('a drill asked for but not run', () => {
  it('is a warning: restore-time-budget set while nothing was seeded', () => {
    expect(judgePhase({ phase: 'drill', notice: 'restore-time-budget is set, but …' })).toEqual({
      failures: [],
      warnings: ['restore-time-budget is set, but …'],
    });
    expect(judgePhase({ phase: 'drill' })).toEqual({ failures: [], warnings: [] });
  });
});
