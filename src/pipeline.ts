import { inWorkingDirectory, type RunnerContext } from './context.js';
import { stopsTheRun } from './check/verdict.js';
import { describeError, echoOfInterruption } from './boundary.js';
import type { Settings } from './inputs.js';
import type { Log } from './log.js';
import { PhaseInterrupted, type Phase, type PhaseInput, type StartPhase } from './phases/phase.js';
import { archiveTargets } from './phases/stores.js';
import { archives, ownsStack, PHASES_OF, type EntryMode } from './phases/table.js';
import { buildReport, type RunRecord } from './report/build.js';
import type { Report } from './report/schema.js';
import { checkPowerHost, realPowerHost } from './power/preflight.js';
import { privileged } from './host/privileged.js';
import { StackError } from './stack/lifecycle.js';
import { displayPath } from './stack/compose-files.js';
import { openStack, teardownPlanFor, type Stack } from './stack/stack.js';
import type { TeardownPlan } from './stack/teardown.js';
import type { PhaseOutcome, RunError } from './types/outcomes.js';
import type { RunTimeSplit, TimeLedger } from './types/time-ledger.js';
import type { Engine } from './docker/engine.js';
import { describeComposeQuestion } from './docker/compose.js';
import { chosenDataPath } from './volumes/data-path.js';

export interface PipelineHooks {
  /** Called before anything is created, so post can tear down whatever happens next. */
  saveTeardown(plan: TeardownPlan): void;
  /** Aborted when the run is interrupted: no further phase starts; a seed or archive undoes its work. */
  signal?: AbortSignal;
  /** Called with the compose project name as soon as it is known (the stack stays up until post). */
  projectKnown?(name: string): void;
  /**
   * The caller tears the stack down as soon as the run returns (the CLI; the action's stack stays up for the
   * job's later steps until post), so containers stopped to archive a volume are left stopped.
   */
  teardownFollows?: boolean;
}

export type PipelineMode = EntryMode;

export interface PipelineDeps {
  engine: Engine;
  log: Log;
}

/**
 * Resolves the stack, then runs the mode's phases in order (see PHASES_OF). What they find, and any error
 * once the stack is resolved, is recorded in the report; post tears down.
 */
export async function runPipeline(
  settings: Settings,
  runner: RunnerContext,
  hooks: PipelineHooks,
  deps: PipelineDeps,
  mode: PipelineMode = 'full',
): Promise<Report> {
  const ctx = inWorkingDirectory(runner, settings.workingDirectory);
  const owns = ownsStack(mode);
  const stack = await openStack(settings, ctx, deps.engine, owns);
  hooks.projectKnown?.(stack.compose.projectName);
  for (const note of stack.composeFiles.notes) deps.log.warning(note);
  const archiveTo = archives(mode) ? archiveTargets(settings, ctx) : [];
  if (settings.crashKind === 'power-loss') await checkPowerHost(realPowerHost(privileged()));
  if (owns) hooks.saveTeardown(await teardownPlanFor(stack, settings));
  const input = {
    settings,
    ctx,
    log: deps.log,
    stack,
    archiveTo,
    signal: hooks.signal,
    teardownFollows: owns && hooks.teardownFollows === true,
  };
  return runPhaseTable(PHASES_OF[mode], input);
}

/**
 * Runs the phases in order and builds the report from what they returned. A phase that throws ends the
 * run: its error (and what it found before it) lands in the report, which the caller always gets.
 */
export async function runPhaseTable(
  phases: readonly (Phase | StartPhase)[],
  base: Omit<PhaseInput, 'reportSoFar' | 'running'>,
): Promise<Report> {
  const record: RunRecord = {
    project: base.stack.compose.projectName,
    model: base.stack.model,
    outcomes: [],
    timings: {},
    startedAt: new Date().toISOString(),
    complete: false,
    composeFiles: {
      composeFiles: base.stack.composeFiles.files.map((f) => displayPath(base.ctx.workspace, f)),
      composeFilesFrom: base.stack.composeFiles.from,
    },
    stackWarnings: base.stack.projectNote ? [base.stack.projectNote] : [],
  };
  const input: PhaseInput = {
    ...base,
    earlier: () => ({ outcomes: [...record.outcomes], timings: { ...record.timings } }),
    reportSoFar: (pending, timings) =>
      buildReport({
        ...record,
        outcomes: [...record.outcomes, pending],
        timings: { ...record.timings, ...timings },
        timeSplit: runSplit(base.stack, record),
        complete: input.running !== undefined,
        finishedAt: new Date().toISOString(),
      }),
  };
  try {
    record.complete = await runPhases(phases, input, record);
  } catch (thrown) {
    if (thrown instanceof PhaseInterrupted) record.outcomes.push(thrown.outcome);
    const cause = thrown instanceof PhaseInterrupted ? thrown.cause : thrown;
    record.error = runError(echoOfInterruption(cause, base.signal), base.log);
  }
  // An interrupted run failed for that reason first, whatever its phases recorded after the signal.
  if (base.signal?.aborted) record.interrupted = describeError(base.signal.reason).message;
  record.dataPath = await chosenDataPath(base.stack.engine).catch(() => undefined);
  return buildReport({
    ...record,
    timeSplit: runSplit(base.stack, record),
    finishedAt: new Date().toISOString(),
  });
}

/** True when every phase ran (none stopped the run) and the stack was brought or found up. */
async function runPhases(
  phases: readonly (Phase | StartPhase)[],
  input: PhaseInput,
  record: RunRecord,
): Promise<boolean> {
  for (const phase of phases) {
    input.signal?.throwIfAborted();
    const outcome = await timed(record, input.stack.compose.ledger, phase.timing, () =>
      runPhase(phase, input),
    ).finally(() => reportComposeQuestions(input, record));
    record.outcomes.push(outcome);
    if (stopsTheRun(outcome)) return false;
  }
  return input.running !== undefined;
}

/** What compose asked (and was told no, its stdin being closed) goes to the log and the report's warnings. */
function reportComposeQuestions(input: PhaseInput, record: RunRecord): void {
  for (const asked of input.stack.compose.newQuestions()) {
    const warning = describeComposeQuestion(asked);
    input.log.warning(warning);
    (record.stackWarnings ??= []).push(warning);
  }
}

async function runPhase(phase: Phase | StartPhase, input: PhaseInput): Promise<PhaseOutcome> {
  if (!('start' in phase)) return phase.run(input);
  const { outcome, running } = await phase.start(input);
  input.running = running;
  return outcome;
}

/** Once the report exists every error lands in it, so outputs and the summary tell what happened. */
function runError(thrown: unknown, log: Log): RunError {
  const { error, message, stack } = describeError(thrown);
  if (stack) log.debug(stack);
  return { message, ...(error instanceof StackError ? { serviceLogs: error.serviceLogs } : {}) };
}

/** Runs a phase and records how long it took (report.timings, milliseconds). */
async function timed<T>(
  record: RunRecord,
  ledger: TimeLedger,
  key: string | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const before = ledger.split();
  try {
    return await work();
  } finally {
    if (key) {
      record.timings[key] = Date.now() - started;
      (record.phaseSplits ??= {})[key] = ledger.since(before);
    }
  }
}

/** The ledger's split of the whole run so far, with each timed phase's. */
function runSplit(stack: Stack, record: RunRecord): RunTimeSplit {
  return { ...stack.compose.ledger.split(), phases: { ...record.phaseSplits } };
}

export type { Stack };
