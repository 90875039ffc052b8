import * as core from '@actions/core';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Inputs, Outputs, State } from './constants.js';
import { stopRunningCommands } from './check/commands.js';
import { readRunnerContext } from './context.js';
import { describeError, echoOfInterruption } from './boundary.js';
import { DockerEngine } from './docker/engine.js';
import { errorMessage } from './errors.js';
import { readSettings } from './inputs.js';
import { trapInterrupts } from './interrupt.js';
import { runPipeline, type PipelineMode } from './pipeline.js';
import { RESTORE_EVIDENCE_FILE, type Report } from './report/schema.js';
import { actionsLog } from './log.js';
import { renderSummary } from './report/summary.js';
import { teardownStack, type TeardownPlan } from './stack/teardown.js';

/** The main step: one error boundary; outputs are set before the step is failed. */
export async function runMain(): Promise<void> {
  await runStep('full');
}

/** The seed/, check/ and archive/ sub-actions: one phase each, on a stack the user manages. */
export async function runSubAction(mode: Exclude<PipelineMode, 'full'>): Promise<void> {
  await runStep(mode);
}

/**
 * The runner cancels a job with SIGINT, then SIGTERM 7.5 s later, then kills it 2.5 s after that: cleanup
 * must end before. Phases that do not watch the signal (a restart mode) are left after this grace.
 */
const CANCEL_GRACE_MS = 8_000;

async function runStep(mode: PipelineMode): Promise<void> {
  // A cancelled job: stop the user's commands (they run in their own process groups) and abort the
  // pipeline, whose seed or archive in progress undoes itself (containers started again, a half-seeded
  // volume removed) before the step ends; the post step then tears the stack down.
  let stopping: Promise<void> | undefined;
  const interruption = trapInterrupts((signal) => {
    core.error(
      `Cancelled (${signal}): stopping running commands and undoing any seed or archive in progress${mode === 'full' ? '; the post step tears the stack down' : ''}.`,
    );
    stopping = stopRunningCommands();
    setTimeout(() => void stopping?.finally(() => process.exit(1)), CANCEL_GRACE_MS).unref();
  });
  try {
    const ctx = readRunnerContext();
    const settings = readSettings((name: Inputs) => core.getInput(name));
    // Never printed, even by a debug line that quotes an input.
    for (const secret of [settings.encryptKey, settings.githubToken]) if (secret) core.setSecret(secret);
    const report = await runPipeline(
      settings,
      ctx,
      {
        saveTeardown: (plan) => core.saveState(State.Teardown, JSON.stringify(plan)),
        signal: interruption.signal,
        projectKnown: (name) => core.setOutput(Outputs.ProjectName, name),
      },
      { engine: new DockerEngine(), log: actionsLog },
      mode,
    );
    await publishReport(report, ctx.tempDir);
    if (report.result === 'failed') core.setFailed(report.failures[0] ?? 'compose-persist check failed');
  } catch (error) {
    core.setOutput(Outputs.Result, 'failed');
    reportError(echoOfInterruption(error, interruption.signal));
  } finally {
    await stopping;
    interruption.dispose();
    if (interruption.received) process.exit(1); // whatever is still open must not keep a cancelled step alive
  }
}

/** The post step: tears down whatever main created, even when main failed; only warns. */
export async function runPost(): Promise<void> {
  const raw = core.getState(State.Teardown);
  if (!raw) return;
  try {
    const plan = JSON.parse(raw) as TeardownPlan;
    const result = await core.group('Tear down the stack', () =>
      teardownStack(plan, new DockerEngine(), actionsLog),
    );
    if (result.keptVolumes.length) core.info(`Kept volumes: ${result.keptVolumes.join(', ')}`);
  } catch (error) {
    core.warning(`Teardown failed: ${errorMessage(error)}`);
  }
}

async function publishReport(report: Report, tempDir: string): Promise<void> {
  const reportFile = path.join(tempDir, `compose-persist-${report.project}.json`);
  await writeFile(reportFile, JSON.stringify(report, null, 2));
  core.setOutput(Outputs.Result, report.result);
  core.setOutput(Outputs.Report, reportFile);
  core.setOutput(Outputs.ProjectName, report.project);
  core.setOutput(Outputs.Volumes, JSON.stringify(report.volumes));
  core.setOutput(Outputs.Archives, JSON.stringify(report.archives));
  if (report.restore) core.setOutput(Outputs.RestoreEvidence, await writeRestoreEvidence(report, tempDir));
  // The first failure becomes the step's error (setFailed); the others are annotations of their own.
  for (const failure of report.failures.slice(1)) core.error(failure);
  for (const warning of report.warnings) core.warning(warning);
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(renderSummary(report)).write();
}

/** restore-evidence.json, in a folder of the project's own (its name is the one auditors are told). */
async function writeRestoreEvidence(report: Report, tempDir: string): Promise<string> {
  const dir = path.join(tempDir, `compose-persist-${report.project}`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, RESTORE_EVIDENCE_FILE);
  await writeFile(file, `${JSON.stringify(report.restore, null, 2)}\n`);
  return file;
}

function reportError(thrown: unknown): void {
  const { message, stack } = describeError(thrown);
  if (stack) core.debug(stack);
  core.setFailed(message);
}
