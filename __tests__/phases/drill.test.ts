import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgePhase } from '../../src/check/verdict.js';
import { UserError } from '../../src/errors.js';
import { drillPhase } from '../../src/phases/drill.js';
import type { RunningStack } from '../../src/phases/phase.js';
import type { PhaseOutcome, SeedOutcome } from '../../src/types/outcomes.js';
import { fakeEngine } from '../__fixtures__/engine.js';
import { phaseInput, settingsFrom } from '../__fixtures__/phase-input.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cp-drill-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const seed = (over: Partial<SeedOutcome> = {}): SeedOutcome => ({
  volume: 'shop_pgdata',
  source: 'path:pgdata.tar.zst',
  files: 1,
  bytes: 1,
  digest: 'sha256:x',
  durationMs: 1,
  key: '/b/pgdata.tar.zst',
  times: { decryptMs: 0, writeMs: 1500, readBackMs: 500 },
  ...over,
});

/** The drill phase after a seed that began `agoMs` ago, on a running stack or (seed sub-action) none. */
async function runDrill(
  inputs: Record<string, string>,
  seeds: SeedOutcome[],
  options: { running?: boolean; agoMs?: number; upMs?: number } = {},
) {
  const { input } = phaseInput(fakeEngine({}), { settings: settingsFrom(inputs) });
  const seedOutcome: PhaseOutcome = {
    phase: 'seed',
    seeds,
    startedAt: new Date(Date.now() - (options.agoMs ?? 3000)).toISOString(),
    downloadMs: 200,
  };
  input.earlier = () => ({ outcomes: [seedOutcome], timings: { seed: 2500, up: options.upMs ?? 400 } });
  if (options.running) {
    const running: RunningStack = {
      ...input.stack,
      baseline: new Map(),
      commandEnv: () => Promise.resolve({ PATH: process.env.PATH ?? '' }),
    };
    input.running = running;
  }
  const outcome = await drillPhase.run(input);
  if (outcome.phase !== 'drill') throw new Error('not a drill outcome');
  return outcome;
}

describe('the drill phase', () => {
  it('asks the probes and holds them to the answers the seeded archive recorded', async () => {
    const recorded = {
      recordedAt: '2026-12-07T03:00:00.000Z',
      probes: [
        { probe: 'host: echo 3', output: '3' },
        { probe: 'host: echo 4', output: '3' },
      ],
    };
    const { drill } = await runDrill(
      { probes: 'host: echo 3\nhost: echo 4\nhost: date', 'uncompared-probes': 'host: date' },
      [seed({ recorded })],
      { running: true },
    );
    expect(drill?.probes.map((p) => [p.probe, p.compared, p.same])).toEqual([
      ['host: echo 3', true, true],
      ['host: echo 4', true, false],
      ['host: date', false, undefined],
    ]);
    expect(judgePhase({ phase: 'drill', drill }).failures).toEqual([
      'Restore drill: probe "host: echo 4" does not answer as at backup time: expected "3" (the manifest of /b/pgdata.tar.zst), got "4".',
    ]);
    expect(drill?.stackStarted).toBe(true);
    expect(drill?.restore.parts).toMatchObject({
      downloadMs: 200,
      writeMs: 1500,
      readBackMs: 500,
      upMs: 400,
    });
    expect(drill?.restore.totalMs).toBeGreaterThanOrEqual(3000);
  });

  it('fails a recorded probe the run does not ask', async () => {
    const recorded = { recordedAt: 'x', probes: [{ probe: 'host: echo 3', output: '3' }] };
    const { drill } = await runDrill({}, [seed({ recorded })], { running: true });
    expect(drill?.unrun).toEqual([{ probe: 'host: echo 3', from: 'the manifest of /b/pgdata.tar.zst' }]);
  });

  it('takes a foreign backup’s answers from expected-probes', async () => {
    const file = path.join(dir, 'expected.json');
    await writeFile(file, JSON.stringify({ probes: [{ probe: 'host: echo ok', output: 'ok' }] }));
    const { drill } = await runDrill(
      { probes: 'host: echo ok', 'expected-probes': file },
      [seed({ foreign: true })],
      { running: true },
    );
    expect(drill?.probes).toEqual([
      {
        probe: 'host: echo ok',
        expected: 'ok',
        expectedFrom: `expected-probes ${file}`,
        actual: 'ok',
        compared: true,
        same: true,
      },
    ]);
  });

  it('refuses an expected-probes file it cannot read, naming the input', async () => {
    const missing = path.join(dir, 'nope.json');
    const error = await runDrill({ 'expected-probes': missing }, [seed()], { running: true }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain(`Input 'expected-probes': ${missing} cannot be read (ENOENT)`);
  });

  it('in the seed sub-action (no stack) times the seed alone and asks nothing', async () => {
    const recorded = { recordedAt: 'x', probes: [{ probe: 'host: echo 3', output: '3' }] };
    const { drill } = await runDrill({ 'restore-time-budget': '1s' }, [seed({ recorded })], { agoMs: 5000 });
    expect(drill).toMatchObject({ stackStarted: false, probes: [], unrun: [], budgetMs: 1000 });
    expect(drill?.restore.parts).toMatchObject({ upMs: 0, probesMs: 0 });
    expect(judgePhase({ phase: 'drill', drill }).failures[0]).toMatch(
      /^Restore took \d+\.\d s, over restore-time-budget 1\.0 s \(the seed alone: this step does not start the stack\): /,
    );
  });

  it('nothing seeded: no drill, and a warning when a budget asked for one', async () => {
    expect(await runDrill({}, [])).toEqual({ phase: 'drill' });
    const outcome = await runDrill({ 'restore-time-budget': '5m' }, []);
    expect(judgePhase(outcome).warnings).toEqual([
      'restore-time-budget is set, but this run seeded nothing (no seed line, or seed-optional found no archive): no restore was timed.',
    ]);
  });
});
