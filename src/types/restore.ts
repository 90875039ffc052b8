// The restore drill's vocabulary: probe outputs recorded at backup time, the restore's time and its parts,
// and what the drill observed. A leaf: the manifest, the outcomes and the report all use it.

/** One probe's answer as recorded: the probe as one line (`SERVICE: COMMAND`), its output (trailing space cut). */
export interface RecordedProbe {
  probe: string;
  output: string;
}

/** The probes' answers at archive time, as a manifest carries them (absent in older manifests). */
export interface RecordedProbes {
  /** ISO time the probes answered, right before the volumes were read. */
  recordedAt: string;
  probes: RecordedProbe[];
}

/** Where one seed's time went, in milliseconds. */
export interface SeedTimes {
  /** The decryptor's own time while the archive streamed into the volume: part of `writeMs`. */
  decryptMs: number;
  /** Archive → volume: read, decrypt, decompress, check and write, streamed. */
  writeMs: number;
  /** The volume read back and its digest compared. */
  readBackMs: number;
}

/**
 * A restore's time, from the start of the seed until the stack was healthy and the probes answered, and its
 * parts. download + write + read-back + up + probes + other = total; decrypt is inside write (streamed).
 */
export interface RestoreTime {
  totalMs: number;
  parts: {
    /** Fetching archives onto the runner (artifact, cache); a streamed S3 object downloads during write. */
    downloadMs: number;
    decryptMs: number;
    writeMs: number;
    readBackMs: number;
    /** `up` until healthy (0 when the run does not start the stack: the seed sub-action). */
    upMs: number;
    probesMs: number;
    /** The rest: opening and checking archives, helper containers, a backup of a volume overwritten. */
    otherMs: number;
  };
}

/** One probe as the drill saw it, against what it printed at backup time (or the expected-probes file). */
export interface DrillProbe {
  probe: string;
  /** What it must print; absent when nothing was recorded for it. */
  expected?: string;
  /** Where `expected` came from: a seeded archive's manifest, or the expected-probes file. */
  expectedFrom?: string;
  actual: string;
  /** False for uncompared-probes and for probes nothing was recorded for. */
  compared: boolean;
  /** Compared, the probe succeeded and printed exactly `expected`. */
  same?: boolean;
  /** Why it was not compared. */
  note?: string;
}

/** What the restore drill observed; the verdict (check/verdict.ts) judges it. */
export interface DrillOutcome {
  /** When the seed began, and when the stack was healthy and the probes had answered (ISO). */
  startedAt: string;
  restoredAt: string;
  restore: RestoreTime;
  budgetMs?: number;
  /** False in the seed sub-action: no stack was started, no probe ran (up and probes are 0). */
  stackStarted: boolean;
  probes: DrillProbe[];
  /** Probes a backup recorded that this run does not run: their answers were not checked. */
  unrun: { probe: string; from: string }[];
  /** Probes whose expected outputs disagree between two sources (archives of different runs). */
  conflicts: string[];
}
