import { encryptionKeyProblem } from './archive/encryption.js';
import { SEED_LIMIT } from './check/crash-plan.js';
import { Inputs } from './constants.js';
import { UserError } from './errors.js';

import {
  ARCHIVE_FORMATS,
  CHECK_FILES_POLICIES,
  CONSISTENCY_MODES,
  CRASH_KINDS,
  KNOWN_STORES_MODES,
  LAYER_AUDIT_MODES,
  PULL_POLICIES,
  RESTART_MODES,
  RESTART_ORDERS,
  type ArchiveConsistency,
  type CheckFilesPolicy,
  type CommandSpec,
  type CrashKind,
  type KnownStoresMode,
  type LayerAuditMode,
  type RestartMode,
  type RestartOrder,
  commandLine,
} from './types/domain.js';

export * from './types/domain.js';

export interface SeedSpec {
  /** The compose volume key (or a full volume name). */
  volume: string;
  source: string;
  /** SOURCE#PATH: where the volume sits inside a foreign archive. */
  from?: string;
}

/** Every input, parsed and validated once. */
export interface Settings {
  composeFiles: string[];
  projectName?: string;
  profiles: string[];
  envFile?: string;
  services: string[];
  waitTimeoutSeconds: number;
  pull?: string;
  seeds: SeedSpec[];
  /** Where artifact seeds come from: this run unless a run id (or 'latest') is given. */
  seedRun?: { runId: number | 'latest'; repository?: string; workflow?: string; branch?: string };
  seedOptional: boolean;
  /** Refuse a backup older than this (milliseconds). */
  seedMaxAgeMs?: number;
  /** Refuse a backup whose data is smaller than this (bytes). */
  seedMinBytes?: number;
  restoreKeys: string[];
  githubToken?: string;
  overwrite: boolean;
  run?: string;
  exec: CommandSpec[];
  /** run/exec commands are killed after this many seconds. */
  testTimeoutSeconds: number;
  probes: CommandSpec[];
  /** Run the probes at archive time and record their outputs in each archive's manifest. */
  recordProbes: boolean;
  /** Keys (commandLine) of probes the restore drill shows but never compares. */
  uncomparedProbes: string[];
  /** A JSON file of expected probe outputs for backups that record none (as given; resolved in the working directory). */
  expectedProbes?: string;
  /** Fail when the restore (seed start → healthy stack and probes answered) takes longer (milliseconds). */
  restoreTimeBudgetMs?: number;
  /** Run before every restart mode (COMPOSE_PERSIST_ROUND=n), so each mode is tested on fresh writes. */
  write: CommandSpec[];
  /** Writers run during the crash rounds, each printing one token per acknowledged write. */
  load: CommandSpec[];
  /** Commands printing every token the store holds after recovery. */
  acknowledged: CommandSpec[];
  crashRounds: number;
  /** Seed of the first crash round; undefined: drawn at random (and printed). */
  crashSeed?: number;
  /** What a crash round ends in: a SIGKILL (`process`), or a SIGKILL and a power cut of the places it writes. */
  crashKind: CrashKind;
  restartModes: RestartMode[];
  restartOrder: RestartOrder;
  checkFiles: CheckFilesPolicy;
  ignore: { volume: string; glob: string }[];
  /** Recognise the data directories of known stores and leave out what each treats as transient. */
  knownStores: KnownStoresMode;
  layerAudit: LayerAuditMode;
  layerIgnore: string[];
  /** Store specs (one per line), or [] for the default (artifact on GitHub, a local directory elsewhere); 'none' turns it off. */
  archiveTo: string[];
  artifactName?: string;
  retentionDays?: number;
  archiveFormat: (typeof ARCHIVE_FORMATS)[number];
  archiveConsistency: ArchiveConsistency;
  /** Key (from a secret) that encrypts archives written and decrypts `.enc` archives seeded. */
  encryptKey?: string;
  /** Passphrase of gpg/age backups seeded (else encryptKey); never logged. */
  decryptPassphrase?: string;
  /** age identity: an AGE-SECRET-KEY-1… line or a file of them. */
  decryptIdentity?: string;
  /** Largest tar stream a seed may expand to (decompression bombs stop there). */
  maxArchiveBytes: number;
  helperImage?: string;
  keepVolumes: boolean;
  /** As given (relative to the workspace); inWorkingDirectory resolves it. Unset: the workspace. */
  workingDirectory?: string;
}

/** Reads one raw input by name ('' when unset): core.getInput on GitHub, flags in the CLI. */
export type InputReader = (name: Inputs) => string;

export function readSettings(read: InputReader): Settings {
  return {
    // [] = compose's own choice (COMPOSE_FILE, else its file lookup): see stack/compose-files.ts.
    composeFiles: lines(read(Inputs.ComposeFile)),
    projectName: optional(read(Inputs.ProjectName)),
    profiles: list(read(Inputs.Profiles)),
    envFile: optional(read(Inputs.EnvFile)),
    services: list(read(Inputs.Services)),
    waitTimeoutSeconds: positiveInt(read, Inputs.WaitTimeout, 120, 'seconds'),
    pull: optional(oneOf(read, Inputs.Pull, PULL_POLICIES, '')),
    seeds: keyedLines(read(Inputs.Seed), Inputs.Seed, 'VOLUME: SOURCE').map(([volume, line]) => {
      const { source, from } = sourceAndFrom(line);
      return { volume, source: withArtifactNameChecked(source, Inputs.Seed), ...(from ? { from } : {}) };
    }),
    seedRun: seedRun(read),
    seedOptional: bool(read, Inputs.SeedOptional, false),
    seedMaxAgeMs: duration(read, Inputs.SeedMaxAge),
    seedMinBytes: read(Inputs.SeedMinSize).trim() ? byteSize(read, Inputs.SeedMinSize, '') : undefined,
    restoreKeys: lines(read(Inputs.RestoreKeys)),
    githubToken: optional(read(Inputs.GithubToken)),
    overwrite: bool(read, Inputs.Overwrite, false),
    run: optional(read(Inputs.Run)),
    exec: commandLines(read(Inputs.Exec), Inputs.Exec, false),
    testTimeoutSeconds: positiveInt(read, Inputs.TestTimeout, 1800, 'seconds'),
    ...restoreDrill(read),
    write: commandLines(read(Inputs.Write), Inputs.Write, false),
    ...crashLoad(read),
    restartModes: listOf(read, Inputs.RestartModes, RESTART_MODES, ['recreate']),
    restartOrder: oneOf(read, Inputs.RestartOrder, RESTART_ORDERS, 'crash-first'),
    checkFiles: oneOf(read, Inputs.CheckFiles, CHECK_FILES_POLICIES, 'no-loss'),
    ignore: keyedLines(read(Inputs.Ignore), Inputs.Ignore, 'VOLUME: GLOB').map(([volume, glob]) => ({
      volume,
      glob,
    })),
    knownStores: oneOf(read, Inputs.KnownStores, KNOWN_STORES_MODES, 'auto'),
    layerAudit: oneOf(read, Inputs.LayerAudit, LAYER_AUDIT_MODES, 'warn'),
    layerIgnore: list(read(Inputs.LayerIgnore)),
    archiveTo: lines(read(Inputs.ArchiveTo)).map((line) => withArtifactNameChecked(line, Inputs.ArchiveTo)),
    artifactName: artifactName(read),
    retentionDays: read(Inputs.RetentionDays).trim()
      ? positiveInt(read, Inputs.RetentionDays, 0, 'days')
      : undefined,
    archiveFormat: oneOf(read, Inputs.ArchiveFormat, ARCHIVE_FORMATS, 'auto'),
    archiveConsistency: oneOf(read, Inputs.ArchiveConsistency, CONSISTENCY_MODES, 'stop'),
    encryptKey: encryptKey(read),
    decryptPassphrase: optional(read(Inputs.DecryptPassphrase)),
    decryptIdentity: optional(read(Inputs.DecryptIdentity)),
    maxArchiveBytes: byteSize(read, Inputs.MaxArchiveSize, DEFAULT_MAX_ARCHIVE_SIZE),
    helperImage: optional(read(Inputs.HelperImage)),
    keepVolumes: bool(read, Inputs.KeepVolumes, false),
    workingDirectory: optional(read(Inputs.WorkingDirectory)),
  };
}

export const DEFAULT_MAX_ARCHIVE_SIZE = '20G';

/** "512M", "20G", "1.5T" or plain bytes, in powers of 1024. */
export function parseByteSize(raw: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(raw.trim());
  if (!match) return undefined;
  const power = ['', 'K', 'M', 'G', 'T'].indexOf((match[2] ?? '').toUpperCase());
  return Math.floor(Number(match[1]) * 1024 ** power);
}

function byteSize(read: InputReader, input: Inputs, fallback: string): number {
  const raw = read(input).trim() || fallback;
  const bytes = parseByteSize(raw);
  if (!bytes) throw new UserError(`Input '${input}' must be a size such as 512M or 20G, got "${raw}".`);
  return bytes;
}

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "26h", "90m", "7d", "1d12h" → milliseconds; undefined when it is not such a duration. */
export function parseDuration(raw: string): number | undefined {
  const text = raw.trim().toLowerCase();
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
    ms += Number(amount) * (DURATION_UNITS[unit as string] as number);
  }
  return ms > 0 ? ms : undefined;
}

function duration(read: InputReader, input: Inputs): number | undefined {
  const raw = read(input).trim();
  if (raw === '') return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined)
    throw new UserError(`Input '${input}' must be a duration such as 26h, 90m or 7d, got "${raw}".`);
  return ms;
}

/** Non-empty trimmed lines; `#` starts a comment line. */
export function lines(raw: string): string[] {
  return raw
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** A comma- or newline-separated list. */
export function list(raw: string): string[] {
  return lines(raw.replace(/,/g, '\n'));
}

function optional(raw: string): string | undefined {
  const value = raw.trim();
  return value === '' ? undefined : value;
}

function keyedLines(raw: string, input: Inputs, shape: string): [string, string][] {
  return lines(raw).map((line) => {
    const colon = line.indexOf(':');
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (colon <= 0 || !key || !value || /\s/.test(key)) {
      throw new UserError(`Input '${input}': line "${line}" is not of the form ${shape}.`);
    }
    return [key, value];
  });
}

/** `SOURCE#PATH` → the source and the directory inside the archive that holds the volume (the last `#`). */
function sourceAndFrom(line: string): { source: string; from?: string } {
  const hash = line.lastIndexOf('#');
  if (hash < 0) return { source: line };
  const from = line.slice(hash + 1).trim();
  if (from === '' || from.startsWith('/') || from.split('/').includes('..')) {
    throw new UserError(
      `Input '${Inputs.Seed}': "${line}" ends in #${from}: after # give the directory inside the archive that holds the volume, relative, without '..' (e.g. #backup/pgdata).`,
    );
  }
  return { source: line.slice(0, hash).trim(), from };
}

/** The part of a command line before its colon: `host` or a compose service name. */
const TARGET = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:/;

/**
 * The one syntax of `exec` and `probes` lines: `SERVICE: COMMAND` or `host: COMMAND`, with a space after the
 * colon. A line that starts like a target but does not fit (`db:psql`, `db :psql`) is refused, never run on
 * the host. A probe line with no target in front (`curl http://x`) is a host command, as it always was.
 */
function commandLines(raw: string, input: Inputs, bareIsHost: boolean): CommandSpec[] {
  return lines(raw).map((line) => {
    const target = TARGET.exec(line);
    if (!target) {
      if (bareIsHost) return { target: 'host', command: line };
      throw notACommandLine(input, line, `write "SERVICE: ${line}" (or "host: ${line}")`);
    }
    const name = target[1] as string;
    const command = line.slice(target[0].length).trim();
    const exact = line.startsWith(`${name}:`) && /^\s/.test(line.slice(name.length + 1));
    if (!exact || command === '') {
      throw notACommandLine(input, line, `write "${name}: ${command || 'COMMAND'}"`);
    }
    return { target: name === 'host' ? 'host' : { service: name }, command };
  });
}

function notACommandLine(input: Inputs, line: string, fix: string): UserError {
  return new UserError(
    `Input '${input}': line "${line}" is not SERVICE: COMMAND (a space after the colon): ${fix}.`,
  );
}

/** Probe lines read as the probes input reads them (a line with no target is a host command). */
export function probeLines(raw: string, input: Inputs): CommandSpec[] {
  return commandLines(raw, input, true);
}

/** The probes, and the restore drill's inputs about them; uncompared-probes must name probes that exist. */
function restoreDrill(
  read: InputReader,
): Pick<Settings, 'probes' | 'recordProbes' | 'uncomparedProbes' | 'expectedProbes' | 'restoreTimeBudgetMs'> {
  const probes = probeLines(read(Inputs.Probes), Inputs.Probes);
  const known = new Set(probes.map(commandLine));
  const uncompared = probeLines(read(Inputs.UncomparedProbes), Inputs.UncomparedProbes).map(commandLine);
  const unknown = uncompared.filter((key) => !known.has(key));
  if (unknown.length) {
    throw new UserError(
      `Input '${Inputs.UncomparedProbes}': "${unknown[0]}" is not one of the probes (${[...known].join('; ') || 'none given'}); copy the probe line as written in '${Inputs.Probes}'.`,
    );
  }
  const budget = duration(read, Inputs.RestoreTimeBudget);
  const recordProbes = bool(read, Inputs.RecordProbes, false);
  if (recordProbes && probes.length === 0) {
    throw new UserError(
      `Input '${Inputs.RecordProbes}: true' needs '${Inputs.Probes}': the commands whose outputs the archive records (e.g. db: psql -U postgres -tAc "select count(*) from orders").`,
    );
  }
  return {
    probes,
    recordProbes,
    uncomparedProbes: uncompared,
    expectedProbes: optional(read(Inputs.ExpectedProbes)),
    ...(budget === undefined ? {} : { restoreTimeBudgetMs: budget }),
  };
}

/** load and acknowledged go together; crash-rounds and crash-seed only mean something with them. */
function crashLoad(
  read: InputReader,
): Pick<Settings, 'load' | 'acknowledged' | 'crashRounds' | 'crashSeed' | 'crashKind'> {
  const load = commandLines(read(Inputs.Load), Inputs.Load, false);
  const acknowledged = commandLines(read(Inputs.Acknowledged), Inputs.Acknowledged, false);
  if (load.length && !acknowledged.length) {
    throw new UserError(
      `Input '${Inputs.Load}' needs '${Inputs.Acknowledged}': a command printing every token the store holds after the crash (e.g. db: psql -U postgres -tAc "select id from t").`,
    );
  }
  if (acknowledged.length && !load.length) {
    throw new UserError(
      `Input '${Inputs.Acknowledged}' needs '${Inputs.Load}': a writer printing one token per acknowledged write (e.g. db: while true; do psql -U postgres -qAtc "insert into t default values returning id"; done).`,
    );
  }
  const crashKind = oneOf(read, Inputs.CrashKind, CRASH_KINDS, 'process');
  if (crashKind === 'power-loss' && !load.length) {
    throw new UserError(
      `Input '${Inputs.CrashKind}: power-loss' needs '${Inputs.Load}' and '${Inputs.Acknowledged}': the power cut ends each crash round under load, and without a load there is none.`,
    );
  }
  return {
    load,
    acknowledged,
    crashRounds: positiveInt(read, Inputs.CrashRounds, 3, 'rounds'),
    crashSeed: crashSeed(read),
    crashKind,
  };
}

/** Largest crash-seed: seeds are 32-bit, as the generator that draws each round's time under load. */
const MAX_CRASH_SEED = SEED_LIMIT - 1;

function crashSeed(read: InputReader): number | undefined {
  const raw = read(Inputs.CrashSeed).trim();
  if (raw === '' || raw === 'random') return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > MAX_CRASH_SEED) {
    throw new UserError(
      `Input '${Inputs.CrashSeed}' must be random or a whole number from 0 to ${MAX_CRASH_SEED} (the seed a failed run printed), got "${raw}".`,
    );
  }
  return value;
}

function encryptKey(read: InputReader): string | undefined {
  const key = optional(read(Inputs.Encrypt));
  const problem = key === undefined ? undefined : encryptionKeyProblem(key);
  if (problem) throw new UserError(`Input '${Inputs.Encrypt}' ${problem}`);
  return key;
}

/** What GitHub refuses in an artifact name (as @actions/artifact's validateArtifactName does, at upload). */
const ARTIFACT_NAME_FORBIDDEN = /[":<>|*?\r\n\\/]/;

function artifactName(read: InputReader): string | undefined {
  const name = optional(read(Inputs.ArtifactName));
  if (name !== undefined) checkArtifactName(name, Inputs.ArtifactName);
  return name;
}

/** A store spec `artifact:NAME` has its NAME checked; any other line is returned as it is. */
function withArtifactNameChecked(spec: string, input: Inputs): string {
  const match = /^artifact:(.*)$/.exec(spec.trim());
  if (match && (match[1] as string).trim() !== '') checkArtifactName((match[1] as string).trim(), input);
  return spec;
}

function checkArtifactName(name: string, input: Inputs): void {
  if (!ARTIFACT_NAME_FORBIDDEN.test(name)) return;
  throw new UserError(
    `Input '${input}': "${name}" is not a valid artifact name: it must not contain " : < > | * ? \\ / or a line break.`,
  );
}

function positiveInt(read: InputReader, input: Inputs, fallback: number, unit: string): number {
  const raw = read(input).trim();
  if (raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new UserError(`Input '${input}' must be a positive whole number of ${unit}, got "${raw}".`);
  }
  return value;
}

function seedRun(read: InputReader): Settings['seedRun'] {
  const raw = read(Inputs.SeedRunId).trim();
  if (raw === '') return undefined;
  const runId = raw === 'latest' ? 'latest' : positiveInt(read, Inputs.SeedRunId, 0, 'a run id (or latest)');
  const workflow = optional(read(Inputs.SeedWorkflow));
  if (runId === 'latest' && !workflow) {
    throw new UserError(
      `Input '${Inputs.SeedRunId}: latest' needs '${Inputs.SeedWorkflow}' (the workflow file that made the archive, e.g. nightly.yml).`,
    );
  }
  return {
    runId,
    repository: optional(read(Inputs.SeedRepository)),
    workflow,
    branch: optional(read(Inputs.SeedBranch)),
  };
}

function bool(read: InputReader, input: Inputs, fallback: boolean): boolean {
  const raw = read(input).trim().toLowerCase();
  if (raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new UserError(`Input '${input}' must be true or false, got "${raw}".`);
}

function oneOf<T extends string>(read: InputReader, input: Inputs, valid: readonly T[], fallback: T): T {
  const raw = read(input).trim();
  if (raw === '') return fallback;
  if ((valid as readonly string[]).includes(raw)) return raw as T;
  throw new UserError(`Input '${input}' must be one of ${valid.join(', ')}; got "${raw}".`);
}

function listOf<T extends string>(read: InputReader, input: Inputs, valid: readonly T[], fallback: T[]): T[] {
  const items = list(read(input));
  if (items.length === 0) return fallback;
  const bad = items.filter((item) => !(valid as readonly string[]).includes(item));
  if (bad.length) {
    throw new UserError(
      `Input '${input}': unknown value ${bad.join(', ')}; valid values are ${valid.join(', ')}.`,
    );
  }
  return items as T[];
}
