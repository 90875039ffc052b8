// The shape of report.json, the outputs and the summary. A leaf: only phase outcome types below it.
import type {
  ArchiveOutcome,
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

/** Everything a run found, in one object: outputs, summary and report.json are all views of it. */
export interface Report {
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
  layer: LayerFinding[];
  volumes: VolumeSummary[];
  archives: ArchiveOutcome[];
  serviceLogs: ServiceLogTail[];
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
