import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildReport, type RunRecord } from '../../src/report/build.js';
import { RESTORE_EVIDENCE_SCHEMA_VERSION, type RestoreEvidence } from '../../src/report/schema.js';
import { renderSummary } from '../../src/report/summary.js';
import { renderTerminalSummary } from '../../src/report/terminal.js';
import type { PhaseOutcome, SeedOutcome } from '../../src/types/outcomes.js';
import type { DrillOutcome } from '../../src/types/restore.js';
import { stackModel } from '../__fixtures__/phase-input.js';

const schema = JSON.parse(readFileSync('docs/schemas/restore-evidence.schema.json', 'utf8')) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const PROBE = 'db: psql -tAc "select count(*) from orders"';

const seed: SeedOutcome = {
  volume: 'shop_pgdata',
  source: 's3://backups/db/',
  files: 1200,
  bytes: 5_000_000,
  digest: DIGEST,
  durationMs: 4000,
  key: 's3://backups/db/pgdata-2026-12-07.tar.zst',
  madeAt: '2026-12-07T03:17:00.000Z',
  madeAtOf: 'archived',
  times: { decryptMs: 300, writeMs: 3000, readBackMs: 700 },
  recorded: { recordedAt: '2026-12-07T03:17:00.000Z', probes: [{ probe: PROBE, output: '3' }] },
};

const drill = (over: Partial<DrillOutcome> = {}): DrillOutcome => ({
  startedAt: '2026-12-07T05:00:00.000Z',
  restoredAt: '2026-12-07T05:00:20.000Z',
  restore: {
    totalMs: 20_000,
    parts: {
      downloadMs: 0,
      decryptMs: 300,
      writeMs: 3000,
      readBackMs: 700,
      upMs: 15_000,
      probesMs: 800,
      otherMs: 500,
    },
  },
  budgetMs: 600_000,
  stackStarted: true,
  probes: [
    {
      probe: PROBE,
      expected: '3',
      expectedFrom: `the manifest of ${seed.key}`,
      actual: '3',
      compared: true,
      same: true,
    },
    { probe: 'host: date', actual: 'Mon', compared: false, note: 'no answer recorded for it' },
  ],
  unrun: [],
  conflicts: [],
  ...over,
});

function report(d: DrillOutcome) {
  const outcomes: PhaseOutcome[] = [
    { phase: 'seed', seeds: [seed], startedAt: d.startedAt, downloadMs: 0 },
    { phase: 'drill', drill: d },
  ];
  const record: RunRecord = {
    project: 'shop',
    model: stackModel(),
    outcomes,
    timings: {},
    startedAt: d.startedAt,
    complete: false,
  };
  return buildReport(record);
}

describe('restore-evidence.json', () => {
  it('validates against docs/schemas/restore-evidence.schema.json and names the backup it restored', () => {
    const evidence = report(drill()).restore as RestoreEvidence;
    expect(validate(evidence), JSON.stringify(validate.errors)).toBe(true);
    expect(evidence).toMatchObject({
      schemaVersion: RESTORE_EVIDENCE_SCHEMA_VERSION,
      kind: 'compose-persist/restore-evidence',
      verdict: 'passed',
      drillVerdict: 'passed',
      probesCompared: 1,
      probesSame: 1,
      restoreTime: { totalMs: 20_000, budgetMs: 600_000, withinBudget: true },
    });
    expect(evidence.backups).toEqual([
      {
        volume: 'shop_pgdata',
        store: 's3://backups/db/',
        key: 's3://backups/db/pgdata-2026-12-07.tar.zst',
        digest: DIGEST,
        files: 1200,
        bytes: 5_000_000,
        madeAt: '2026-12-07T03:17:00.000Z',
        madeAtOf: 'archived',
        ageMs: (60 + 43) * 60_000 + 20_000,
        foreign: false,
        recordedProbes: 1,
      },
    ]);
  });

  it('the schema is no rubber stamp: it refuses evidence missing a required field or with a bad digest', () => {
    const evidence = report(drill()).restore as RestoreEvidence;
    const { restoredAt: _dropped, ...withoutTime } = evidence;
    expect(validate(withoutTime)).toBe(false);
    const badDigest = { ...evidence, backups: [{ ...evidence.backups[0], digest: 'md5:x' }] };
    expect(validate(badDigest)).toBe(false);
    const comparedWithoutExpected = { ...evidence, probes: [{ probe: PROBE, actual: '3', compared: true }] };
    expect(validate(comparedWithoutExpected)).toBe(false);
  });

  it('a failed drill: the verdicts say so, and so do the summary and the terminal', () => {
    const failed = report(
      drill({
        budgetMs: 10_000,
        probes: [
          {
            probe: PROBE,
            expected: '3',
            expectedFrom: 'the manifest of x',
            actual: '4',
            compared: true,
            same: false,
          },
        ],
      }),
    );
    const evidence = failed.restore as RestoreEvidence;
    expect(validate(evidence), JSON.stringify(validate.errors)).toBe(true);
    expect(evidence).toMatchObject({ verdict: 'failed', drillVerdict: 'failed', probesSame: 0 });
    expect(evidence.restoreTime.withinBudget).toBe(false);
    expect(evidence.failures).toHaveLength(2);
    const summary = renderSummary(failed);
    expect(summary).toContain('### Restore drill: ❌ restored in 20.0 s — budget 10.0 s ❌ exceeded');
    expect(summary).toContain(
      'download 0.0 s, decrypt 0.3 s (within write), write 3.0 s, read-back 0.7 s, up 15.0 s, probes 0.8 s, other 0.5 s',
    );
    expect(summary).toContain(`| \`${PROBE}\` | \`3\` | \`4\` | ❌ differs |`);
    const terminal = renderTerminalSummary(failed, false);
    expect(terminal).toContain('        expected: 3');
    expect(terminal).toContain('        restored: 4');
  });

  it('no drill (nothing seeded): no evidence', () => {
    expect(
      buildReport({
        project: 'p',
        model: stackModel(),
        outcomes: [],
        timings: {},
        startedAt: 'x',
        complete: false,
      }).restore,
    ).toBeUndefined();
  });
});
