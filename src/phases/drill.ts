import { readFile } from 'node:fs/promises';
import {
  compareAnswers,
  gatherExpectations,
  parseExpectedProbes,
  restoreTimeOf,
  unrunProbes,
  type ExpectationSource,
} from '../check/drill.js';
import { askProbes, PROBE_TIMEOUT_MS, type ProbeAnswer } from '../check/probe-answers.js';
import { Inputs } from '../constants.js';
import { resolveIn, workingDirOf, type RunnerContext } from '../context.js';
import { UserError } from '../errors.js';
import type { Settings } from '../inputs.js';
import type { Log } from '../log.js';
import type { PhaseOutcome, SeedOutcome } from '../types/outcomes.js';
import type { DrillOutcome } from '../types/restore.js';
import type { Phase, PhaseInput, RunningStack } from './phase.js';

export type DrillSettings = Pick<
  Settings,
  'probes' | 'uncomparedProbes' | 'expectedProbes' | 'restoreTimeBudgetMs' | 'seeds'
>;

type SeedPhaseOutcome = Extract<PhaseOutcome, { phase: 'seed' }>;

/**
 * The restore drill, right after the stack came up healthy from the seeded volumes (before any test writes):
 * the probes are asked and compared with the answers the seeded archives recorded (or expected-probes), and
 * the restore's time is measured from the start of the seed. In the seed sub-action (no stack started) it
 * measures the seed alone. Nothing seeded and no expected-probes: no drill.
 */
export const drillPhase: Phase = {
  name: 'drill',
  timing: 'drill',
  async run(input: PhaseInput): Promise<PhaseOutcome> {
    const { outcomes, timings } = input.earlier?.() ?? { outcomes: [], timings: {} };
    const seed = outcomes.find((o): o is SeedPhaseOutcome => o.phase === 'seed');
    const seeds = seed?.seeds ?? [];
    if (seeds.length === 0 && !input.settings.expectedProbes) {
      if (input.settings.restoreTimeBudgetMs === undefined) return { phase: 'drill' };
      return {
        phase: 'drill',
        notice: `${Inputs.RestoreTimeBudget} is set, but this run seeded nothing (no seed line, or seed-optional found no archive): no restore was timed.`,
      };
    }
    const drill = await runDrill(input.settings, input.ctx, input.running, input.log, {
      seed,
      upMs: timings.up ?? 0,
    });
    return { phase: 'drill', drill };
  },
};

async function runDrill(
  settings: DrillSettings,
  ctx: RunnerContext,
  running: RunningStack | undefined,
  log: Log,
  earlier: { seed?: SeedPhaseOutcome; upMs: number },
): Promise<DrillOutcome> {
  const sources = [...recordedIn(earlier.seed?.seeds ?? []), ...(await expectedFile(settings, ctx))];
  const { expected, conflicts } = gatherExpectations(sources);
  const asked = Date.now();
  const answers: ProbeAnswer[] = running
    ? await log.group('Restore drill: ask the probes', async () =>
        askProbes(running.compose, settings.probes, {
          env: await running.commandEnv(),
          cwd: running.workingDir,
          timeoutMs: PROBE_TIMEOUT_MS,
        }),
      )
    : [];
  const restoredAt = new Date();
  const startedAt = earlier.seed?.startedAt ?? restoredAt.toISOString();
  const restore = restoreTimeOf({
    totalMs: restoredAt.getTime() - Date.parse(startedAt),
    downloadMs: earlier.seed?.downloadMs ?? 0,
    seeds: (earlier.seed?.seeds ?? []).flatMap((s) => (s.times ? [s.times] : [])),
    upMs: running ? earlier.upMs : 0,
    probesMs: running ? restoredAt.getTime() - asked : 0,
  });
  return {
    startedAt,
    restoredAt: restoredAt.toISOString(),
    restore,
    ...(settings.restoreTimeBudgetMs === undefined ? {} : { budgetMs: settings.restoreTimeBudgetMs }),
    stackStarted: running !== undefined,
    probes: compareAnswers(answers, expected, settings.uncomparedProbes),
    // Without a running stack (the seed sub-action) no probe is asked: there is nothing to hold against them.
    unrun: running ? unrunProbes(expected, answers) : [],
    conflicts,
  };
}

/** The answers each seeded archive recorded at backup time. */
function recordedIn(seeds: SeedOutcome[]): ExpectationSource[] {
  return seeds.flatMap((s) =>
    s.recorded ? [{ from: `the manifest of ${s.key ?? s.source}`, probes: s.recorded.probes }] : [],
  );
}

async function expectedFile(settings: DrillSettings, ctx: RunnerContext): Promise<ExpectationSource[]> {
  if (!settings.expectedProbes) return [];
  const file = resolveIn(workingDirOf(ctx), settings.expectedProbes);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UserError(
      `Input '${Inputs.ExpectedProbes}': ${file} cannot be read (${error.code ?? error.message}); give a JSON file of the probes' expected answers, relative to working-directory.`,
    );
  });
  const label = `Input '${Inputs.ExpectedProbes}' (${file})`;
  return [
    { from: `${Inputs.ExpectedProbes} ${settings.expectedProbes}`, probes: parseExpectedProbes(text, label) },
  ];
}
