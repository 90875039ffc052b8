// What each phase returns: plain data, judged by the verdict (src/check/verdict.ts) and shown by the report.
// A leaf: it imports only the domain vocabulary.
import type { CheckFilesPolicy, CrashKind, LayerAuditMode } from './domain.js';
import type { DrillOutcome, RecordedProbes, SeedTimes } from './restore.js';

/** What the report says of a seed from a foreign archive (no manifest of ours). */
export const FOREIGN_SEED_PROOF = 'foreign archive: verified by read-back (no per-file manifest)';

export interface SeedOutcome {
  volume: string;
  source: string;
  /** The run the archive came from, when another run's (seed-run-id): which one `latest` chose, and why. */
  from?: string;
  files: number;
  bytes: number;
  digest: string;
  durationMs: number;
  /** A foreign archive (no manifest of ours): verified by the read-back alone. */
  foreign?: boolean;
  /** The archive's name in its store: the object key, the artifact's or cache's file, the path. */
  key?: string;
  /** When the backup was made: the oldest time known for it (the manifest's, else the object's or file's). */
  madeAt?: string;
  /** What madeAt is the time of: archived (the manifest), stored (the object), file written. */
  madeAtOf?: string;
  /** Where the seed's time went. */
  times?: SeedTimes;
  /** The probes' answers the archive's manifest recorded at backup time (record-probes). */
  recorded?: RecordedProbes;
}

export interface TestOutcome {
  where: string;
  command: string;
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
  /** The one-line description of a failed command (exit code or timeout, last lines of output). */
  failure?: string;
}

/** A file written to a container's writable layer: it would be lost when the container is re-created. */
export interface LayerFinding {
  service: string;
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

export interface LayerAuditOutcome {
  mode: LayerAuditMode;
  findings: LayerFinding[];
}

export interface ProbeComparison {
  probe: string;
  before: string;
  after: string;
  same: boolean;
}

/** Where a service keeps files the check reads back: a named volume, a bind mount, an anonymous volume. */
export type StoreKind = 'volume' | 'bind' | 'anonymous';

/** One place's files after a mode against before it (`volume`: its name, bind source, or service:path). */
export interface VolumeDiff {
  volume: string;
  /** Absent: a named volume. */
  kind?: StoreKind;
  /** `service:path` where it is mounted. */
  mountedAt?: string[];
  /** Files it held before the mode: a place that held nothing proves nothing. */
  filesBefore?: number;
  /**
   * Files before the mode that the comparison covered: those no ignore glob or known store left out (a
   * place whose only files are transient proves nothing either). Absent: filesBefore.
   */
  filesVerified?: number;
  /** An anonymous volume the mode replaced with a new one (down-up): the old one's files are gone. */
  replaced?: boolean;
  /** It could not be read after the mode: why. */
  unreadable?: string;
  policy: CheckFilesPolicy;
  ok: boolean;
  /** The first paths of each kind (a bounded number); `counts` says how many there are in all. */
  added: string[];
  removed: string[];
  changed: { path: string; fields: string[] }[];
  /** Append-only files of a known store (an AOF) that are shorter than before: a lost tail. */
  shrunk?: string[];
  /** How many paths were added, removed, changed, changed type and shrank (absent: the lists' lengths). */
  counts?: { added: number; removed: number; changed: number; typeChanged: number; shrunk?: number };
}

/** One restart mode as observed: what the probes and the volumes showed after it, or why it broke. */
export interface ModeEvidence {
  mode: string;
  effect: string;
  /** What the evidence after this mode was compared with: before any restart, a write round, or the mode before. */
  comparedWith: string;
  probes: ProbeComparison[];
  volumes: VolumeDiff[];
  /** The stack did not come back healthy (or the restart itself failed). */
  error?: string;
}

/** A mode as the report shows it: its evidence and the verdict on it. */
export interface ModeOutcome extends ModeEvidence {
  passed: boolean;
  /** The earlier mode that lost data: this one compared against an already damaged state. */
  afterLoss?: string;
}

export interface ServiceLogTail {
  service: string;
  container: string;
  state: string;
  tail: string;
}

export interface ArchiveOutcome {
  volume: string;
  file: string;
  format: string;
  bytes: number;
  digest: string;
  store?: string;
}

/** name, digest, size and file count of a named volume at the end of the run. */
export interface VolumeSummary {
  key: string;
  name: string;
  digest?: string;
  size?: number;
  files?: number;
}

/** A place the check read before the first restart, as it was then (the verdict flags an empty one). */
export interface StoreState {
  kind: StoreKind;
  /** Its name, bind source, or service:path (anonymous). */
  name: string;
  mountedAt: string[];
  files: number;
  bytes: number;
  /** The known stores' data directories found in it, each with what the comparison leaves out. */
  knownStores?: string[];
}

/** The final state of a named volume, from the last fingerprint taken. */
export interface VolumeState {
  digest: string;
  bytes: number;
  files: number;
}

/** One crash round under load, as observed: the verdict decides whether it is proof (check/verdict.ts). */
export interface CrashRound {
  round: number;
  /** The round's seed: crash-seed SEED with crash-rounds 1 replays this round. */
  seed: number;
  /** Time under load the seed chose: from the load's first token to the SIGKILL. */
  plannedLoadMs: number;
  /** Time from the load's first token until the containers were dead (0: it never printed one). */
  loadMs: number;
  /** Distinct tokens the load printed (each one an acknowledged write). */
  acknowledged: number;
  /** Tokens printed again (a lost write could hide behind its twin): the round is not proof. */
  duplicates: number;
  firstDuplicate?: string;
  /** The first line the load printed that is not a token (it was stopped at once). */
  garbage?: string;
  /** The load ended before the crash: how (exit code, last lines). */
  endedBeforeCrash?: string;
  /** The load ignored SIGTERM when it was stopped and was killed after its grace. */
  outlivedGrace?: boolean;
  /** Processes of the load still running in a container after it was stopped (`service: command`). */
  leftovers?: string[];
  /** From the SIGKILL to healthy again. */
  recoveryMs?: number;
  /** The crash, the recovery or the acknowledged command failed: why (nothing was compared). */
  error?: string;
  /** Tokens acknowledged but absent from the store (undefined: not compared). */
  lost?: number;
  /** The first few lost tokens, in the order they were acknowledged. */
  firstLost?: string[];
  /** crash-kind power-loss: what the power cut after the SIGKILL did. */
  powerCut?: PowerCut;
}

/** One power cut over every protected place (crash-kind power-loss). */
export interface PowerCut {
  /** Blocks the disks held, unflushed, at the cut: dropped. */
  droppedBlocks: number;
  /** Writes that reached the disks after the cut (ext4 writing back as it unmounted): discarded. */
  discardedWrites: number;
  /** Why the cut is not shown to have worked (a canary), or absent: the unsynced canaries were gone and the synced ones there. */
  canaryProblem?: string;
  /** A disk held more unflushed writes than its memory cap and wrote them through: the cut proves nothing. */
  overflowed: boolean;
  /** From the cut until every disk was mounted again (journal recovery included). */
  remountMs: number;
}

/** One place a power-loss run copied onto a lazy disk. */
export interface PowerPlace {
  /** The volume's name, `bind SOURCE`, or `anonymous volume at service:path`. */
  name: string;
  /** Its directory on the host. */
  path: string;
  bytes: number;
  copyMs: number;
}

/** How the power-loss rounds were set up and taken down. */
export interface PowerLossSetup {
  places: PowerPlace[];
  /** Stop, copy-in, bind and start, in all. */
  setupMs: number;
  /** What earlier runs had left on this machine and this run removed. */
  cleaned: string[];
  /** Places that were not as before once the lazy disks were gone (they must never be written). */
  changed?: string[];
  /** The lazy disks could not all be taken down: why (this run's cleanup or the next one's finishes it). */
  teardownError?: string;
}

export interface CrashLoadOutcome {
  /** What each round ended in (absent: process, as in reports before crash-kind). */
  kind?: CrashKind;
  /** The services whose containers each round SIGKILLs. */
  services: string[];
  /** The first round's seed (crash-seed, or drawn). */
  seed: number;
  /** Rounds asked for; fewer ran when one could not be proof. */
  roundsPlanned: number;
  rounds: CrashRound[];
  /** crash-kind power-loss: the lazy disks the rounds ran on. */
  power?: PowerLossSetup;
}

/** What one phase returned, tagged by phase, in the order the phases ran. */
export type PhaseOutcome =
  | {
      phase: 'seed';
      seeds: SeedOutcome[];
      /** When the seed phase began (ISO): the restore drill's time counts from here. */
      startedAt?: string;
      /** Fetching the sources onto the runner (downloads, listings). */
      downloadMs?: number;
    }
  /** The stack started (`up`), or was found up (`attach`); image VOLUMEs seen on its containers. */
  | { phase: 'up' | 'attach'; anonymous: string[] }
  | { phase: 'tests'; tests: TestOutcome[] }
  | { phase: 'layer-audit'; audit: LayerAuditOutcome }
  | {
      phase: 'restarts';
      /** Probes that failed before any restart (nothing after them can be compared). */
      brokenProbes: string[];
      /** A `write` command that failed (the mode after it was not run). */
      writeFailures?: string[];
      modes: ModeEvidence[];
      /** Things that happened to the stack behind the check's back (an engine restart). */
      notices: string[];
      serviceLogs?: ServiceLogTail[];
      /** Every place read before the first restart (absent when check-files is off). */
      stores?: StoreState[];
      /** Places where data may live that no restart verifies, each with why (tmpfs, an unreadable bind). */
      unverified?: string[];
      /** Each volume's last fingerprint, when the restarts ran to the end. */
      finalVolumes?: Record<string, VolumeState>;
    }
  /** Crash rounds under load; no `crash` when no load is configured. */
  | { phase: 'crash-load'; crash?: CrashLoadOutcome }
  /** The restore drill (after up): the restore's time, the probes against their recorded answers. */
  | {
      phase: 'drill';
      drill?: DrillOutcome;
      /** Why no drill ran although one was asked for (restore-time-budget, nothing seeded). */
      notice?: string;
    }
  | {
      phase: 'archive';
      archives: ArchiveOutcome[];
      notices: string[];
      /** record-probes: probes that failed at archive time (their answers are not recorded). */
      probeFailures?: string[];
      /** record-probes: the answers recorded in every archive's manifest. */
      recorded?: RecordedProbes;
    };

export type PhaseName = PhaseOutcome['phase'];

/** An error that ended the run early (after the stack was resolved). */
export interface RunError {
  message: string;
  serviceLogs?: ServiceLogTail[];
}
