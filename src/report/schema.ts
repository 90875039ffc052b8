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

export type * from '../types/outcomes.js';
export type { RunTimeSplit, TimeSplit, UserCommandKind } from '../types/time-ledger.js';

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
  /** Crash rounds under load (absent without a load). */
  crashLoad?: CrashLoadReport;
  layer: LayerFinding[];
  volumes: VolumeSummary[];
  archives: ArchiveOutcome[];
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
