import { describe, expect, it } from 'vitest';
import { crashLoadLine, crashRoundProblem, judgeCrashLoad, judgeRun } from '../../src/check/verdict.js';
import type { CrashLoadOutcome, CrashRound } from '../../src/types/outcomes.js';

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
  ...overrides,
});
const crash = (rounds: CrashRound[], roundsPlanned = rounds.length): CrashLoadOutcome => ({
  services: ['db'],
  seed: 4242,
  roundsPlanned,
  rounds,
});

describe('judgeCrashLoad: every acknowledged write survives a SIGKILL under load', () => {
  it('rounds that lost nothing pass, and the line counts them', () => {
    const outcome = crash([round(), round({ round: 2, seed: 7, acknowledged: 20 })]);
    expect(judgeCrashLoad(outcome)).toEqual({ failures: [], warnings: [] });
    expect(crashLoadLine(outcome)).toBe('crash under load: 2 rounds, 200 acknowledged writes, 0 lost');
  });

  it('a missing token fails with the count, the first few lost, and the round seed to replay', () => {
    const lossy = round({ round: 2, seed: 99, lost: 7, firstLost: ['41', '42', '43', '44', '45'] });
    const { failures } = judgeCrashLoad(crash([round(), lossy]));
    expect(failures).toEqual([
      'Acknowledged writes did not survive a crash under load: round 2 (seed 99) lost 7 of 180 after the SIGKILL of db (first lost: 41, 42, 43, 44, 45, …); the store acknowledged writes before they were durable (e.g. synchronous_commit=off, appendonly no). Replay with crash-seed: 99 and crash-rounds: 1.',
    ]);
    expect(crashLoadLine(crash([round(), lossy]))).toBe(
      'crash under load: 2 rounds, 360 acknowledged writes, 7 lost',
    );
  });

  it('the loss is the run’s first loss and fails it', () => {
    const lossy = round({ lost: 1, firstLost: ['5'] });
    const verdict = judgeRun([{ phase: 'crash-load', crash: crash([lossy]) }]);
    expect(verdict.result).toBe('failed');
    expect(verdict.firstLoss).toMatch(/round 1 \(seed 4242\) lost 1 of 180 .*first lost: 5\)/);
  });

  it.each<[string, Partial<CrashRound>, RegExp]>([
    [
      'a load that exited at once',
      { acknowledged: 0, endedBeforeCrash: 'exited 127: sh: psq: not found' },
      /ended before it printed a token: exited 127: sh: psq: not found/,
    ],
    ['a load that printed nothing', { acknowledged: 0 }, /printed no token/],
    [
      'a load that printed garbage',
      { acknowledged: 3, garbage: 'INSERT 0 1' },
      /printed "INSERT 0 1", which is not a token/,
    ],
    [
      'a load that stopped writing before the crash',
      { endedBeforeCrash: 'exited 0' },
      /ended before the crash: exited 0; it must keep writing/,
    ],
    ['a load that outlived its grace', { outlivedGrace: true }, /ignored SIGTERM .* had to be killed/],
    [
      'a load that left a process behind',
      { leftovers: ['db: sh -c while true'] },
      /left processes running .*db: sh -c while true/,
    ],
    ['duplicate tokens', { duplicates: 2, firstDuplicate: '9' }, /printed 2 token\(s\) twice \(first: 9\)/],
    [
      'a stack that did not come back',
      { error: 'after the crash: not healthy: db (exited, exit code 1)', lost: undefined },
      /not healthy: db/,
    ],
    ['a store that was not read back', { lost: undefined }, /not read back/],
  ])('%s is an error: the round is no proof, even with nothing lost', (_, overrides, reason) => {
    const bad = round({ round: 3, seed: 11, ...overrides });
    expect(crashRoundProblem(bad)).toMatch(reason);
    const { failures } = judgeCrashLoad(crash([round(), bad]));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^Crash round 3 \(seed 11\) is no proof: /);
    expect(crashLoadLine(crash([round(), bad], 3))).toMatch(
      /^crash under load: 2 rounds of 3, .*, 1 no proof$/,
    );
  });

  it('a round that lost tokens but is no proof is reported as no proof, not counted as lost', () => {
    const bad = round({ garbage: 'x y', lost: 3, firstLost: ['1'] });
    expect(judgeCrashLoad(crash([bad])).failures).toEqual([
      expect.stringMatching(/is no proof: the load printed "x y"/),
    ]);
    expect(judgeRun([{ phase: 'crash-load', crash: crash([bad]) }]).firstLoss).toBeUndefined();
  });

  it('no round at all, or fewer than asked for, is a failure; no load configured is nothing to judge', () => {
    expect(judgeCrashLoad(crash([], 3)).failures).toEqual(['Crash under load: no round ran.']);
    expect(judgeCrashLoad(crash([round()], 3)).failures).toEqual([
      'Crash under load: only 1 of 3 rounds ran.',
    ]);
    expect(judgeRun([{ phase: 'crash-load' }]).result).toBe('passed');
  });
});
