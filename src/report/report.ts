import type { VolumeDiff } from '../check/evidence.js';
import type { LayerFinding } from '../check/layer-audit.js';
import type { ServiceLogTail } from '../stack/lifecycle.js';

export interface ProbeComparison {
  probe: string;
  before: string;
  after: string;
  same: boolean;
}

export interface ModeOutcome {
  mode: string;
  effect: string;
  passed: boolean;
  probes: ProbeComparison[];
  volumes: VolumeDiff[];
  error?: string;
}

export interface VolumeSummary {
  key: string;
  name: string;
  digest?: string;
  size?: number;
  files?: number;
}

export interface TestOutcome {
  where: string;
  command: string;
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
}

export interface ArchiveOutcome {
  volume: string;
  file: string;
  format: string;
  bytes: number;
  digest: string;
  store?: string;
}

export interface SeedOutcome {
  volume: string;
  source: string;
  files: number;
  bytes: number;
  digest: string;
  durationMs: number;
}

/** Everything a run found, in one object: outputs, summary and report.json are all views of it. */
export interface Report {
  result: 'passed' | 'failed';
  /** One line per reason the run failed. */
  failures: string[];
  warnings: string[];
  project: string;
  stack: {
    volumes: { key: string; name: string; external: boolean; mounts: string[] }[];
    binds: string[];
    tmpfs: string[];
    anonymous: string[];
  };
  seeds: SeedOutcome[];
  tests: TestOutcome[];
  modes: ModeOutcome[];
  layer: LayerFinding[];
  volumes: VolumeSummary[];
  archives: ArchiveOutcome[];
  serviceLogs: ServiceLogTail[];
  /** Milliseconds per phase: seed, up, tests, check, archive. */
  timings: Record<string, number>;
  startedAt: string;
  finishedAt?: string;
}

export function emptyReport(project: string): Report {
  return {
    result: 'passed',
    failures: [],
    warnings: [],
    project,
    stack: { volumes: [], binds: [], tmpfs: [], anonymous: [] },
    seeds: [],
    tests: [],
    modes: [],
    layer: [],
    volumes: [],
    archives: [],
    serviceLogs: [],
    timings: {},
    startedAt: new Date().toISOString(),
  };
}

export function fail(report: Report, reason: string): void {
  report.result = 'failed';
  report.failures.push(reason);
}
