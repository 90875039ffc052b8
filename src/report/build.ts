import {
  crashLoadLine,
  crashRoundNoProof,
  judgeCrashLoad,
  judgeDrill,
  judgeModes,
  judgeRun,
  knownStoreLines,
} from '../check/verdict.js';
import type { StackModel } from '../stack/model.js';
import type {
  CrashLoadOutcome,
  PhaseName,
  PhaseOutcome,
  RunError,
  VolumeSummary,
} from '../types/outcomes.js';
import type { DrillOutcome } from '../types/restore.js';
import {
  REPORT_SCHEMA_VERSION,
  RESTORE_EVIDENCE_SCHEMA_VERSION,
  type RestoreEvidence,
  type CrashLoadReport,
  type Report,
  type RunTimeSplit,
  type StackDescription,
  type TimeSplit,
} from './schema.js';

/** Where the stack keeps its data: the stack description without the files it came from. */
type StackPlaces = Omit<StackDescription, 'composeFiles' | 'composeFilesFrom'>;

/** A run as the pipeline saw it: the stack, what each phase returned, and the error that ended it. */
export interface RunRecord {
  project: string;
  model: StackModel;
  outcomes: PhaseOutcome[];
  error?: RunError;
  /** The signal that interrupted the run, as its first failure. */
  interrupted?: string;
  /** Milliseconds per phase. */
  timings: Record<string, number>;
  /** Each timed phase's compose, user-command and tool time. */
  phaseSplits?: Record<string, TimeSplit>;
  /** Compose, user-command and tool time of the run and its phases. */
  timeSplit?: RunTimeSplit;
  startedAt: string;
  finishedAt?: string;
  /** Whether every phase of the run's table ran (the volume summary is only true then). */
  complete: boolean;
  /** The compose files used (for the report) and where they came from. */
  composeFiles?: Pick<StackDescription, 'composeFiles' | 'composeFilesFrom'>;
  /** Warnings about the stack itself (e.g. why the project name is not the file's name:). */
  stackWarnings?: string[];
  /** The data path volume data went through (volumes/data-path.ts), when any was read or written. */
  dataPath?: string;
}

/** The one place a Report is made: the verdict on the outcomes, and the outcomes as the report shows them. */
export function buildReport(run: RunRecord): Report {
  const verdict = judgeRun(run.outcomes, run.error, run.interrupted);
  const of = <P extends PhaseName>(phase: P) =>
    run.outcomes.find((o): o is Extract<PhaseOutcome, { phase: P }> => o.phase === phase);
  const started = run.outcomes.find((o) => o.phase === 'up' || o.phase === 'attach');
  const restarts = of('restarts');
  const archives = of('archive')?.archives ?? [];
  const recorded = of('archive')?.recorded;
  const modes = restarts?.modes ?? [];
  const modeVerdicts = judgeModes(modes);
  const crash = of('crash-load')?.crash;
  const knownStores = knownStoreLines(restarts?.stores ?? []);
  const drill = of('drill')?.drill;
  const seeds = of('seed')?.seeds ?? [];
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    result: verdict.result,
    ...(verdict.firstLoss ? { firstLoss: verdict.firstLoss } : {}),
    failures: verdict.failures,
    warnings: [...(run.stackWarnings ?? []), ...verdict.warnings],
    project: run.project,
    stack: {
      composeFiles: [],
      ...run.composeFiles,
      ...describeStack(run.model, started && 'anonymous' in started ? started.anonymous : undefined),
    },
    seeds,
    tests: of('tests')?.tests ?? [],
    modes: modes.map((m, i) => ({ ...m, ...modeVerdicts[i], passed: modeVerdicts[i]?.passed ?? false })),
    ...(knownStores.length ? { knownStores } : {}),
    ...(crash ? { crashLoad: crashLoadReport(crash) } : {}),
    ...(drill ? { restore: restoreEvidence(run.project, verdict, seeds, drill) } : {}),
    layer: of('layer-audit')?.audit.findings ?? [],
    volumes: run.complete ? summarizeVolumes(run.model, archives, restarts?.finalVolumes) : [],
    archives,
    ...(recorded ? { recordedProbes: recorded } : {}),
    serviceLogs: run.error?.serviceLogs ?? restarts?.serviceLogs ?? [],
    ...(run.dataPath ? { dataPath: run.dataPath } : {}),
    timings: run.timings,
    ...(run.timeSplit ? { timeSplit: run.timeSplit } : {}),
    startedAt: run.startedAt,
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
  };
}

function crashLoadReport(crash: CrashLoadOutcome): CrashLoadReport {
  return {
    ...crash,
    line: crashLoadLine(crash),
    passed: judgeCrashLoad(crash).failures.length === 0,
    noProof: crash.rounds.map((r) => crashRoundNoProof(crash, r) ?? null),
  };
}

/** The drill as restore-evidence.json says it: the backups, the time against the budget, the probes. */
export function restoreEvidence(
  project: string,
  verdict: Pick<Report, 'result' | 'failures'>,
  seeds: Report['seeds'],
  drill: DrillOutcome,
): RestoreEvidence {
  const restoredAt = Date.parse(drill.restoredAt);
  const compared = drill.probes.filter((p) => p.compared);
  return {
    schemaVersion: RESTORE_EVIDENCE_SCHEMA_VERSION,
    kind: 'compose-persist/restore-evidence',
    project,
    verdict: verdict.result,
    drillVerdict: judgeDrill(drill).failures.length === 0 ? 'passed' : 'failed',
    failures: verdict.failures,
    restoreStartedAt: drill.startedAt,
    restoredAt: drill.restoredAt,
    restoreTime: {
      ...drill.restore,
      budgetMs: drill.budgetMs ?? null,
      withinBudget: drill.budgetMs === undefined ? null : drill.restore.totalMs <= drill.budgetMs,
    },
    stackStarted: drill.stackStarted,
    backups: seeds.map((s) => ({
      volume: s.volume,
      store: s.source,
      key: s.key ?? s.source,
      digest: s.digest,
      files: s.files,
      bytes: s.bytes,
      madeAt: s.madeAt ?? null,
      madeAtOf: s.madeAtOf ?? null,
      ageMs: s.madeAt === undefined ? null : Math.max(0, restoredAt - Date.parse(s.madeAt)),
      foreign: s.foreign === true,
      recordedProbes: s.recorded?.probes.length ?? 0,
    })),
    probes: drill.probes,
    probesCompared: compared.length,
    probesSame: compared.filter((p) => p.same).length,
  };
}

export function describeStack(model: StackModel, anonymous?: string[]): StackPlaces {
  return {
    volumes: model.volumes.map((v) => ({
      key: v.key,
      name: v.name,
      external: v.external,
      mounts: v.mounts.map((m) => `${m.service}:${m.target}`),
    })),
    binds: model.binds.map(
      (b) => `${b.service}:${b.target} (bind ${b.source}${b.readOnly ? ', read-only: not checked' : ''})`,
    ),
    tmpfs: model.tmpfs.map((t) => `${t.service}:${t.target} (tmpfs: not persisted by design)`),
    anonymous: anonymous ?? model.anonymous.map((a) => `${a.service}:${a.target}`),
  };
}

/** name, digest, size and file count of each volume: from its archive, else from the last fingerprint. */
function summarizeVolumes(
  model: StackModel,
  archives: Report['archives'],
  last: Record<string, { digest: string; bytes: number; files: number }> | undefined,
): VolumeSummary[] {
  return model.volumes.map((v) => {
    const state = last?.[v.name];
    return {
      key: v.key,
      name: v.name,
      digest: archives.find((a) => a.volume === v.name)?.digest ?? state?.digest,
      size: state?.bytes,
      files: state?.files,
    };
  });
}
