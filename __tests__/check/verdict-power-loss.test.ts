import { describe, expect, it } from 'vitest';
import { crashLoadLine, crashRoundNoProof, judgeCrashLoad, judgeRun } from '../../src/check/verdict.js';
import type { CrashLoadOutcome, CrashRound, PowerCut } from '../../src/types/outcomes.js';

const cut = (overrides: Partial<PowerCut> = {}): PowerCut => ({
  droppedBlocks: 12,
  discardedWrites: 30,
  overflowed: false,
  remountMs: 400,
  ...overrides,
});
const round = (overrides: Partial<CrashRound> = {}): CrashRound => ({
  round: 1,
  seed: 4242,
  plannedLoadMs: 1500,
  loadMs: 1510,
  acknowledged: 180,
  duplicates: 0,
  recoveryMs: 2100,
  lost: 0,
  firstLost: [],
  powerCut: cut(),
  ...overrides,
});
const power = (rounds: CrashRound[], extra: Partial<CrashLoadOutcome> = {}): CrashLoadOutcome => ({
  kind: 'power-loss',
  services: ['db'],
  seed: 4242,
  roundsPlanned: rounds.length,
  rounds,
  power: {
    places: [{ name: 'volume p_pgdata', path: '/v', bytes: 1000, copyMs: 30 }],
    setupMs: 2000,
    cleaned: [],
  },
  ...extra,
});

describe('judgeCrashLoad with crash-kind power-loss: no proof is a failure, never a pass', () => {
  it('rounds whose cut worked and lost nothing pass', () => {
    const outcome = power([round(), round({ round: 2, seed: 7 })]);
    expect(judgeCrashLoad(outcome)).toEqual({ failures: [], warnings: [] });
    expect(crashLoadLine(outcome)).toBe('power loss under load: 2 rounds, 360 acknowledged writes, 0 lost');
  });

  it('a loss names the power cut and what makes a store lose to one', () => {
    const { failures } = judgeCrashLoad(power([round({ lost: 180, firstLost: ['1', '2'] })]));
    expect(failures).toEqual([
      'Acknowledged writes did not survive a power cut under load: round 1 (seed 4242) lost 180 of 180 after the SIGKILL and power cut of db (first lost: 1, 2, …); the store acknowledged writes before it made them durable with fsync (e.g. fsync=off, appendfsync everysec, innodb_flush_log_at_trx_commit=2, a writer that never fsyncs). Replay with crash-seed: 4242 and crash-rounds: 1.',
    ]);
  });

  it.each<[string, Partial<CrashRound>, RegExp]>([
    [
      'an unsynced canary that survived (the cut dropped nothing)',
      { powerCut: cut({ canaryProblem: '/v: the unsynced canary survived the cut' }) },
      /is no proof: the power cut is not shown to have worked \(\/v: the unsynced canary survived the cut\)/,
    ],
    [
      'a synced canary that was lost',
      { powerCut: cut({ canaryProblem: '/v: the synced canary was lost' }) },
      /the power cut is not shown to have worked \(\/v: the synced canary was lost\)/,
    ],
    [
      'a disk past its memory cap',
      { powerCut: cut({ overflowed: true }) },
      /held more unflushed writes than its memory cap/,
    ],
    [
      'a round without a cut at all',
      { powerCut: undefined },
      /no power cut was made after the SIGKILL, so only a process crash was tested/,
    ],
  ])('%s: no proof, and the run fails (even with 0 lost)', (_, overrides, message) => {
    const outcome = power([round(overrides)]);
    const { failures } = judgeCrashLoad(outcome);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(message);
    expect(crashRoundNoProof(outcome, outcome.rounds[0] as CrashRound)).toBeDefined();
    expect(crashLoadLine(outcome)).toMatch(/1 no proof$/);
    expect(judgeRun([{ phase: 'crash-load', crash: outcome }]).result).toBe('failed');
  });

  it('a process crash needs no power cut', () => {
    expect(judgeCrashLoad(power([round({ powerCut: undefined })], { kind: 'process' })).failures).toEqual([]);
    expect(judgeCrashLoad(power([round({ powerCut: undefined })], { kind: undefined })).failures).toEqual([]);
  });

  it('a real place that changed, or disks not taken down, fail the run', () => {
    const base = power([round()]);
    const changed = power([round()], { power: { ...base.power!, changed: ['/v'] } });
    expect(judgeCrashLoad(changed).failures).toEqual([
      'Power loss: /v changed while the lazy disk was over it (it must never be written): report this as a bug.',
    ]);
    const stuck = power([round()], { power: { ...base.power!, teardownError: 'umount: target is busy' } });
    expect(judgeCrashLoad(stuck).failures[0]).toMatch(
      /^Power loss: the lazy disks were not all taken down \(umount: target is busy\)/,
    );
  });
});
