import * as core from '@actions/core';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  compareProbes,
  compareVolumes,
  gatherEvidence,
  type Evidence,
  type EvidenceSources,
  type VolumeDiff,
} from './check/evidence.js';
import { describeCommand, runCommandSpec } from './check/commands.js';
import { auditWritableLayers } from './check/layer-audit.js';
import { performRestart, RESTART_MODE_EFFECTS } from './check/restarts.js';
import { resolveIn, toProjectName, type RunnerContext } from './context.js';
import { Compose, detectComposeCli, type ComposeProjectSpec } from './docker/compose.js';
import { DockerEngine } from './docker/engine.js';
import { UserError, errorMessage } from './errors.js';
import { Inputs } from './constants.js';
import type { Settings } from './inputs.js';
import { emptyReport, fail, type ModeOutcome, type Report, type VolumeSummary } from './report/report.js';
import { archiveStackVolumes, archiveTargets, seedStackVolumes } from './volumes/stack-volumes.js';
import { anonymousVolumesOf, serviceContainers, StackError, upAndWait } from './stack/lifecycle.js';
import { imagesMounting, stackModelFrom, type NamedVolume, type StackModel } from './stack/model.js';
import { resolveHelperImage } from './volumes/helper-image.js';
import type { TeardownPlan } from './stack/teardown.js';
import { fingerprintVolume } from './volumes/fingerprint.js';

export interface PipelineHooks {
  /** Called before anything is created, so post can tear down whatever happens next. */
  saveTeardown(plan: TeardownPlan): void;
}

/** Probes and test commands get this long unless the test is still producing output. */
const PROBE_TIMEOUT_MS = 120_000;

/** The stack the run works on, resolved once. */
interface Stack {
  engine: DockerEngine;
  compose: Compose;
  model: StackModel;
  plan: TeardownPlan;
}

/**
 * The main job: up → tests → restarts with evidence before and after → layer audit → report. Failures the
 * check finds are recorded in the report; errors that stop the run are thrown (post still tears down).
 */
export async function runPipeline(
  settings: Settings,
  ctx: RunnerContext,
  hooks: PipelineHooks,
): Promise<Report> {
  const stack = await prepareStack(settings, ctx, hooks);
  const report = emptyReport(stack.compose.projectName);
  describeStack(report, stack.model);
  const archiveTo = archiveTargets(settings, ctx);
  const volumes = { engine: stack.engine, model: stack.model, runId: stack.plan.runId };
  report.seeds = await timed(report, 'seed', () => seedStackVolumes(settings, ctx, volumes));
  try {
    await timed(report, 'up', () =>
      core.group('Start the stack', () =>
        upAndWait(stack.compose, stack.engine, upOptions(settings), 'starting the stack'),
      ),
    );
    await recordAnonymousVolumes(report, stack);
    const env = await commandEnv(stack);
    if (!(await timed(report, 'tests', () => runTests(settings, stack, env, report)))) return finish(report);
    // Before any restart: re-creation throws the writable layer away, and with it the evidence.
    await core.group('Audit writable layers', () => auditLayers(settings, stack, report));
    const last = await timed(report, 'check', () => checkPersistence(settings, stack, env, report));
    if (archiveTo.length) {
      report.archives = await timed(report, 'archive', () =>
        archiveStackVolumes(settings, ctx, volumes, archiveTo, report),
      );
    }
    report.volumes = summarizeVolumes(stack.model, report, last);
  } catch (error) {
    // Once the report exists every error lands in it, so outputs and the summary tell what happened.
    if (!(error instanceof UserError))
      core.debug(error instanceof Error ? (error.stack ?? '') : String(error));
    fail(report, errorMessage(error));
    if (error instanceof StackError) report.serviceLogs = error.serviceLogs;
  }
  return finish(report);
}

/** Runs a phase and records how long it took (report.timings, milliseconds). */
async function timed<T>(report: Report, phase: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    report.timings[phase] = Date.now() - started;
  }
}

function finish(report: Report): Report {
  report.finishedAt = new Date().toISOString();
  return report;
}

async function prepareStack(settings: Settings, ctx: RunnerContext, hooks: PipelineHooks): Promise<Stack> {
  const engine = new DockerEngine();
  await engine.ping();
  const files = settings.composeFiles.map((f) => resolveIn(ctx.workspace, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    throw new UserError(
      `Input '${Inputs.ComposeFile}': ${missing.join(', ')} does not exist; give the path of your compose file.`,
    );
  }
  const spec: ComposeProjectSpec = {
    files,
    projectName: settings.projectName ?? toProjectName(`cp-${ctx.uniqueId}`),
    profiles: settings.profiles,
    envFile: settings.envFile ? resolveIn(ctx.workspace, settings.envFile) : undefined,
    cwd: path.dirname(files[0] as string),
  };
  if (settings.projectName && settings.projectName !== toProjectName(settings.projectName)) {
    throw new UserError(
      `Input '${Inputs.ProjectName}': "${settings.projectName}" is not a valid compose project name; use lowercase letters, digits, - and _ (e.g. "${toProjectName(settings.projectName)}").`,
    );
  }
  const cli = await detectComposeCli();
  const compose = new Compose(cli, spec);
  const model = stackModelFrom(await compose.config(), settings.services);
  const unknown = settings.services.filter((s) => !model.services.includes(s));
  if (unknown.length) {
    throw new UserError(`Input '${Inputs.Services}': no service named ${unknown.join(', ')} in the stack.`);
  }
  const createdVolumes = await volumesToBeCreated(engine, model, settings);
  const plan: TeardownPlan = {
    cli,
    project: spec,
    runId: ctx.uniqueId,
    createdVolumes,
    keepVolumes: settings.keepVolumes,
  };
  hooks.saveTeardown(plan);
  return { engine, compose, model, plan };
}

/** Named volumes that do not exist yet: this run creates them, so only these may be removed later. */
async function volumesToBeCreated(
  engine: DockerEngine,
  model: StackModel,
  settings: Settings,
): Promise<string[]> {
  const seeded = new Set(settings.seeds.map((s) => s.volume));
  const created: string[] = [];
  for (const volume of model.volumes) {
    const exists = (await engine.inspectVolume(volume.name)) !== undefined;
    if (volume.external && !exists && !seeded.has(volume.key) && !seeded.has(volume.name)) {
      throw new UserError(
        `External volume ${volume.name} (${volume.key}) does not exist: create it (docker volume create ${volume.name}) or seed it.`,
      );
    }
    if (!exists) created.push(volume.name);
  }
  return created;
}

function upOptions(settings: Settings) {
  return {
    services: settings.services,
    waitTimeoutSeconds: settings.waitTimeoutSeconds,
    pull: settings.pull,
  };
}

function describeStack(report: Report, model: StackModel): void {
  report.stack.volumes = model.volumes.map((v) => ({
    key: v.key,
    name: v.name,
    external: v.external,
    mounts: v.mounts.map((m) => `${m.service}:${m.target}`),
  }));
  report.stack.binds = model.binds.map((b) => `${b.service}:${b.target} (bind ${b.source})`);
  report.stack.tmpfs = model.tmpfs.map((t) => `${t.service}:${t.target} (tmpfs: not persisted by design)`);
  report.stack.anonymous = model.anonymous.map((a) => `${a.service}:${a.target}`);
}

/** Image VOLUMEs with no named volume over them: their data is lost on down-up. */
async function recordAnonymousVolumes(report: Report, stack: Stack): Promise<void> {
  const named = new Set(stack.model.volumes.map((v) => v.name));
  for (const { service, details } of await serviceContainers(stack.engine, stack.model.project)) {
    for (const mount of details.mounts) {
      if (mount.type !== 'volume' || !mount.name || named.has(mount.name)) continue;
      const where = `${service}:${mount.destination}`;
      if (!report.stack.anonymous.includes(where)) report.stack.anonymous.push(where);
    }
  }
  for (const where of report.stack.anonymous) {
    report.warnings.push(
      `Anonymous volume at ${where}: its data is lost on down-up (map a named volume there).`,
    );
  }
}

/** COMPOSE_PROJECT_NAME, COMPOSE_FILE and `<SERVICE>_PORT_<target>` = published host port. */
async function commandEnv(stack: Stack): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    COMPOSE_PROJECT_NAME: stack.compose.projectName,
    COMPOSE_FILE: stack.compose.spec.files.join(path.delimiter),
  };
  for (const { service, details } of await serviceContainers(stack.engine, stack.model.project)) {
    for (const port of details.ports) {
      const key = `${service}_PORT_${port.containerPort.split('/')[0]}`
        .toUpperCase()
        .replace(/[^A-Z0-9_]/g, '_');
      env[key] = port.hostPort;
    }
  }
  return env;
}

/** Runs `run` on the runner and each `exec` in its service; returns false when one failed. */
async function runTests(
  settings: Settings,
  stack: Stack,
  env: Record<string, string>,
  report: Report,
): Promise<boolean> {
  const commands = [
    ...(settings.run ? [{ target: 'host' as const, command: settings.run }] : []),
    ...settings.exec,
  ];
  for (const spec of commands) {
    const result = await core.group(`Test: ${spec.command}`, () =>
      runCommandSpec(stack.compose, spec, { env, stream: true, cwd: stack.compose.spec.cwd }),
    );
    report.tests.push({
      where: result.where,
      command: result.command,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
    });
    if (result.exitCode !== 0) {
      fail(report, `Test failed: ${describeCommand(result)}`);
      return false;
    }
  }
  return true;
}

/** Runs the restart modes; returns the last evidence gathered (for the final volume summary). */
async function checkPersistence(
  settings: Settings,
  stack: Stack,
  env: Record<string, string>,
  report: Report,
): Promise<Evidence | undefined> {
  const sources: EvidenceSources = {
    compose: stack.compose,
    probes: settings.probes,
    probeEnv: env,
    probeTimeoutMs: PROBE_TIMEOUT_MS,
    volumes: stack.model.volumes,
    fingerprint: settings.checkFiles === 'off' ? undefined : (v) => fingerprintOf(v, stack, settings),
  };
  let before = await core.group('Evidence before restarts', () => gatherEvidence(sources));
  const broken = before.probes.filter((p) => p.result.exitCode !== 0);
  for (const probe of broken)
    fail(report, `Probe failed before any restart: ${describeCommand(probe.result)}`);
  if (broken.length) return before;
  for (const mode of settings.restartModes) {
    const outcome = await core.group(`Restart: ${mode}`, () =>
      checkMode(mode, before, sources, settings, stack),
    );
    report.modes.push(outcome.result);
    if (!outcome.result.passed) fail(report, modeFailure(outcome.result));
    if (!outcome.after) return undefined;
    before = outcome.after;
  }
  return before;
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

async function checkMode(
  mode: Settings['restartModes'][number],
  before: Evidence,
  sources: EvidenceSources,
  settings: Settings,
  stack: Stack,
): Promise<{ result: ModeOutcome; after?: Evidence }> {
  const result: ModeOutcome = {
    mode,
    effect: RESTART_MODE_EFFECTS[mode],
    passed: false,
    probes: [],
    volumes: [],
  };
  const anonymousBefore = await anonymousVolumesOf(stack.engine, stack.model.project);
  try {
    await performRestart(mode, stack.compose, stack.engine, {
      services: settings.services,
      waitTimeoutSeconds: settings.waitTimeoutSeconds,
    });
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    result.error = error.message;
    return { result };
  } finally {
    await removeDanglingAnonymous(stack, anonymousBefore);
  }
  const after = await gatherEvidence(sources);
  result.probes = compareProbes(before, after);
  result.volumes = compareVolumes(before, after, settings.checkFiles, (volume) =>
    ignoreGlobs(settings, stack, volume),
  );
  result.passed = result.probes.every((p) => p.same) && result.volumes.every((v) => v.ok);
  return { result, after };
}

function modeFailure(outcome: ModeOutcome): string {
  if (outcome.error) return `${outcome.mode}: ${outcome.error}`;
  const probes = outcome.probes.filter((p) => !p.same).map((p) => `probe "${p.probe}" changed`);
  const volumes = outcome.volumes.filter((v) => !v.ok).map(describeVolumeLoss);
  return `Data did not survive ${outcome.mode}: ${[...probes, ...volumes].join('; ')}`;
}

function describeVolumeLoss(diff: VolumeDiff): string {
  const sample = (paths: string[]) => `${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', …' : ''}`;
  const lost = diff.removed.length ? `lost ${diff.removed.length} file(s) (${sample(diff.removed)})` : '';
  const changedPaths = [...diff.changed.map((c) => c.path), ...diff.added];
  const changed =
    diff.policy === 'exact' && changedPaths.length
      ? `changed ${changedPaths.length} (${sample(changedPaths)})`
      : '';
  return `volume ${diff.volume} ${[lost, changed].filter(Boolean).join(' and ')}`;
}

/** down-up leaves the old containers' anonymous volumes behind; they are this run's, so remove them. */
async function removeDanglingAnonymous(stack: Stack, before: string[]): Promise<void> {
  const now = new Set(await anonymousVolumesOf(stack.engine, stack.model.project));
  for (const name of before.filter((n) => !now.has(n))) {
    await stack.engine
      .removeVolume(name)
      .catch((error: unknown) => core.debug(`keeping ${name}: ${errorMessage(error)}`));
  }
}

function ignoreGlobs(settings: Settings, stack: Stack, volumeName: string): string[] {
  const volume = stack.model.volumes.find((v) => v.name === volumeName);
  return settings.ignore
    .filter((i) => i.volume === '*' || i.volume === volumeName || i.volume === volume?.key)
    .map((i) => i.glob);
}

async function fingerprintOf(volume: NamedVolume, stack: Stack, settings: Settings) {
  return fingerprintVolume(volume.name, {
    engine: stack.engine,
    image: await resolveHelperImage(stack.engine, settings.helperImage, imagesMounting(stack.model, volume)),
    runId: stack.plan.runId,
  });
}

async function auditLayers(settings: Settings, stack: Stack, report: Report): Promise<void> {
  if (settings.layerAudit === 'off') return;
  const containers = await serviceContainers(stack.engine, stack.model.project);
  report.layer = await auditWritableLayers(stack.engine, containers, settings.layerIgnore);
  if (report.layer.length === 0) return;
  const list = report.layer.map((f) => `${f.service}:${f.path}`).join(', ');
  const message = `Files written outside volumes would be lost on re-creation: ${list}`;
  if (settings.layerAudit === 'fail') fail(report, message);
  else report.warnings.push(message);
}
