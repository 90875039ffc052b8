import { describe, expect, it } from 'vitest';
import { buildReport, describeStack, type RunRecord } from '../../src/report/build.js';
import { REPORT_SCHEMA_VERSION } from '../../src/report/schema.js';
import { renderSummary } from '../../src/report/summary.js';
import type { PhaseOutcome } from '../../src/types/outcomes.js';
import { stackModel } from '../__fixtures__/phase-input.js';

const record = (outcomes: PhaseOutcome[], overrides: Partial<RunRecord> = {}): RunRecord => ({
  project: 'shop',
  model: stackModel(),
  outcomes,
  timings: { up: 5 },
  startedAt: '2026-12-01T10:00:00.000Z',
  complete: true,
  ...overrides,
});
const logs = [{ service: 'db', container: 'shop-db-1', state: 'exited, exit code 1', tail: 'FATAL' }];
const restartsOutcome = (extra: object = {}): PhaseOutcome =>
  ({ phase: 'restarts', brokenProbes: [], modes: [], notices: [], ...extra }) as PhaseOutcome;

describe('buildReport', () => {
  it('carries the schema version of the code that wrote it', () => {
    expect(REPORT_SCHEMA_VERSION).toBe(1);
    expect(buildReport(record([])).schemaVersion).toBe(REPORT_SCHEMA_VERSION);
  });

  it('the summary names the run a seed came from', () => {
    const seed = {
      volume: 'shop_pgdata',
      source: 'artifact:volumes-shop',
      from: 'run 42 of acme/shop, the latest successful run of nightly.yml with this artifact',
      files: 3,
      bytes: 100,
      digest: 'sha256:0123456789abcdef0123',
    };
    const summary = renderSummary(
      buildReport(record([{ phase: 'seed', seeds: [{ ...seed, durationMs: 1 }] }])),
    );
    expect(summary).toContain(`| artifact:volumes-shop (${seed.from}) | 3 | 100 |`);
  });

  it('the verdict decides result, failures and warnings', () => {
    const report = buildReport(
      record([
        { phase: 'up', anonymous: ['db:/cache'] },
        restartsOutcome({
          modes: [
            {
              mode: 'kill',
              effect: 'e',
              comparedWith: 'the evidence before any restart',
              probes: [{ probe: 'p', before: '1', after: '0', same: false }],
              volumes: [],
            },
          ],
        }),
      ]),
    );
    expect(report.result).toBe('failed');
    expect(report.failures).toEqual(['Data did not survive kill: probe "p" changed']);
    expect(report.warnings).toHaveLength(1);
    expect(report.modes[0]?.passed).toBe(false);
  });
  it('each mode carries the verdict on it', () => {
    const probes = [{ probe: 'p', before: '1', after: '1', same: true }];
    const good = { mode: 'restart', effect: 'e', comparedWith: 'x', probes, volumes: [] };
    const unverified = { mode: 'kill', effect: 'e', comparedWith: 'x', probes: [], volumes: [] };
    expect(buildReport(record([restartsOutcome({ modes: [good, unverified] })])).modes).toEqual([
      { ...good, passed: true },
      { ...unverified, passed: false },
    ]);
  });
  it('the volume summary takes the archive digest first, else the last fingerprint', () => {
    const finalVolumes = { shop_pgdata: { digest: 'sha256:fp', bytes: 10, files: 2 } };
    const archived = buildReport(
      record([
        restartsOutcome({ finalVolumes }),
        {
          phase: 'archive',
          notices: [],
          archives: [{ volume: 'shop_pgdata', file: 'f', format: 'tar', bytes: 1, digest: 'sha256:ar' }],
        },
      ]),
    );
    expect(archived.volumes).toEqual([
      { key: 'pgdata', name: 'shop_pgdata', digest: 'sha256:ar', size: 10, files: 2 },
    ]);
    expect(buildReport(record([restartsOutcome({ finalVolumes })])).volumes[0]?.digest).toBe('sha256:fp');
  });
  it('a run that stopped early (or the seed sub-action) has no volume summary', () => {
    expect(buildReport(record([{ phase: 'seed', seeds: [] }], { complete: false })).volumes).toEqual([]);
  });
  it('service logs: the error that ended the run wins over a failed mode’s', () => {
    const modeLogs = [{ ...logs[0]!, tail: 'from the mode' }];
    expect(buildReport(record([restartsOutcome({ serviceLogs: modeLogs })])).serviceLogs).toEqual(modeLogs);
    expect(
      buildReport(
        record([restartsOutcome({ serviceLogs: modeLogs })], { error: { message: 'x', serviceLogs: logs } }),
      ).serviceLogs,
    ).toEqual(logs);
  });
  it('timings, start and finish are carried over; finishedAt only once the run is over', () => {
    expect(buildReport(record([]))).not.toHaveProperty('finishedAt');
    const done = buildReport(record([], { finishedAt: '2026-12-01T10:01:00.000Z' }));
    expect(done).toMatchObject({ timings: { up: 5 }, finishedAt: '2026-12-01T10:01:00.000Z' });
  });
});

describe('describeStack', () => {
  it('names each volume with its mounts, binds, tmpfs and anonymous volumes', () => {
    const model = stackModel({
      binds: [
        { service: 'app', source: './conf', target: '/etc/app', readOnly: true },
        { service: 'app', source: './data', target: '/data', readOnly: false },
      ],
      tmpfs: [{ service: 'app', target: '/scratch' }],
      anonymous: [{ service: 'app', target: '/cache' }],
    });
    expect(describeStack(model)).toEqual({
      volumes: [
        { key: 'pgdata', name: 'shop_pgdata', external: false, mounts: ['db:/var/lib/postgresql/data'] },
      ],
      binds: ['app:/etc/app (bind ./conf, read-only: not checked)', 'app:/data (bind ./data)'],
      tmpfs: ['app:/scratch (tmpfs: not persisted by design)'],
      anonymous: ['app:/cache'],
    });
  });
  it('anonymous volumes found on the containers replace the declared list', () => {
    expect(describeStack(stackModel(), ['db:/var/lib/mysql']).anonymous).toEqual(['db:/var/lib/mysql']);
  });
});
