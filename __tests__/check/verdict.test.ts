import { describe, expect, it } from 'vitest';
import {
  compareProbe,
  describeVolumeLoss,
  judgeLayerAudit,
  judgeModes,
  judgeRun,
  modeFailure,
  modePassed,
  stopsTheRun,
  suspiciousVolumes,
  testFailures,
  unverifiedWarning,
  verifiedNothing,
  type ProbeReading,
} from '../../src/check/verdict.js';
import type { ModeEvidence, PhaseOutcome, StoreState, VolumeDiff } from '../../src/types/outcomes.js';

const ok = (stdout: string): ProbeReading => ({ stdout, stderr: '', exitCode: 0, timedOut: false });
const diff = (overrides: Partial<VolumeDiff> = {}): VolumeDiff => ({
  volume: 'shop_pgdata',
  policy: 'no-loss',
  ok: true,
  added: [],
  removed: [],
  changed: [],
  ...overrides,
});
const mode = (overrides: Partial<ModeEvidence> = {}): ModeEvidence => ({
  mode: 'recreate',
  effect: 'new containers',
  comparedWith: 'the evidence before any restart',
  probes: [{ probe: 'db: count', before: '3', after: '3', same: true }],
  volumes: [diff()],
  ...overrides,
});

describe('compareProbe: a probe passes when it succeeded both times and printed the same', () => {
  it('same output, both successful: same', () => {
    expect(compareProbe('db: count', ok('3\n'), ok('3'))).toEqual({
      probe: 'db: count',
      before: '3',
      after: '3',
      same: true,
    });
  });
  it('different output: changed', () => {
    expect(compareProbe('p', ok('3'), ok('2')).same).toBe(false);
  });
  it('leading whitespace counts, trailing does not', () => {
    expect(compareProbe('p', ok(' 3'), ok('3')).same).toBe(false);
    expect(compareProbe('p', ok('3  \n\n'), ok('3')).same).toBe(true);
  });
  it('a probe that failed both times the same way is not proof', () => {
    const failed: ProbeReading = { stdout: '', stderr: 'no such table', exitCode: 1, timedOut: false };
    const result = compareProbe('p', failed, failed);
    expect(result.same).toBe(false);
    expect(result.before).toBe('(exit 1) no such table');
  });
  it('a failure after shows its exit code and stderr', () => {
    const after: ProbeReading = { stdout: '', stderr: 'connection refused\n', exitCode: 2, timedOut: false };
    expect(compareProbe('p', ok('3'), after)).toMatchObject({
      after: '(exit 2) connection refused',
      same: false,
    });
  });
  it('a timed-out probe is marked, even with the same output', () => {
    const after: ProbeReading = { stdout: '3', stderr: '', exitCode: 143, timedOut: true };
    expect(compareProbe('p', ok('3'), after)).toMatchObject({ after: '(timed out) 3', same: false });
  });
  it('a probe that did not run after is changed', () => {
    expect(compareProbe('p', ok('3'), undefined)).toMatchObject({ after: '(not run)', same: false });
  });
});

describe('modePassed', () => {
  it('passes when every probe is the same and every volume is ok', () => {
    expect(modePassed(mode())).toBe(true);
  });
  it('fails on one changed probe', () => {
    const probes = [
      { probe: 'a', before: '1', after: '1', same: true },
      { probe: 'b', before: '1', after: '0', same: false },
    ];
    expect(modePassed(mode({ probes }))).toBe(false);
  });
  it('fails on one volume that lost files', () => {
    expect(modePassed(mode({ volumes: [diff(), diff({ ok: false, removed: ['x'] })] }))).toBe(false);
  });
  it('fails when the stack did not come back, whatever the (empty) evidence says', () => {
    expect(modePassed(mode({ error: 'not healthy: db', probes: [], volumes: [] }))).toBe(false);
  });
});

describe('modeFailure: one line naming the mode and what was lost', () => {
  it('names a stack error with the mode', () => {
    expect(modeFailure(mode({ error: 'after kill: not healthy: db (exited, exit code 1)' }))).toBe(
      'recreate: after kill: not healthy: db (exited, exit code 1)',
    );
  });
  it('names every changed probe and every volume that lost files', () => {
    const text = modeFailure(
      mode({
        probes: [{ probe: 'db: count', before: '3', after: '0', same: false }],
        volumes: [diff({ ok: false, removed: ['base/1/2'] })],
      }),
    );
    expect(text).toBe(
      'Data did not survive recreate: probe "db: count" changed; volume shop_pgdata lost 1 file(s) (base/1/2)',
    );
  });
});

describe('describeVolumeLoss', () => {
  it('samples five paths and says how many more', () => {
    const removed = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(describeVolumeLoss(diff({ ok: false, removed }))).toBe(
      'volume shop_pgdata lost 7 file(s) (a, b, c, d, e, …)',
    );
  });
  it('with the exact policy, changes and additions count too', () => {
    const text = describeVolumeLoss(
      diff({ policy: 'exact', ok: false, added: ['new'], changed: [{ path: 'old', fields: ['sha256'] }] }),
    );
    expect(text).toBe('volume shop_pgdata changed 2 (old, new)');
  });
  it('with no-loss, changes are not listed as a loss', () => {
    const text = describeVolumeLoss(
      diff({ ok: false, removed: ['gone'], changed: [{ path: 'old', fields: ['size'] }] }),
    );
    expect(text).toBe('volume shop_pgdata lost 1 file(s) (gone)');
  });
});

describe('judgeLayerAudit', () => {
  const findings = [{ service: 'app', path: '/appdata/orders.txt', kind: 'added' as const }];
  it('warns by default', () => {
    expect(judgeLayerAudit({ mode: 'warn', findings })).toEqual({
      failures: [],
      warnings: ['Files written outside volumes would be lost on re-creation: app:/appdata/orders.txt'],
    });
  });
  it('fails with layer-audit: fail', () => {
    expect(judgeLayerAudit({ mode: 'fail', findings }).failures).toHaveLength(1);
  });
  it('says nothing when off or when nothing was found', () => {
    expect(judgeLayerAudit({ mode: 'off', findings })).toEqual({ failures: [], warnings: [] });
    expect(judgeLayerAudit({ mode: 'fail', findings: [] })).toEqual({ failures: [], warnings: [] });
  });
});

describe('tests', () => {
  const passed = { where: 'host', command: 'true', exitCode: 0, timedOut: false, durationMs: 1 };
  const failed = { ...passed, command: 'false', exitCode: 1, failure: 'host: `false` exited 1' };
  it('a failed test is a failure in its own words', () => {
    expect(testFailures([passed, failed])).toEqual(['Test failed: host: `false` exited 1']);
  });
  it('a failed test stops the run; passing tests do not', () => {
    expect(stopsTheRun({ phase: 'tests', tests: [passed, failed] })).toBe(true);
    expect(stopsTheRun({ phase: 'tests', tests: [passed] })).toBe(false);
    expect(stopsTheRun({ phase: 'layer-audit', audit: { mode: 'fail', findings: [] } })).toBe(false);
  });
});

describe('judgeRun', () => {
  const restarts = (modes: ModeEvidence[], extra: Partial<PhaseOutcome> = {}): PhaseOutcome =>
    ({
      phase: 'restarts',
      brokenProbes: [],
      modes,
      notices: [],
      ...extra,
    }) as PhaseOutcome;

  it('passes a run whose every mode kept the data', () => {
    expect(judgeRun([{ phase: 'up', anonymous: [] }, restarts([mode(), mode({ mode: 'kill' })])])).toEqual({
      result: 'passed',
      failures: [],
      warnings: [],
    });
  });
  it('fails on one lost mode among good ones, naming only that one', () => {
    const lost = mode({ mode: 'kill', probes: [{ probe: 'p', before: '1', after: '0', same: false }] });
    const verdict = judgeRun([restarts([mode(), lost])]);
    expect(verdict.result).toBe('failed');
    expect(verdict.failures).toEqual(['Data did not survive kill: probe "p" changed']);
  });
  it('probes broken before any restart are failures', () => {
    const verdict = judgeRun([
      restarts([], { brokenProbes: ['db: `psql` exited 2'] } as Partial<PhaseOutcome>),
    ]);
    expect(verdict.failures).toEqual(['Probe failed before any restart: db: `psql` exited 2']);
  });
  it('anonymous volumes and notices are warnings, not failures', () => {
    const verdict = judgeRun([
      { phase: 'up', anonymous: ['db:/var/lib/postgresql/data'] },
      restarts([], { notices: ['engine restarted'] } as Partial<PhaseOutcome>),
      { phase: 'archive', archives: [], notices: ['x changed while it was archived'] },
    ]);
    expect(verdict.result).toBe('passed');
    expect(verdict.warnings).toEqual([
      'Anonymous volume at db:/var/lib/postgresql/data: its data is lost on down-up (map a named volume there).',
      'engine restarted',
      'x changed while it was archived',
    ]);
  });
  it('failures keep the order the phases found them, and the error that ended the run comes last', () => {
    const verdict = judgeRun(
      [
        {
          phase: 'layer-audit',
          audit: { mode: 'fail', findings: [{ service: 'a', path: '/x', kind: 'added' }] },
        },
        restarts([mode({ error: 'not healthy' })]),
      ],
      { message: 'engine lost' },
    );
    expect(verdict.failures).toEqual([
      'Files written outside volumes would be lost on re-creation: a:/x',
      'recreate: not healthy',
      'engine lost',
    ]);
  });
  it('an error alone fails the run', () => {
    expect(judgeRun([], { message: 'compose up failed' }).result).toBe('failed');
  });
});

describe('a mode in which nothing was verified fails', () => {
  const nothing = mode({ mode: 'down-up', probes: [], volumes: [] });
  it('no probe and no place read: fails, saying what to add', () => {
    expect(verifiedNothing(nothing)).toBe(true);
    expect(modePassed(nothing)).toBe(false);
    expect(modeFailure(nothing)).toBe(
      'down-up: nothing was verified (no probe, and no volume or bind mount was read): add a probe, or keep the data in a named volume.',
    );
  });
  it('no probe and only an empty volume: an unchanged nothing proves nothing either', () => {
    const empty = mode({ probes: [], volumes: [diff({ filesBefore: 0 })] });
    expect(modePassed(empty)).toBe(false);
    expect(modeFailure(empty)).toMatch(
      /^recreate: nothing was verified \(no probe, and the 1 place\(s\) read held no files\)/,
    );
  });
  it('a volume that held files is evidence, and so is a probe alone', () => {
    expect(
      modePassed(mode({ probes: [], volumes: [diff({ filesBefore: 0 }), diff({ filesBefore: 3 })] })),
    ).toBe(true);
    expect(modePassed(mode({ volumes: [] }))).toBe(true);
  });
  it('a place whose only files are transient (left out by a known store) proves nothing', () => {
    const transient = mode({ probes: [], volumes: [diff({ filesBefore: 3, filesVerified: 0 })] });
    expect(verifiedNothing(transient)).toBe(true);
    expect(modePassed(transient)).toBe(false);
    expect(modeFailure(transient)).toBe(
      'recreate: nothing was verified (no probe, and the 1 place(s) read held only transient files (left out by a known store or an ignore glob)): add a probe, or keep the data in a named volume.',
    );
    expect(modePassed(mode({ probes: [], volumes: [diff({ filesBefore: 3, filesVerified: 1 })] }))).toBe(
      true,
    );
  });
  it('a diff from an older report (no file count) counts as evidence', () => {
    expect(verifiedNothing(mode({ probes: [] }))).toBe(false);
  });
  it('judgeRun fails the run on it', () => {
    const verdict = judgeRun([{ phase: 'restarts', brokenProbes: [], modes: [nothing], notices: [] }]);
    expect(verdict.result).toBe('failed');
    expect(verdict.failures[0]).toMatch(/^down-up: nothing was verified/);
  });
});

describe('describeVolumeLoss: every kind of place, every kind of loss', () => {
  it('an append-only file that shrank is named as a lost tail, and fails no-loss', () => {
    const shrunk = diff({
      volume: 'shop_redis',
      ok: false,
      changed: [{ path: 'appendonlydir/appendonly.aof.1.incr.aof', fields: ['size', 'mtime', 'sha256'] }],
      shrunk: ['appendonlydir/appendonly.aof.1.incr.aof'],
      counts: { added: 0, removed: 0, changed: 1, typeChanged: 0, shrunk: 1 },
    });
    expect(describeVolumeLoss(shrunk)).toBe(
      'volume shop_redis lost the tail of 1 append-only file(s) (appendonlydir/appendonly.aof.1.incr.aof: shorter than before)',
    );
  });
  it('exact with files only changed lists what changed (never an empty "lost")', () => {
    const text = describeVolumeLoss(
      diff({ policy: 'exact', ok: false, changed: [{ path: 'PG_VERSION', fields: ['sha256'] }] }),
    );
    expect(text).toBe('volume shop_pgdata changed 1 (PG_VERSION)');
    expect(text).not.toMatch(/lost/);
  });
  it('no-loss: a file that became a directory is named', () => {
    const text = describeVolumeLoss(
      diff({ ok: false, changed: [{ path: 'data', fields: ['type', 'mode'] }] }),
    );
    expect(text).toBe('volume shop_pgdata changed the type of 1 (data)');
  });
  it('a bind mount is named by its source and where it is mounted', () => {
    const text = describeVolumeLoss(
      diff({
        volume: '/src/pgdata',
        kind: 'bind',
        mountedAt: ['db:/var/lib/postgresql/data'],
        ok: false,
        removed: ['PG_VERSION'],
      }),
    );
    expect(text).toBe('bind mount /src/pgdata (db:/var/lib/postgresql/data) lost 1 file(s) (PG_VERSION)');
  });
  it('an anonymous volume replaced by down-up names the service, the path and the fix', () => {
    const text = describeVolumeLoss(
      diff({
        volume: 'db:/var/lib/postgresql/data',
        kind: 'anonymous',
        replaced: true,
        filesBefore: 970,
        ok: false,
      }),
    );
    expect(text).toBe(
      'anonymous volume at db:/var/lib/postgresql/data was replaced by a new one: its 970 file(s) are gone: map a named volume at /var/lib/postgresql/data',
    );
  });
  it('a replica of a scaled service gets the fix without its number', () => {
    const text = describeVolumeLoss(
      diff({ volume: 'db:/data #2', kind: 'anonymous', ok: false, removed: ['x'] }),
    );
    expect(text).toBe('anonymous volume at db:/data #2 lost 1 file(s) (x): map a named volume at /data');
  });
  it('a place that cannot be read after the restart says why', () => {
    const text = describeVolumeLoss(
      diff({
        volume: '/src/data',
        kind: 'bind',
        mountedAt: ['app:/data'],
        ok: false,
        unreadable: 'bind source path does not exist',
      }),
    );
    expect(text).toBe(
      'bind mount /src/data (app:/data) could not be read after the restart (bind source path does not exist)',
    );
  });
});

describe('places no restart verifies are named in the verdict', () => {
  it('tmpfs and unreadable binds: one warning listing them', () => {
    const verdict = judgeRun([
      {
        phase: 'restarts',
        brokenProbes: [],
        modes: [mode()],
        notices: [],
        unverified: ['app:/data (tmpfs: emptied by every restart)', 'app:/etc/x.conf (bind: a single file)'],
      },
    ]);
    expect(verdict.result).toBe('passed');
    expect(verdict.warnings).toEqual([
      'Not verified by any restart: app:/data (tmpfs: emptied by every restart); app:/etc/x.conf (bind: a single file).',
    ]);
  });
  it('nothing unverified: no warning', () => {
    expect(unverifiedWarning([])).toEqual([]);
  });
});

describe('suspiciousVolumes: an empty volume while its service kept data elsewhere', () => {
  const store = (overrides: Partial<StoreState>): StoreState => ({
    kind: 'volume',
    name: 'shop_pgdata',
    mountedAt: ['db:/var/lib/postgresql'],
    files: 0,
    bytes: 0,
    ...overrides,
  });
  const restartsWith = (stores: StoreState[]): PhaseOutcome => ({
    phase: 'restarts',
    brokenProbes: [],
    modes: [],
    notices: [],
    stores,
  });
  it('names the anonymous volume the data went to', () => {
    const warnings = suspiciousVolumes([
      restartsWith([
        store({}),
        store({ kind: 'anonymous', name: 'db:/var/lib/postgresql/data', files: 970 }),
      ]),
    ]);
    expect(warnings).toEqual([
      'Volume shop_pgdata is empty after the tests (an archive of it holds nothing), while its service kept data in anonymous volume db:/var/lib/postgresql/data (970 file(s)): mount the volume where the service writes.',
    ]);
  });
  it('names files in the writable layer', () => {
    const warnings = suspiciousVolumes([
      {
        phase: 'layer-audit',
        audit: { mode: 'warn', findings: [{ service: 'db', path: '/srv/db.sqlite', kind: 'added' }] },
      },
      restartsWith([store({})]),
    ]);
    expect(warnings).toEqual([
      expect.stringContaining('kept data in the writable layer (db:/srv/db.sqlite)'),
    ]);
  });
  it('no warning for a volume that holds files, or when the data is another service’s', () => {
    expect(
      suspiciousVolumes([
        restartsWith([
          store({ files: 3 }),
          store({ kind: 'anonymous', name: 'db:/var/lib/postgresql/data', files: 970 }),
        ]),
      ]),
    ).toEqual([]);
    expect(
      suspiciousVolumes([
        restartsWith([store({}), store({ kind: 'anonymous', name: 'cache:/data', files: 5 })]),
      ]),
    ).toEqual([]);
  });
  it('judgeRun adds it as a warning, not a failure', () => {
    const verdict = judgeRun([
      restartsWith([store({}), store({ kind: 'anonymous', name: 'db:/var/lib/postgresql/data', files: 1 })]),
    ]);
    expect(verdict.result).toBe('passed');
    expect(verdict.warnings[0]).toMatch(/^Volume shop_pgdata is empty after the tests/);
  });
});

describe('after a loss, no mode stands as proof on its own', () => {
  const lost = mode({ mode: 'kill', probes: [{ probe: 'p', before: '1000', after: '0', same: false }] });
  it('modes after a failed one name the loss they were compared against', () => {
    expect(
      judgeModes([mode({ mode: 'restart' }), lost, mode({ mode: 'recreate' }), mode({ mode: 'down-up' })]),
    ).toEqual([
      { passed: true },
      { passed: false },
      { passed: true, afterLoss: 'kill' },
      { passed: true, afterLoss: 'kill' },
    ]);
  });
  it('the first loss is named for the summary’s first line, even when later modes fail too', () => {
    const later = mode({ mode: 'down-up', volumes: [diff({ ok: false, removed: ['x'] })] });
    const verdict = judgeRun([
      { phase: 'restarts', brokenProbes: [], notices: [], modes: [mode({ mode: 'restart' }), lost, later] },
    ]);
    expect(verdict.firstLoss).toBe('Data did not survive kill: probe "p" changed');
    expect(verdict.failures).toHaveLength(2);
  });
  it('a clean run names no loss', () => {
    expect(
      judgeRun([{ phase: 'restarts', brokenProbes: [], notices: [], modes: [mode()] }]),
    ).not.toHaveProperty('firstLoss');
  });
  it('a write command that failed fails the run, saying the modes after it were not run', () => {
    const verdict = judgeRun([
      {
        phase: 'restarts',
        brokenProbes: [],
        notices: [],
        modes: [mode({ mode: 'kill' })],
        writeFailures: ['before restart (round 2): db: `psql` exited 1'],
      },
    ]);
    expect(verdict.failures).toEqual([
      'Write failed before restart (round 2): db: `psql` exited 1: the modes after it were not run.',
    ]);
  });
});
