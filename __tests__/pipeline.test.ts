import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { keepingPartial, type Phase, type StartPhase } from '../src/phases/phase.js';
import { runPhaseTable } from '../src/pipeline.js';
import { Compose } from '../src/docker/compose.js';
import { StackError } from '../src/stack/lifecycle.js';
import type { PhaseOutcome } from '../src/types/outcomes.js';
import { engineWith } from './__fixtures__/engine.js';
import { phaseInput } from './__fixtures__/phase-input.js';

const base = () => {
  const { input, log } = phaseInput(engineWith([]));
  return {
    base: { settings: input.settings, ctx: input.ctx, log: input.log, stack: input.stack, archiveTo: [] },
    log,
  };
};
const ran: string[] = [];
const phase = (name: Phase['name'], outcome: PhaseOutcome, timing?: string): Phase => ({
  name,
  timing,
  run: async () => {
    ran.push(name);
    return outcome;
  },
});
const start: StartPhase = {
  name: 'up',
  timing: 'up',
  start: async (input) => {
    ran.push('up');
    return {
      outcome: { phase: 'up', anonymous: [] },
      running: { ...input.stack, baseline: new Map(), commandEnv: async () => ({}) },
    };
  },
};
const restartsOutcome: PhaseOutcome = { phase: 'restarts', brokenProbes: [], modes: [], notices: [] };
const failedTest: PhaseOutcome = {
  phase: 'tests',
  tests: [
    {
      where: 'host',
      command: 'false',
      exitCode: 1,
      timedOut: false,
      durationMs: 1,
      failure: 'host: `false` exited 1',
    },
  ],
};

describe('runPhaseTable', () => {
  it('runs the phases in order, times those with a timing key, and passes a clean run', async () => {
    ran.length = 0;
    const report = await runPhaseTable([start, phase('restarts', restartsOutcome, 'check')], base().base);
    expect(ran).toEqual(['up', 'restarts']);
    expect(report.result).toBe('passed');
    expect(Object.keys(report.timings)).toEqual(['up', 'check']);
    expect(report.finishedAt).toBeDefined();
    expect(report.volumes.map((v) => v.name)).toEqual(['shop_pgdata']);
  });
  it('a failed test stops the run: nothing after it runs, and there is no volume summary', async () => {
    ran.length = 0;
    const report = await runPhaseTable(
      [start, phase('tests', failedTest), phase('restarts', restartsOutcome)],
      base().base,
    );
    expect(ran).toEqual(['up', 'tests']);
    expect(report.failures).toEqual(['Test failed: host: `false` exited 1']);
    expect(report.volumes).toEqual([]);
  });
  it('a phase that throws ends the run with its error in the report (never thrown to the caller)', async () => {
    ran.length = 0;
    const broken: Phase = { name: 'archive', run: async () => Promise.reject(new UserError('store full')) };
    const report = await runPhaseTable([start, broken, phase('restarts', restartsOutcome)], base().base);
    expect(ran).toEqual(['up']);
    expect(report).toMatchObject({ result: 'failed', failures: ['store full'] });
  });
  it('what a phase found before it failed is kept: earlier modes and their verdicts stay in the report', async () => {
    const lost = {
      mode: 'kill',
      effect: 'e',
      comparedWith: 'the evidence before any restart',
      probes: [{ probe: 'p', before: '1', after: '0', same: false }],
      volumes: [],
    };
    const partial: Phase = {
      name: 'restarts',
      run: () =>
        keepingPartial({ ...restartsOutcome, modes: [lost] }, async () => {
          throw new Error('fingerprint failed');
        }),
    };
    const { base: input, log } = base();
    const report = await runPhaseTable([start, partial], input);
    expect(report.modes).toEqual([{ ...lost, passed: false }]);
    expect(report.failures).toEqual(['Data did not survive kill: probe "p" changed', 'fingerprint failed']);
    expect(log.lines.some((l) => l.startsWith('debug: Error: fingerprint failed'))).toBe(true);
  });
  it('a stack that does not come up: its services’ logs are in the report', async () => {
    const logs = [{ service: 'db', container: 'shop-db-1', state: 'exited, exit code 1', tail: 'FATAL' }];
    const failing: StartPhase = {
      name: 'up',
      start: async () => Promise.reject(new StackError('not healthy: db', logs)),
    };
    const report = await runPhaseTable([failing], base().base);
    expect(report).toMatchObject({ result: 'failed', failures: ['not healthy: db'], serviceLogs: logs });
  });

  it('what compose asked lands in the log and the report as a warning, once, even from a phase that failed', async () => {
    const question = (volume: string) =>
      `Volume "${volume}" exists but doesn't match configuration in compose file. Recreate (data will be lost)?`;
    const { base: input, log } = base();
    // A stand-in compose that prints its argument as compose 2.40 prints its question (on every up).
    const compose = new Compose(
      { tool: 'sh', prefix: ['-c', 'printf "%s" "$0"'] },
      { files: [], projectName: '', profiles: [], cwd: '/' },
    );
    const asking: StartPhase = {
      ...start,
      start: async (phaseInput) => {
        await compose.run([question('shop_pgdata')]);
        return start.start(phaseInput);
      },
    };
    const failing: Phase = {
      name: 'restarts',
      run: async () => {
        await compose.run([question('shop_pgdata')]); // asked again by the next up: not a new warning
        await compose.run([question('shop_other')]);
        throw new Error('restart failed');
      },
    };
    const report = await runPhaseTable([asking, failing], { ...input, stack: { ...input.stack, compose } });
    const asked = report.warnings.filter((w) => w.startsWith('Compose asked'));
    expect(asked).toHaveLength(2);
    expect(asked[0]).toContain(question('shop_pgdata'));
    expect(asked[0]).toContain('docker volume rm shop_pgdata');
    expect(asked[1]).toContain(question('shop_other'));
    expect(report.failures).toEqual(['restart failed']);
    expect(log.lines.filter((l) => l.startsWith('warning: Compose asked'))).toEqual(
      asked.map((w) => `warning: ${w}`),
    );
  });
});
