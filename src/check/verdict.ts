// The one place that says what counts as proof: outcomes and evidence in, pass or fail with reasons out.
// Pure: no I/O, no clock, no engine; every rule is a function with its own unit tests.
import type {
  LayerAuditOutcome,
  ModeEvidence,
  PhaseOutcome,
  ProbeComparison,
  RunError,
  TestOutcome,
  VolumeDiff,
} from '../types/outcomes.js';

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
export function judgeRun(outcomes: PhaseOutcome[], error?: RunError): Verdict {
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const outcome of outcomes) {
    const found = judgePhase(outcome);
    failures.push(...found.failures);
    warnings.push(...found.warnings);
  }
  if (error) failures.push(error.message);
  const firstLoss = outcomes
    .flatMap((o) => (o.phase === 'restarts' ? o.modes : []))
    .find((m) => !modePassed(m));
  return {
    result: failures.length ? 'failed' : 'passed',
    ...(firstLoss ? { firstLoss: modeFailure(firstLoss) } : {}),
    failures,
    warnings,
  };
}

type Findings = Pick<Verdict, 'failures' | 'warnings'>;

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
        warnings: outcome.notices,
      };
    case 'archive':
      return { failures: [], warnings: outcome.notices };
  }
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

function probeText(result: ProbeReading): string {
  const out = result.stdout.trimEnd();
  if (result.timedOut) return `(timed out) ${out}`;
  return result.exitCode === 0 ? out : `(exit ${result.exitCode}) ${result.stderr.trim() || out}`;
}

/** A mode passes when the stack came back and every probe and every volume is as before it. */
export function modePassed(mode: ModeEvidence): boolean {
  return mode.error === undefined && mode.probes.every((p) => p.same) && mode.volumes.every((v) => v.ok);
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
  const probes = mode.probes.filter((p) => !p.same).map((p) => `probe "${p.probe}" changed`);
  const volumes = mode.volumes.filter((v) => !v.ok).map(describeVolumeLoss);
  return `Data did not survive ${mode.mode}: ${[...probes, ...volumes].join('; ')}`;
}

export function describeVolumeLoss(diff: VolumeDiff): string {
  const sample = (paths: string[]) => `${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', …' : ''}`;
  const lost = diff.removed.length ? `lost ${diff.removed.length} file(s) (${sample(diff.removed)})` : '';
  const changedPaths = [...diff.changed.map((c) => c.path), ...diff.added];
  const changed =
    diff.policy === 'exact' && changedPaths.length
      ? `changed ${changedPaths.length} (${sample(changedPaths)})`
      : '';
  return `volume ${diff.volume} ${[lost, changed].filter(Boolean).join(' and ')}`;
}
