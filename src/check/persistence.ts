import * as core from '@actions/core';
import { errorMessage } from '../errors.js';
import type { Settings } from '../inputs.js';
import { fail, type ModeOutcome, type Report } from '../report/report.js';
import {
  anonymousVolumesOf,
  assertStackHealthy,
  serviceContainers,
  StackError,
  type RestartBaseline,
  type ServiceLogTail,
} from '../stack/lifecycle.js';
import { imagesMounting, type NamedVolume } from '../stack/model.js';
import type { Stack } from '../stack/stack.js';
import { fingerprintVolume } from '../volumes/fingerprint.js';
import { resolveHelperImage } from '../volumes/helper-image.js';
import { describeCommand } from './commands.js';
import {
  compareProbes,
  compareVolumes,
  gatherEvidence,
  type Evidence,
  type EvidenceSources,
  type VolumeDiff,
} from './evidence.js';
import { auditWritableLayers } from './layer-audit.js';
import { performRestart, RESTART_MODE_EFFECTS } from './restarts.js';

/** Probes get this long each. */
const PROBE_TIMEOUT_MS = 120_000;

/** Runs the restart modes; returns the last evidence gathered (for the final volume summary). */
export async function checkPersistence(
  settings: Settings,
  stack: Stack,
  env: Record<string, string>,
  report: Report,
  baseline: RestartBaseline,
): Promise<Evidence | undefined> {
  const sources: EvidenceSources = {
    compose: stack.compose,
    probes: settings.probes,
    probeEnv: env,
    probeTimeoutMs: PROBE_TIMEOUT_MS,
    volumes: stack.model.volumes,
    fingerprint: settings.checkFiles === 'off' ? undefined : (v) => fingerprintOf(v, stack, settings),
  };
  // A crash loop since the stack came up (restart policy) fails here, before any evidence is trusted.
  // action.ts prints every report warning as an annotation at the end.
  const warn = (message: string) => void report.warnings.push(message);
  let restarts = await assertStackHealthy(
    stack.engine,
    stack.model.project,
    'before the restarts',
    settings.services,
    baseline,
    warn,
  );
  let before = await core.group('Evidence before restarts', () => gatherEvidence(sources));
  const broken = before.probes.filter((p) => p.result.exitCode !== 0);
  for (const probe of broken)
    fail(report, `Probe failed before any restart: ${describeCommand(probe.result)}`);
  if (broken.length) return before;
  for (const mode of settings.restartModes) {
    const outcome = await core.group(`Restart: ${mode}`, () =>
      checkMode(mode, before, sources, settings, stack, restarts, warn),
    );
    report.modes.push(outcome.result);
    if (!outcome.result.passed) fail(report, modeFailure(outcome.result));
    if (outcome.serviceLogs) report.serviceLogs = outcome.serviceLogs;
    if (!outcome.after || !outcome.restarts) return undefined;
    before = outcome.after;
    restarts = outcome.restarts;
  }
  return before;
}

async function checkMode(
  mode: Settings['restartModes'][number],
  before: Evidence,
  sources: EvidenceSources,
  settings: Settings,
  stack: Stack,
  baseline: RestartBaseline,
  warn: (message: string) => void,
): Promise<{
  result: ModeOutcome;
  after?: Evidence;
  restarts?: RestartBaseline;
  serviceLogs?: ServiceLogTail[];
}> {
  const result: ModeOutcome = {
    mode,
    effect: RESTART_MODE_EFFECTS[mode],
    passed: false,
    probes: [],
    volumes: [],
  };
  const anonymousBefore = await anonymousVolumesOf(stack.engine, stack.model.project, declaredIn(stack));
  let restarts: RestartBaseline;
  try {
    await assertStackHealthy(
      stack.engine,
      stack.model.project,
      `before ${mode}`,
      settings.services,
      baseline,
      warn,
    );
    restarts = await performRestart(mode, stack.compose, stack.engine, {
      services: settings.services,
      waitTimeoutSeconds: settings.waitTimeoutSeconds,
    });
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    result.error = error.message;
    return { result, serviceLogs: error.serviceLogs };
  } finally {
    await removeDanglingAnonymous(stack, anonymousBefore);
  }
  const after = await gatherEvidence(sources);
  result.probes = compareProbes(before, after);
  result.volumes = compareVolumes(before, after, settings.checkFiles, (volume) =>
    ignoreGlobs(settings, stack, volume),
  );
  result.passed = result.probes.every((p) => p.same) && result.volumes.every((v) => v.ok);
  return { result, after, restarts };
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
  const now = new Set(await anonymousVolumesOf(stack.engine, stack.model.project, declaredIn(stack)));
  for (const name of before.filter((n) => !now.has(n))) {
    await stack.engine
      .removeVolume(name)
      .catch((error: unknown) => core.debug(`keeping ${name}: ${errorMessage(error)}`));
  }
}

/** The stack's named and external volumes: never anonymous, whatever their names look like. */
function declaredIn(stack: Stack): (name: string) => boolean {
  const names = new Set(stack.model.volumes.map((v) => v.name));
  return (name) => names.has(name);
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
    runId: stack.runId,
  });
}

export async function auditLayers(settings: Settings, stack: Stack, report: Report): Promise<void> {
  if (settings.layerAudit === 'off') return;
  const containers = await serviceContainers(stack.engine, stack.model.project);
  report.layer = await auditWritableLayers(stack.engine, containers, settings.layerIgnore);
  if (report.layer.length === 0) return;
  const list = report.layer.map((f) => `${f.service}:${f.path}`).join(', ');
  const message = `Files written outside volumes would be lost on re-creation: ${list}`;
  if (settings.layerAudit === 'fail') fail(report, message);
  else report.warnings.push(message);
}
