// The shape of report.json, the outputs and the summary. A leaf: only phase outcome types below it.
import type {
  ArchiveOutcome,
  CrashLoadOutcome,
  LayerFinding,
  ModeOutcome,
  SeedOutcome,
  ServiceLogTail,
  TestOutcome,
  VolumeSummary,
} from '../types/outcomes.js';
import type { RunTimeSplit } from '../types/time-ledger.js';
import type { DrillProbe, RecordedProbes, RestoreTime } from '../types/restore.js';

export type * from '../types/outcomes.js';
export type { RunTimeSplit, TimeSplit, UserCommandKind } from '../types/time-ledger.js';
export type * from '../types/restore.js';

/**
 * The version of report.json's shape. Bump it when a field is removed or renamed, or changes meaning or type
 * (what a reader of an older report would misread); adding an optional field does not bump it.
 */
export const REPORT_SCHEMA_VERSION = 1;

/** Everything a run found, in one object: outputs, summary and report.json are all views of it. */
export interface Report {
  /** REPORT_SCHEMA_VERSION of the code that wrote it. */
  schemaVersion: number;
  result: 'passed' | 'failed';
  /** The first data loss found, named in the summary's first line. */
  firstLoss?: string;
  /** One line per reason the run failed. */
  failures: string[];
  warnings: string[];
  project: string;
  stack: StackDescription;
  seeds: SeedOutcome[];
  tests: TestOutcome[];
  modes: ModeOutcome[];
  /** Per place read, each known store's data directory found in it and what the check leaves out there. */
  knownStores?: string[];
  /** Crash rounds under load (absent without a load). */
  crashLoad?: CrashLoadReport;
  /** The restore drill's evidence (absent when nothing was seeded): also written as restore-evidence.json. */
  restore?: RestoreEvidence;
  layer: LayerFinding[];
  volumes: VolumeSummary[];
  archives: ArchiveOutcome[];
  /** record-probes: the probes' answers every archive's manifest recorded. */
  recordedProbes?: RecordedProbes;
  serviceLogs: ServiceLogTail[];
  /** How volume data was read and written: 'host path' or 'engine archive API: <why>' (absent when it was not). */
  dataPath?: string;
  /** Milliseconds per phase: seed, up, tests, check, archive. */
  timings: Record<string, number>;
  /**
   * The run's time (from resolving the stack to this report) split into compose commands, the user's
   * commands (tests, probes, writes) and the tool's own work (the rest); also per timed phase.
   */
  timeSplit?: RunTimeSplit;
  startedAt: string;
  finishedAt?: string;
}

/** Where the stack keeps its data, as the compose model and the containers say. */
export interface StackDescription {
  /** The compose files used, in merge order (relative to the workspace when inside it). */
  composeFiles: string[];
  /** Where they came from: the compose-file input, COMPOSE_FILE, or compose's own lookup. */
  composeFilesFrom?: 'input' | 'COMPOSE_FILE' | 'lookup';
  volumes: { key: string; name: string; external: boolean; mounts: string[] }[];
  binds: string[];
  tmpfs: string[];
  anonymous: string[];
}

/** The crash rounds as observed, the verdict's line on them, and why each round is no proof, if it is not. */
export interface CrashLoadReport extends CrashLoadOutcome {
  /** "crash under load: N rounds, M acknowledged writes, 0 lost". */
  line: string;
  /** Every round ran, was proof, and lost nothing. */
  passed: boolean;
  /** Per round (same order): why it proves nothing, when it does not. */
  noProof: (string | null)[];
}

/**
 * The version of restore-evidence.json's shape (docs/schemas/restore-evidence.schema.json). Bump it when a
 * field is removed or renamed, or changes meaning or type; adding an optional field does not bump it.
 */
export const RESTORE_EVIDENCE_SCHEMA_VERSION = 1;

/** The evidence file's name, beside report.json. */
export const RESTORE_EVIDENCE_FILE = 'restore-evidence.json';

/** What an auditor asks of a restore drill: which backup, when it was restored, how long it took, what was compared. */
export interface RestoreEvidence {
  /** RESTORE_EVIDENCE_SCHEMA_VERSION of the code that wrote it. */
  schemaVersion: number;
  kind: 'compose-persist/restore-evidence';
  project: string;
  /** The run's verdict (the drill's findings are among its failures). */
  verdict: 'passed' | 'failed';
  /** The drill's own verdict: the probes compared, the recorded probes asked, the budget. */
  drillVerdict: 'passed' | 'failed';
  failures: string[];
  /** When the seed began, and when the stack was healthy and the probes had answered (ISO). */
  restoreStartedAt: string;
  restoredAt: string;
  restoreTime: RestoreTime & {
    budgetMs: number | null;
    /** null without a budget. */
    withinBudget: boolean | null;
  };
  /** False in the seed sub-action: the stack was not started, no probe was asked. */
  stackStarted: boolean;
  backups: RestoredBackup[];
  probes: DrillProbe[];
  /** How many probes were compared, and how many of them answered as at backup time. */
  probesCompared: number;
  probesSame: number;
}

/** One backup restored: where it came from, what it held, when it was made. */
export interface RestoredBackup {
  volume: string;
  /** The seed source as given (artifact:NAME, cache:KEY, s3://…, path:FILE). */
  store: string;
  /** The archive's name in that store (object key, file name, path). */
  key: string;
  digest: string;
  files: number;
  bytes: number;
  /** When the backup was made (the oldest time known for it) and what that time is of; null when unknown. */
  madeAt: string | null;
  madeAtOf: string | null;
  /** restoredAt − madeAt, in milliseconds; null when madeAt is unknown. */
  ageMs: number | null;
  /** A foreign backup (no manifest of ours): verified by read-back; its expected answers come from a file. */
  foreign: boolean;
  /** How many probe answers its manifest recorded (0 for older archives and foreign backups). */
  recordedProbes: number;
}
