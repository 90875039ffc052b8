import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeCommand, runCommandSpec } from '../check/commands.js';
import {
  compareProbes,
  compareStores,
  gatherEvidence,
  releaseEvidence,
  type Evidence,
  type EvidenceSources,
} from '../check/evidence.js';
import {
  describeKnownStore,
  droppedSamplesNote,
  KNOWN_STORE_SAMPLES,
  placeRules,
  recognizeStores,
} from '../check/known-stores.js';
import { PROBE_TIMEOUT_MS } from '../check/probe-answers.js';
import { performRestart, planModes, RESTART_MODE_EFFECTS } from '../check/restarts.js';
import { describeUnreadable, listStores, type StoreRef } from '../check/stores.js';
import { knownStoreLines } from '../check/verdict.js';
import { errorMessage } from '../errors.js';
import type { CommandSpec, RestartMode, Settings } from '../inputs.js';
import type { Log } from '../log.js';
import {
  anonymousVolumesOf,
  assertStackHealthy,
  StackError,
  type RestartBaseline,
} from '../stack/lifecycle.js';
import type { Stack } from '../stack/stack.js';
import type {
  ModeEvidence,
  PhaseOutcome,
  ServiceLogTail,
  StoreState,
  VolumeState,
} from '../types/outcomes.js';
import { FingerprintSession } from '../volumes/fingerprint.js';
import { resolveHelperImage } from '../volumes/helper-image.js';
import { keepingPartial, runningStack, type Phase, type RunningStack } from './phase.js';

export type RestartSettings = Pick<
  Settings,
  | 'probes'
  | 'write'
  | 'checkFiles'
  | 'restartModes'
  | 'restartOrder'
  | 'services'
  | 'waitTimeoutSeconds'
  | 'ignore'
  | 'knownStores'
  | 'helperImage'
>;

/** The write round (1, 2, …) in the environment of `write` commands, on the host and in the service. */
export const ROUND_VARIABLE = 'COMPOSE_PERSIST_ROUND';

type RestartsOutcome = Extract<PhaseOutcome, { phase: 'restarts' }>;

/** Evidence before, then each restart mode followed by evidence again, compared with the evidence before it. */
export const restartsPhase: Phase = {
  name: 'restarts',
  timing: 'check',
  run: (input) => checkRestarts(input.settings, runningStack(input), input.log, input.ctx.tempDir),
};

/** Listings of the places read live in a temp dir of their own, removed when the phase ends. */
export async function checkRestarts(
  settings: RestartSettings,
  stack: RunningStack,
  log: Log,
  tempDir: string = os.tmpdir(),
): Promise<RestartsOutcome> {
  const listings = await mkdtemp(path.join(tempDir, 'cp-fingerprints-'));
  const session = new FingerprintSession(
    listings,
    settings.knownStores === 'auto' ? KNOWN_STORE_SAMPLES : undefined,
  );
  try {
    return await checkWithSession(settings, stack, log, session);
  } finally {
    await session.close();
    await rm(listings, { recursive: true, force: true });
  }
}

async function checkWithSession(
  settings: RestartSettings,
  stack: RunningStack,
  log: Log,
  session: FingerprintSession,
): Promise<RestartsOutcome> {
  const sources: EvidenceSources = {
    compose: stack.compose,
    probes: settings.probes,
    probeEnv: await stack.commandEnv(),
    probeTimeoutMs: PROBE_TIMEOUT_MS,
    hostCwd: stack.workingDir,
    stores: async () =>
      settings.checkFiles === 'off' ? [] : listStores(stack.engine, stack.model, settings.services),
    fingerprint: async (store) => {
      const options = {
        engine: stack.engine,
        image: await resolveHelperImage(stack.engine, settings.helperImage, store.images),
        runLabel: stack.runLabel,
      };
      const started = Date.now();
      const listing = await session.list(store, options);
      log.debug(`fingerprint of ${store.key}: ${listing.files} files in ${Date.now() - started} ms`);
      return listing;
    },
  };
  const outcome: RestartsOutcome = { phase: 'restarts', brokenProbes: [], modes: [], notices: [] };
  const notice = (message: string) => void outcome.notices.push(message);
  // A crash loop since the stack came up (restart policy) fails here, before any evidence is trusted.
  let restarts = await assertStackHealthy(
    stack.engine,
    stack.model.project,
    'before the restarts',
    settings.services,
    stack.baseline,
    notice,
  );
  return keepingPartial(outcome, async () => {
    let before = await log.group('Evidence before restarts', () => gatherEvidence(sources));
    outcome.stores = storeStates(before, settings.knownStores);
    for (const line of knownStoreLines(outcome.stores)) log.info(`Known store: ${line}`);
    outcome.unverified = unverifiedPlaces(stack, before);
    outcome.brokenProbes = before.probes
      .filter((p) => p.result.exitCode !== 0)
      .map((p) => describeCommand(p.result));
    if (outcome.brokenProbes.length) return { ...outcome, finalVolumes: volumeStates(before) };
    const plan = planModes(settings.restartModes, settings.restartOrder, settings.write.length > 0);
    if (plan.reordered) log.info(plan.reordered);
    if (plan.warning) notice(plan.warning);
    let comparedWith = 'the evidence before any restart';
    for (const [index, mode] of plan.modes.entries()) {
      if (settings.write.length) {
        const round = index + 1;
        const failed = await runWrites(settings.write, sources, round, log);
        if (failed) {
          outcome.writeFailures = [`before ${mode} (round ${round}): ${failed}`];
          return outcome;
        }
        const written = await log.group(`Evidence after write round ${round}`, () => gatherEvidence(sources));
        await releaseEvidence(before);
        before = written;
        comparedWith = `the evidence after write round ${round}`;
      }
      const checked = await log.group(`Restart: ${mode}`, () =>
        checkMode(mode, before, sources, settings, stack, restarts, notice, log),
      );
      outcome.modes.push({ ...checked.evidence, comparedWith });
      comparedWith = `the state after ${mode}`;
      if (checked.serviceLogs) outcome.serviceLogs = checked.serviceLogs;
      if (!checked.after || !checked.restarts) return outcome;
      await releaseEvidence(before);
      before = checked.after;
      restarts = checked.restarts;
    }
    // The wait after each mode counts from the containers' start, so a last look covers the final evidence.
    await assertStackHealthy(
      stack.engine,
      stack.model.project,
      'after the restarts',
      settings.services,
      restarts,
      notice,
    );
    return { ...outcome, finalVolumes: volumeStates(before) };
  });
}

/** Runs the write commands of one round; returns the first failure, described, or undefined. */
async function runWrites(
  writes: CommandSpec[],
  sources: EvidenceSources,
  round: number,
  log: Log,
): Promise<string | undefined> {
  for (const spec of writes) {
    const result = await log.group(`Write (round ${round}): ${spec.command}`, () =>
      runCommandSpec(
        sources.compose,
        spec,
        {
          kind: 'writes',
          env: { ...sources.probeEnv, [ROUND_VARIABLE]: String(round) },
          cwd: sources.hostCwd,
          stream: true,
          timeoutMs: sources.probeTimeoutMs,
        },
        [ROUND_VARIABLE],
      ),
    );
    if (result.exitCode !== 0) return describeCommand(result);
  }
  return undefined;
}

interface CheckedMode {
  evidence: ModeEvidence;
  after?: Evidence;
  restarts?: RestartBaseline;
  serviceLogs?: ServiceLogTail[];
}

async function checkMode(
  mode: RestartMode,
  before: Evidence,
  sources: EvidenceSources,
  settings: RestartSettings,
  stack: Stack,
  baseline: RestartBaseline,
  notice: (message: string) => void,
  log: Log,
): Promise<CheckedMode> {
  const evidence: ModeEvidence = {
    mode,
    effect: RESTART_MODE_EFFECTS[mode],
    comparedWith: '',
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
      notice,
    );
    restarts = await performRestart(mode, stack.compose, stack.engine, {
      services: settings.services,
      waitTimeoutSeconds: settings.waitTimeoutSeconds,
    });
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    evidence.error = error.message;
    return { evidence, serviceLogs: error.serviceLogs };
  } finally {
    await removeDanglingAnonymous(stack, anonymousBefore, log);
  }
  const after = await gatherEvidence(sources);
  evidence.probes = compareProbes(before, after);
  evidence.volumes = await compareStores(before, after, settings.checkFiles, (store, was, now) =>
    placeRules(
      ignoreGlobs(settings, stack, store),
      settings.knownStores === 'auto' ? recognizeStores(was.samples, now.samples) : [],
    ),
  );
  return { evidence, after, restarts };
}

function volumeStates(evidence: Evidence): Record<string, VolumeState> {
  const states: Record<string, VolumeState> = {};
  for (const { ref, listing: l } of evidence.stores.values())
    if (ref.kind === 'volume') states[ref.source] = { digest: l.digest, bytes: l.bytes, files: l.files };
  return states;
}

/** Each place as first read, with the known stores found in it (what the report says it leaves out). */
function storeStates(evidence: Evidence, knownStores: RestartSettings['knownStores']): StoreState[] {
  return [...evidence.stores.values()].map(({ ref, listing }) => {
    const found =
      knownStores === 'auto'
        ? [
            ...recognizeStores(listing.samples).map(describeKnownStore),
            ...[droppedSamplesNote(listing.samplesDropped)].filter((n): n is string => n !== undefined),
          ]
        : [];
    return {
      kind: ref.kind,
      name: ref.key,
      mountedAt: ref.mountedAt,
      files: listing.files,
      bytes: listing.bytes,
      ...(found.length ? { knownStores: found } : {}),
    };
  });
}

/** Where data may live that no restart reads back: tmpfs (empty after every restart) and unreadable binds. */
function unverifiedPlaces(stack: Stack, evidence: Evidence): string[] {
  return [
    ...stack.model.tmpfs.map((t) => `${t.service}:${t.target} (tmpfs: emptied by every restart)`),
    ...[...evidence.unreadable.values()].map(
      ({ ref, reason }) => `${ref.mountedAt.join(', ')} (${describeUnreadable(ref, reason)})`,
    ),
  ];
}

/** down-up leaves the old containers' anonymous volumes behind; they are this run's, so remove them. */
async function removeDanglingAnonymous(stack: Stack, before: string[], log: Log): Promise<void> {
  const now = new Set(await anonymousVolumesOf(stack.engine, stack.model.project, declaredIn(stack)));
  for (const name of before.filter((n) => !now.has(n))) {
    await stack.engine
      .removeVolume(name)
      .catch((error: unknown) => log.debug(`keeping ${name}: ${errorMessage(error)}`));
  }
}

/** The stack's named and external volumes: never anonymous, whatever their names look like. */
function declaredIn(stack: Stack): (name: string) => boolean {
  const names = new Set(stack.model.volumes.map((v) => v.name));
  return (name) => names.has(name);
}

/** `ignore` lines for a place: `*`, its name (or bind source), its compose key, or `service:path`. */
function ignoreGlobs(settings: RestartSettings, stack: Stack, store: StoreRef): string[] {
  const volume = stack.model.volumes.find((v) => v.name === store.source);
  const names = [store.key, store.source, volume?.key, ...store.mountedAt];
  return settings.ignore.filter((i) => i.volume === '*' || names.includes(i.volume)).map((i) => i.glob);
}
