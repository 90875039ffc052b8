import * as core from '@actions/core';
import { auditLayers, checkPersistence } from './check/persistence.js';
import type { Evidence } from './check/evidence.js';
import { runTests } from './check/tests.js';
import type { RunnerContext } from './context.js';
import { engineLostError } from './docker/engine.js';
import { UserError, errorMessage } from './errors.js';
import type { Settings } from './inputs.js';
import { emptyReport, fail, type Report, type VolumeSummary } from './report/report.js';
import { StackError, assertStackHealthy, upAndWait } from './stack/lifecycle.js';
import type { StackModel } from './stack/model.js';
import {
  commandEnv,
  describeStack,
  openStack,
  recordAnonymousVolumes,
  teardownPlanFor,
  upOptions,
} from './stack/stack.js';
import type { TeardownPlan } from './stack/teardown.js';
import { archiveStackVolumes, archiveTargets, seedStackVolumes } from './volumes/stack-volumes.js';

export interface PipelineHooks {
  /** Called before anything is created, so post can tear down whatever happens next. */
  saveTeardown(plan: TeardownPlan): void;
  /** Aborted when the run is interrupted: no further phase starts; a seed or archive undoes its work. */
  signal?: AbortSignal;
}

/**
 * Which phases run: the main action runs them all; the sub-actions one each, on a stack the user manages
 * (seed before their own `up`, check and archive on a stack that is already up).
 */
export type PipelineMode = 'full' | 'seed' | 'check' | 'archive';

/**
 * seed → up → tests → layer audit → restarts with evidence before and after → archive → report. What the
 * check finds, and any error once the stack is resolved, is recorded in the report; post tears down.
 */
export async function runPipeline(
  settings: Settings,
  ctx: RunnerContext,
  hooks: PipelineHooks,
  mode: PipelineMode = 'full',
): Promise<Report> {
  const full = mode === 'full';
  const { signal } = hooks;
  const stack = await openStack(settings, ctx, full);
  const archiveTo = mode === 'full' || mode === 'archive' ? archiveTargets(settings, ctx) : [];
  if (full) hooks.saveTeardown(await teardownPlanFor(stack, settings));
  const report = emptyReport(stack.compose.projectName);
  describeStack(report, stack.model);
  try {
    if (full || mode === 'seed')
      report.seeds = await timed(
        report,
        'seed',
        () => seedStackVolumes(settings, ctx, stack, signal),
        signal,
      );
    if (mode === 'seed') return finish(report, signal);
    const baseline = full
      ? await timed(
          report,
          'up',
          () =>
            core.group('Start the stack', () =>
              upAndWait(stack.compose, stack.engine, upOptions(settings), 'starting the stack'),
            ),
          signal,
        )
      : await assertStackHealthy(
          stack.engine,
          stack.compose.projectName,
          'the stack (it must be up already)',
          settings.services,
        );
    await recordAnonymousVolumes(report, stack);
    let last: Evidence | undefined;
    if (full || mode === 'check') {
      const env = await commandEnv(stack, settings);
      if (full && !(await timed(report, 'tests', () => runTests(settings, stack, env, report), signal)))
        return finish(report, signal);
      // Before any restart: re-creation throws the writable layer away, and with it the evidence.
      await core.group('Audit writable layers', () => auditLayers(settings, stack, report));
      last = await timed(
        report,
        'check',
        () => checkPersistence(settings, stack, env, report, baseline),
        signal,
      );
    }
    if (archiveTo.length) {
      report.archives = await timed(
        report,
        'archive',
        () => archiveStackVolumes(settings, ctx, stack, archiveTo, report, signal),
        signal,
      );
    }
    report.volumes = summarizeVolumes(stack.model, report, last);
  } catch (thrown) {
    // Once the report exists every error lands in it, so outputs and the summary tell what happened.
    // Once interrupted, errors other than ours (AbortError, a cut stream) are echoes: name the signal.
    const echo = signal?.aborted === true && !(thrown instanceof UserError);
    const error = echo ? (signal.reason as unknown) : (engineLostError(thrown) ?? thrown);
    if (!(error instanceof UserError))
      core.debug(error instanceof Error ? (error.stack ?? '') : String(error));
    fail(report, errorMessage(error));
    if (error instanceof StackError) report.serviceLogs = error.serviceLogs;
  }
  return finish(report, signal);
}

/** Runs a phase, unless the run was interrupted, and records how long it took (report.timings, ms). */
async function timed<T>(
  report: Report,
  phase: string,
  work: () => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  signal?.throwIfAborted();
  const started = Date.now();
  try {
    return await work();
  } finally {
    report.timings[phase] = Date.now() - started;
  }
}

function finish(report: Report, signal: AbortSignal | undefined): Report {
  // An interrupted run failed for that reason first, whatever its phases recorded after the signal.
  if (signal?.aborted) {
    const reason = errorMessage(signal.reason);
    report.result = 'failed';
    report.failures = [reason, ...report.failures.filter((f) => f !== reason)];
  }
  report.finishedAt = new Date().toISOString();
  return report;
}

/** name, digest, size and file count of each volume: from its archive, else from the last fingerprint. */
function summarizeVolumes(model: StackModel, report: Report, last: Evidence | undefined): VolumeSummary[] {
  return model.volumes.map((v) => {
    const archived = report.archives.find((a) => a.volume === v.name);
    const manifest = last?.volumes.get(v.name);
    return {
      key: v.key,
      name: v.name,
      digest: archived?.digest ?? manifest?.digest,
      size: manifest?.bytes,
      files: manifest?.files,
    };
  });
}
