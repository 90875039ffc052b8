// The one place that says what counts as proof: outcomes and evidence in, pass or fail with reasons out.
// Pure: no I/O, no clock, no engine; every rule is a function with its own unit tests.
import type { CrashKind } from '../types/domain.js';
import type {
  CrashLoadOutcome,
  CrashRound,
  LayerAuditOutcome,
  LayerFinding,
  ModeEvidence,
  PhaseOutcome,
  ProbeComparison,
  RunError,
  StoreState,
  TestOutcome,
  VolumeDiff,
} from '../types/outcomes.js';
import type { DrillOutcome, DrillProbe, RestoreTime } from '../types/restore.js';

export interface Verdict {
  result: 'passed' | 'failed';
  /** The first data loss the restarts found, for the summary's first line. */
  firstLoss?: string;
  /** One line per reason the run failed, in the order the phases found them. */
  failures: string[];
  warnings: string[];
}

/** What a probe printed, or how it failed. */
export interface ProbeReading {
  stdout: string;
  stderr: string;
  exitCode: number;
  timedOut: boolean;
}

/** Judges a run from what its phases returned (in the order they ran) and the error that ended it, if any. */
export function judgeRun(outcomes: PhaseOutcome[], error?: RunError, interrupted?: string): Verdict {
  // An interrupted run failed for that reason first; what its phases found is listed after it.
  const failures: string[] = interrupted ? [interrupted] : [];
  const warnings: string[] = [];
  for (const outcome of outcomes) {
    const found = judgePhase(outcome);
    failures.push(...found.failures);
    warnings.push(...found.warnings);
  }
  warnings.push(...suspiciousVolumes(outcomes));
  if (error && error.message !== interrupted) failures.push(error.message);
  const firstLoss = outcomes.map(lossIn).find((loss) => loss !== undefined);
  return {
    result: failures.length ? 'failed' : 'passed',
    ...(firstLoss ? { firstLoss } : {}),
    failures,
    warnings,
  };
}

type Findings = Pick<Verdict, 'failures' | 'warnings'>;

/** The first data loss a phase found: a crash round that lost tokens, or a restart mode that lost data. */
function lossIn(outcome: PhaseOutcome): string | undefined {
  if (outcome.phase === 'crash-load' && outcome.crash) {
    const crash = outcome.crash;
    const round = crash.rounds.find((r) => !crashRoundProblem(r) && (r.lost ?? 0) > 0);
    return round ? crashRoundLoss(round, crash.services, crash.kind) : undefined;
  }
  if (outcome.phase !== 'restarts') return undefined;
  const mode = outcome.modes.find((m) => !modePassed(m));
  return mode ? modeFailure(mode) : undefined;
}

export function judgePhase(outcome: PhaseOutcome): Findings {
  switch (outcome.phase) {
    case 'seed':
      return { failures: [], warnings: [] };
    case 'up':
    case 'attach':
      return { failures: [], warnings: outcome.anonymous.map(anonymousVolumeWarning) };
    case 'tests':
      return { failures: testFailures(outcome.tests), warnings: [] };
    case 'layer-audit':
      return judgeLayerAudit(outcome.audit);
    case 'restarts':
      return {
        failures: [
          ...outcome.brokenProbes.map((probe) => `Probe failed before any restart: ${probe}`),
          ...outcome.modes.filter((m) => !modePassed(m)).map(modeFailure),
          ...(outcome.writeFailures ?? []).map((w) => `Write failed ${w}: the modes after it were not run.`),
        ],
        warnings: [...unverifiedWarning(outcome.unverified ?? []), ...outcome.notices],
      };
    case 'crash-load':
      return outcome.crash ? judgeCrashLoad(outcome.crash) : { failures: [], warnings: [] };
    case 'drill':
      if (outcome.drill) return judgeDrill(outcome.drill);
      return { failures: [], warnings: outcome.notice ? [outcome.notice] : [] };
    case 'archive':
      return {
        failures: (outcome.probeFailures ?? []).map(
          (failure) =>
            `record-probes: a probe failed at archive time, so its answer is not recorded: ${failure}`,
        ),
        warnings: outcome.notices,
      };
  }
}

/**
 * The restore drill: every probe compared must answer what it answered at backup time (or what the
 * expected-probes file says), every recorded probe must have been asked, the sources must agree, and the
 * restore must fit its budget. A drill that compared nothing while a budget asks for a drill is a warning.
 */
export function judgeDrill(drill: DrillOutcome): Findings {
  const failures = [
    ...drill.probes.filter((p) => p.compared && !p.same).map(drillProbeFailure),
    ...drill.unrun.map(
      (u) =>
        `Restore drill: ${u.from} records the answer of probe "${u.probe}", but this run does not ask it: add it to probes (uncompared-probes to show it without comparing).`,
    ),
    ...drill.conflicts.map((c) => `Restore drill: ${c}.`),
  ];
  const overBudget = restoreOverBudget(drill);
  if (overBudget) failures.push(overBudget);
  const warnings =
    drill.stackStarted && drill.budgetMs !== undefined && !drill.probes.some((p) => p.compared)
      ? [
          'Restore drill: no probe answer was compared (no seeded archive records any, and expected-probes is not set): archive with record-probes: true, or give expected-probes, so the restore is proven to give the same answers.',
        ]
      : [];
  return { failures, warnings };
}

export function drillProbeFailure(probe: DrillProbe): string {
  return `Restore drill: probe "${probe.probe}" does not answer as at backup time: expected "${oneLine(probe.expected ?? '')}" (${probe.expectedFrom ?? 'recorded'}), got "${oneLine(probe.actual)}".`;
}

/** A restore that took longer than restore-time-budget: the time measured and its parts, or undefined. */
export function restoreOverBudget(
  drill: Pick<DrillOutcome, 'restore' | 'budgetMs' | 'stackStarted'>,
): string | undefined {
  if (drill.budgetMs === undefined || drill.restore.totalMs <= drill.budgetMs) return undefined;
  const until = drill.stackStarted
    ? 'from the start of the seed until the stack was healthy and the probes answered'
    : 'the seed alone: this step does not start the stack';
  return `Restore took ${seconds(drill.restore.totalMs)}, over restore-time-budget ${seconds(drill.budgetMs)} (${until}): ${restoreParts(drill.restore)}.`;
}

/** "download 0.0 s, decrypt 0.3 s (within write), write 2.1 s, read-back 0.4 s, up 5.2 s, probes 0.3 s, other 0.2 s". */
export function restoreParts(restore: RestoreTime): string {
  const p = restore.parts;
  return [
    `download ${seconds(p.downloadMs)}`,
    `decrypt ${seconds(p.decryptMs)} (within write)`,
    `write ${seconds(p.writeMs)}`,
    `read-back ${seconds(p.readBackMs)}`,
    `up ${seconds(p.upMs)}`,
    `probes ${seconds(p.probesMs)}`,
    `other ${seconds(p.otherMs)}`,
  ].join(', ');
}

/** "12.3 s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function oneLine(text: string): string {
  const line = text.replace(/\n/g, ' ⏎ ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * Crash rounds under load: every round must be proof (the load wrote until the crash, printed only tokens,
 * each once, and stopped when told; the stack came back; the store was read), and lose no token.
 */
export function judgeCrashLoad(crash: CrashLoadOutcome): Findings {
  const failures = crash.rounds.flatMap((round) => {
    const problem = crashRoundNoProof(crash, round);
    if (problem) return [`Crash round ${round.round} (seed ${round.seed}) is no proof: ${problem}.`];
    return (round.lost ?? 0) > 0 ? [crashRoundLoss(round, crash.services, crash.kind)] : [];
  });
  failures.push(...powerLossFailures(crash));
  if (crash.rounds.length === 0) failures.push('Crash under load: no round ran.');
  else if (failures.length === 0 && crash.rounds.length < crash.roundsPlanned)
    failures.push(`Crash under load: only ${crash.rounds.length} of ${crash.roundsPlanned} rounds ran.`);
  return { failures, warnings: [] };
}

/** Why a round proves nothing, or undefined when its tokens were compared with the store. */
export function crashRoundProblem(round: CrashRound): string | undefined {
  if (round.garbage !== undefined) {
    return `the load printed "${round.garbage}", which is not a token: print one token (an id, no spaces) per acknowledged write and nothing else on stdout (psql -qAt, redis-cli without --no-raw)`;
  }
  if (round.acknowledged === 0) {
    return round.endedBeforeCrash
      ? `the load ended before it printed a token: ${round.endedBeforeCrash}`
      : 'the load printed no token: it must print one line per acknowledged write, as soon as the write is acknowledged';
  }
  if (round.endedBeforeCrash) {
    return `the load ended before the crash: ${round.endedBeforeCrash}; it must keep writing until it is stopped (a loop)`;
  }
  if (round.error) return round.error;
  if (round.powerCut?.canaryProblem) {
    return `the power cut is not shown to have worked (${round.powerCut.canaryProblem}); no verdict rests on a cut that may have dropped nothing`;
  }
  if (round.powerCut?.overflowed) {
    return 'a lazy disk held more unflushed writes than its memory cap and had to write them through, so the cut did not drop them all: give the load fewer writes per round (a lighter writer) or more memory';
  }
  if (round.duplicates > 0) {
    return `the load printed ${round.duplicates} token(s) twice (first: ${round.firstDuplicate ?? '?'}), so a lost write could hide behind its twin: print a token of its own per write (an id the store returned, or $COMPOSE_PERSIST_ROUND-n)`;
  }
  if (round.outlivedGrace) {
    return 'the load ignored SIGTERM after it was stopped and had to be killed: let it end on SIGTERM (do not trap it)';
  }
  if (round.leftovers?.length) {
    return `the load left processes running after it was stopped (${round.leftovers.join('; ')}): run it as SERVICE: COMMAND, or stop what it starts when it gets SIGTERM`;
  }
  if (round.lost === undefined) return 'the store was not read back';
  return undefined;
}

/** A round that lost acknowledged writes: the count, the first few lost, and how to replay it. */
export function crashRoundLoss(round: CrashRound, services: string[], kind: CrashKind = 'process'): string {
  const lost = round.lost ?? 0;
  const sample = (round.firstLost ?? []).join(', ');
  const crash =
    kind === 'power-loss'
      ? `a power cut under load: round ${round.round} (seed ${round.seed}) lost ${lost} of ${round.acknowledged} after the SIGKILL and power cut of ${services.join(', ')} `
      : `a crash under load: round ${round.round} (seed ${round.seed}) lost ${lost} of ${round.acknowledged} after the SIGKILL of ${services.join(', ')} `;
  const why =
    kind === 'power-loss'
      ? 'the store acknowledged writes before it made them durable with fsync (e.g. fsync=off, appendfsync everysec, innodb_flush_log_at_trx_commit=2, a writer that never fsyncs)'
      : 'the store acknowledged writes before they were durable (e.g. synchronous_commit=off, appendonly no)';
  return (
    `Acknowledged writes did not survive ${crash}` +
    `(first lost: ${sample}${lost > (round.firstLost?.length ?? 0) ? ', …' : ''}); ${why}. ` +
    `Replay with crash-seed: ${round.seed} and crash-rounds: 1.`
  );
}

/** Why a round of this crash proves nothing (its own problem, or a power-loss round without a cut). */
export function crashRoundNoProof(crash: CrashLoadOutcome, round: CrashRound): string | undefined {
  return crashRoundProblem(round) ?? missingPowerCut(crash, round);
}

/** A power-loss round that read the store back without a power cut behind it tested only a SIGKILL. */
function missingPowerCut(crash: CrashLoadOutcome, round: CrashRound): string | undefined {
  if (crash.kind !== 'power-loss' || round.powerCut) return undefined;
  return 'no power cut was made after the SIGKILL, so only a process crash was tested';
}

/** The real places must come back exactly as they were, and nothing may be left mounted. */
function powerLossFailures(crash: CrashLoadOutcome): string[] {
  const power = crash.power;
  if (!power) return [];
  return [
    ...(power.changed ?? []).map(
      (place) =>
        `Power loss: ${place} changed while the lazy disk was over it (it must never be written): report this as a bug.`,
    ),
    ...(power.teardownError
      ? [
          `Power loss: the lazy disks were not all taken down (${power.teardownError}); the next power-loss run on this machine cleans up what is left.`,
        ]
      : []),
  ];
}

/** The verdict's line: "crash under load: N rounds, M acknowledged writes, 0 lost". */
export function crashLoadLine(crash: CrashLoadOutcome): string {
  const acknowledged = crash.rounds.reduce((sum, r) => sum + r.acknowledged, 0);
  const lost = crash.rounds.reduce((sum, r) => sum + (crashRoundNoProof(crash, r) ? 0 : (r.lost ?? 0)), 0);
  const noProof = crash.rounds.filter((r) => crashRoundNoProof(crash, r)).length;
  const rounds = `${crash.rounds.length} round${crash.rounds.length === 1 ? '' : 's'}`;
  const short = crash.rounds.length < crash.roundsPlanned ? ` of ${crash.roundsPlanned}` : '';
  const what = crash.kind === 'power-loss' ? 'power loss under load' : 'crash under load';
  return `${what}: ${rounds}${short}, ${acknowledged} acknowledged writes, ${lost} lost${noProof ? `, ${noProof} no proof` : ''}`;
}

/** A failed test ends the run: nothing after it would be judged on a stack known to be broken. */
export function stopsTheRun(outcome: PhaseOutcome): boolean {
  return outcome.phase === 'tests' && testFailures(outcome.tests).length > 0;
}

export function testFailures(tests: TestOutcome[]): string[] {
  return tests.filter((t) => t.exitCode !== 0).map((t) => `Test failed: ${t.failure ?? t.command}`);
}

export function anonymousVolumeWarning(where: string): string {
  return `Anonymous volume at ${where}: its data is lost on down-up (map a named volume there).`;
}

/** Files outside volumes are lost on re-creation: a warning, or a failure with `layer-audit: fail`. */
export function judgeLayerAudit(audit: LayerAuditOutcome): Findings {
  if (audit.mode === 'off' || audit.findings.length === 0) return { failures: [], warnings: [] };
  const list = audit.findings.map((f) => `${f.service}:${f.path}`).join(', ');
  const message = `Files written outside volumes would be lost on re-creation: ${list}`;
  return audit.mode === 'fail'
    ? { failures: [message], warnings: [] }
    : { failures: [], warnings: [message] };
}

/** A probe passes when it succeeded both times and printed the same thing (trailing space ignored). */
export function compareProbe(probe: string, before: ProbeReading, after?: ProbeReading): ProbeComparison {
  const beforeText = probeText(before);
  const afterText = after ? probeText(after) : '(not run)';
  return {
    probe,
    before: beforeText,
    after: afterText,
    same: beforeText === afterText && before.exitCode === 0,
  };
}

/** What a probe answered, as compared: its stdout (trailing space cut), or how it failed. */
export function probeText(result: ProbeReading): string {
  const out = result.stdout.trimEnd();
  if (result.timedOut) return `(timed out) ${out}`;
  return result.exitCode === 0 ? out : `(exit ${result.exitCode}) ${result.stderr.trim() || out}`;
}

/**
 * A mode passes when the stack came back, every probe and every place read is as before it, and something
 * was verified at all: a probe, or a place that held files.
 */
export function modePassed(mode: ModeEvidence): boolean {
  return (
    mode.error === undefined &&
    !verifiedNothing(mode) &&
    mode.probes.every((p) => p.same) &&
    mode.volumes.every((v) => v.ok)
  );
}

/**
 * No probe ran and no place read held a file the comparison covered: an unchanged nothing is no proof that
 * data survives, and neither is a place whose only files are transient (left out by a known store or an
 * ignore glob).
 */
export function verifiedNothing(mode: ModeEvidence): boolean {
  return mode.probes.length === 0 && !mode.volumes.some(placeVerified);
}

/** A place proves something when it held files the comparison covered (older reports: any files). */
export function placeVerified(diff: Pick<VolumeDiff, 'filesBefore' | 'filesVerified'>): boolean {
  return (diff.filesVerified ?? diff.filesBefore ?? 1) > 0;
}

/**
 * Each mode's verdict. A mode after a failed one still runs, but it compares against a state that has
 * already lost data: it names that loss instead of standing as proof on its own.
 */
export function judgeModes(modes: ModeEvidence[]): { passed: boolean; afterLoss?: string }[] {
  let lostIn: string | undefined;
  return modes.map((mode) => {
    const verdict = { passed: modePassed(mode), ...(lostIn ? { afterLoss: lostIn } : {}) };
    if (!verdict.passed) lostIn ??= mode.mode;
    return verdict;
  });
}

export function modeFailure(mode: ModeEvidence): string {
  if (mode.error) return `${mode.mode}: ${mode.error}`;
  if (verifiedNothing(mode)) {
    const transient = mode.volumes.some((v) => (v.filesBefore ?? 0) > 0);
    const read = mode.volumes.length
      ? `the ${mode.volumes.length} place(s) read held ${transient ? 'only transient files (left out by a known store or an ignore glob)' : 'no files'}`
      : 'no volume or bind mount was read';
    return `${mode.mode}: nothing was verified (no probe, and ${read}): add a probe, or keep the data in a named volume.`;
  }
  const probes = mode.probes.filter((p) => !p.same).map((p) => `probe "${p.probe}" changed`);
  const volumes = mode.volumes.filter((v) => !v.ok).map(describeVolumeLoss);
  return `Data did not survive ${mode.mode}: ${[...probes, ...volumes].join('; ')}`;
}

/** "volume NAME (db:/var/lib/postgresql/data): PostgreSQL 15 data directory — left out as …", per store. */
export function knownStoreLines(stores: StoreState[]): string[] {
  return stores.flatMap((store) =>
    (store.knownStores ?? []).map(
      (known) =>
        `${placeName({ volume: store.name, kind: store.kind, mountedAt: store.mountedAt })}: ${known}`,
    ),
  );
}

/** What a place is called in a message: its kind and name, and where it is mounted. */
export function placeName(diff: Pick<VolumeDiff, 'volume' | 'kind' | 'mountedAt'>): string {
  const at = diff.mountedAt?.length ? ` (${diff.mountedAt.join(', ')})` : '';
  if (diff.kind === 'anonymous') return `anonymous volume at ${diff.volume}`;
  if (diff.kind === 'bind') return `bind mount ${diff.volume}${at}`;
  return `volume ${diff.volume}`;
}

/** One phrase for what a place lost: the removed files, and with `exact` what changed or was added. */
export function describeVolumeLoss(diff: VolumeDiff): string {
  const sample = (paths: string[]) => `${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', …' : ''}`;
  const name = placeName(diff);
  const fix = diff.kind === 'anonymous' ? `: ${anonymousFix(diff.volume)}` : '';
  if (diff.unreadable) return `${name} could not be read after the restart (${diff.unreadable})${fix}`;
  if (diff.replaced)
    return `${name} was replaced by a new one: its ${diff.filesBefore ?? 'old'} file(s) are gone${fix}`;
  const counts = countsOf(diff);
  const lost = counts.removed ? `lost ${counts.removed} file(s) (${sample(diff.removed)})` : '';
  const shrunk = counts.shrunk
    ? `lost the tail of ${counts.shrunk} append-only file(s) (${sample(diff.shrunk ?? [])}: shorter than before)`
    : '';
  const changedPaths = [...diff.changed.map((c) => c.path), ...diff.added];
  const typeChanged = diff.changed.filter((c) => c.fields.includes('type')).map((c) => c.path);
  const changed =
    diff.policy === 'exact' && changedPaths.length
      ? `changed ${counts.changed + counts.added} (${sample(changedPaths)})`
      : counts.typeChanged
        ? `changed the type of ${counts.typeChanged} (${sample(typeChanged)})`
        : '';
  return `${name} ${[lost, shrunk, changed].filter(Boolean).join(' and ')}${fix}`;
}

/** How many paths a diff found of each kind: its counts, or (older reports) its lists' lengths. */
export function countsOf(diff: VolumeDiff): NonNullable<VolumeDiff['counts']> {
  return (
    diff.counts ?? {
      added: diff.added.length,
      removed: diff.removed.length,
      changed: diff.changed.length,
      typeChanged: diff.changed.filter((c) => c.fields.includes('type')).length,
      shrunk: diff.shrunk?.length ?? 0,
    }
  );
}

/** `service:path` (and ` #n` for a replica) → the fix for data in an anonymous volume. */
function anonymousFix(where: string): string {
  const path = where.slice(where.indexOf(':') + 1).replace(/ #\d+$/, '');
  return `map a named volume at ${path}`;
}

/** Places no restart verifies (tmpfs, unreadable binds) are named, so silence never means "checked". */
export function unverifiedWarning(places: string[]): string[] {
  return places.length ? [`Not verified by any restart: ${places.join('; ')}.`] : [];
}

/**
 * A named volume that was empty after the tests while a service mounting it kept files elsewhere (an
 * anonymous volume, the writable layer): its data most likely went to the wrong path, and its archive is
 * empty. One warning per such volume, naming where the data went.
 */
export function suspiciousVolumes(outcomes: PhaseOutcome[]): string[] {
  const restarts = outcomes.find((o) => o.phase === 'restarts');
  const stores = restarts?.phase === 'restarts' ? (restarts.stores ?? []) : [];
  const audit = outcomes.find((o) => o.phase === 'layer-audit');
  const layer = audit?.phase === 'layer-audit' ? audit.audit.findings : [];
  return stores
    .filter((s) => s.kind === 'volume' && s.files === 0)
    .flatMap((volume) => {
      const elsewhere = dataElsewhere(volume, stores, layer);
      return elsewhere.length
        ? [
            `Volume ${volume.name} is empty after the tests (an archive of it holds nothing), while its service kept data in ${elsewhere.join(', ')}: mount the volume where the service writes.`,
          ]
        : [];
    });
}

function dataElsewhere(volume: StoreState, stores: StoreState[], layer: LayerFinding[]): string[] {
  const services = new Set(volume.mountedAt.map((m) => m.slice(0, m.indexOf(':'))));
  const ofService = (where: string) => services.has(where.slice(0, where.indexOf(':')));
  const anonymous = stores
    .filter((s) => s.kind === 'anonymous' && s.files > 0 && ofService(s.name))
    .map((s) => `anonymous volume ${s.name} (${s.files} file(s))`);
  const written = layer.filter((f) => f.kind !== 'deleted' && services.has(f.service));
  const inLayer = written.length
    ? [
        `the writable layer (${written
          .slice(0, 3)
          .map((f) => `${f.service}:${f.path}`)
          .join(', ')}${written.length > 3 ? ', …' : ''})`,
      ]
    : [];
  return [...anonymous, ...inLayer];
}
