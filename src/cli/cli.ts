import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { verifySeedArchiveFile, type SeedArchiveOptions } from '../archive/seed-source.js';
import { locationOf, type ArchiveBlob } from '../archive/blob.js';
import { guardSeed, type SeedGuards } from '../phases/seed-guards.js';
import { encryptionKeyProblem } from '../archive/encryption.js';
import { formatFromFileName } from '../archive/format.js';
import {
  CONSISTENCY_MODES,
  DEFAULT_MAX_ARCHIVE_SIZE,
  parseByteSize,
  readSettings,
  type ArchiveConsistency,
} from '../inputs.js';
import { Inputs } from '../constants.js';
import { readRunnerContext, toProjectName } from '../context.js';
import { describeError } from '../boundary.js';
import { DockerEngine, type Engine } from '../docker/engine.js';
import { chosenDataPath } from '../volumes/data-path.js';
import { UserError, errorMessage } from '../errors.js';
import { actionsLog } from '../log.js';
import { runPipeline } from '../pipeline.js';
import { renderTerminalSummary } from '../report/terminal.js';
import { teardownStack, type TeardownPlan } from '../stack/teardown.js';
import { archiveVolume } from '../volumes/archive-volume.js';
import { digestOfVolume } from '../volumes/fingerprint.js';
import { resolveHelperImage } from '../volumes/helper-image.js';
import { seedVolume } from '../volumes/seed-volume.js';
import { FOREIGN_SEED_PROOF } from '../types/outcomes.js';
import { parseArgs, type ParsedArgs } from './args.js';
import { installConsole } from './console.js';
import { stopRunningCommands } from '../check/commands.js';
import { createProgressReporter } from '../report/progress.js';
import { signalExitCode, trapInterrupts, whenAborted, type Interruption } from '../interrupt.js';

const USAGE: Record<string, string> = {
  archive: `compose-persist archive VOLUME FILE [--helper-image IMAGE] [--archive-consistency stop|pause|live] [--encrypt KEY]
  Archives a named volume into FILE; the format follows the extension (.tar, .tar.gz, .tar.zst).
  FILE.tar.zst.enc with --encrypt KEY (or COMPOSE_PERSIST_KEY) writes an authenticated, encrypted archive.
  Running containers that mount the volume are stopped while it is read (stop) and started again.`,
  seed: `compose-persist seed VOLUME FILE|s3://BUCKET/KEY [--overwrite] [--helper-image IMAGE] [--encrypt KEY] [--max-archive-size 20G] [--seed-max-age 26h] [--seed-min-size 100M] [--project P --key K] [--from PATH] [--decrypt-passphrase P] [--decrypt-identity FILE]
  Creates VOLUME (or fills an empty one) from FILE, checks every file against the archive's manifest and reads
  the volume back. An s3:// object is streamed (a prefix ending in / uses its newest object; AWS_* variables
  give the endpoint and credentials). --seed-max-age and --seed-min-size refuse a stale or too small backup.
  A non-empty volume is only replaced with --overwrite, after the archive is verified.
  Any tar backup seeds too (plain, gzip, zstd, bzip2, xz, known by content; .gpg or .age encrypted), verified
  by read-back: the volume is its ./ entries or its one top directory, else --from PATH (the directory inside
  the archive). The passphrase: --decrypt-passphrase, COMPOSE_PERSIST_DECRYPT_PASSPHRASE, or the encrypt key.
  --project P --key K label a volume it creates as compose project P's volume K, so \`compose up\` adopts it
  silently (and \`down -v\` removes it).`,
  digest: `compose-persist digest VOLUME|FILE [--helper-image IMAGE] [--encrypt KEY] [--from PATH] [--decrypt-passphrase P] [--decrypt-identity FILE]
  Prints the volume digest as the last line: the same value for a volume and for an archive made from it.`,
  check: `compose-persist check -f compose.yml [--INPUT VALUE]... [--json] [--verbose]
  Runs the action's main job on this machine: up, tests, restarts, evidence, layer audit, teardown.
  Every action input is a flag of the same name (repeat a flag for multi-line inputs), e.g.
    --restart-modes restart,recreate --probes 'db: psql -U postgres -tAc "select count(*) from t"'
  --working-directory DIR (default: the current directory) is where run and host: commands run and where
  relative paths (-f, --env-file, path: seeds and targets) resolve.`,
};

const GENERAL = `compose-persist — seed, archive and verify Docker volumes.

Usage: compose-persist <command> [options]   (compose-persist <command> --help for more)

${Object.values(USAGE)
  .map((u) => u.split('\n')[0])
  .join('\n')}`;

/** Flags of a foreign backup: where its volume sits, and its gpg/age secrets. */
const FOREIGN_FLAGS = ['from', Inputs.DecryptPassphrase, Inputs.DecryptIdentity];

const SWITCHES = ['help', 'json', 'verbose', 'overwrite', 'keep-volumes'] as const;

/** The flags (with a value) and switches each verb accepts; anything else is a usage error. */
const ACCEPTS: Record<string, { flags: string[]; switches: string[] }> = {
  archive: {
    flags: [Inputs.HelperImage, Inputs.ArchiveConsistency, Inputs.Encrypt],
    switches: ['json', 'verbose'],
  },
  seed: {
    flags: [
      Inputs.HelperImage,
      Inputs.Encrypt,
      Inputs.MaxArchiveSize,
      Inputs.SeedMaxAge,
      Inputs.SeedMinSize,
      'project',
      'key',
      ...FOREIGN_FLAGS,
    ],
    switches: ['json', 'verbose', 'overwrite'],
  },
  digest: {
    flags: [Inputs.HelperImage, Inputs.Encrypt, Inputs.MaxArchiveSize, ...FOREIGN_FLAGS],
    switches: ['verbose'],
  },
  check: { flags: Object.values(Inputs), switches: ['json', 'verbose', 'keep-volumes', 'overwrite'] },
};

/** Live progress on stderr (a rewritten line on a terminal, a line every 10 s otherwise). */
const terminalProgress = createProgressReporter(
  (text) => void process.stderr.write(text),
  process.stderr.isTTY === true,
);

/** What each verb undoes when it is interrupted: the one line printed on the first signal. */
const ON_INTERRUPT: Record<string, string> = {
  archive: 'restoring stopped or paused containers and removing the partial archive',
  seed: 'restoring the volume (removing what the seed wrote)',
  digest: 'stopping the read and removing its helper container',
  check: 'stopping the commands and tearing the stack down',
};

/** How long an interrupted check waits for its phase to end before it tears the stack down anyway. */
const CHECK_GRACE_MS = 10_000;

/** Wrong words on the command line: exit 2 with the verb's usage. */
class UsageError extends UserError {}

/**
 * Runs the CLI; returns the exit code (0 success, 1 check failed or error, 2 usage, 128+n after signal n:
 * SIGINT, SIGTERM and SIGHUP stop the work, which undoes itself first).
 */
export async function runCli(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') return print(GENERAL, 0);
  const usage = USAGE[verb];
  if (!usage) return print(`Unknown command "${verb}".\n\n${GENERAL}`, 2, true);
  let args: ParsedArgs;
  try {
    args = parseArgs(rest, SWITCHES, { f: Inputs.ComposeFile, h: 'help', v: 'verbose' });
    if (args.switches.has('help')) return print(usage, 0);
    checkOptions(verb, args);
  } catch (error) {
    return print(`${errorMessage(error)}\n\n${usage}`, 2, true);
  }
  const json = args.switches.has('json');
  const writeStdout = installConsole({
    verbose: args.switches.has('verbose'),
    color: !json && process.stderr.isTTY === true,
    toStderr: json,
  });
  const interruption = trapInterrupts((signal) => {
    process.stderr.write(`interrupted (${signal}): ${ON_INTERRUPT[verb]}…\n`);
  });
  try {
    const code = await runVerb(verb, args, writeStdout, interruption);
    return interruption.received ? signalExitCode(interruption.received) : code;
  } catch (thrown) {
    const { error, message, stack } = describeError(thrown);
    if (interruption.received) {
      // Only our own errors (a cleanup that failed) are news; the rest echo the abort.
      if (error instanceof UserError && error !== interruption.signal.reason)
        process.stderr.write(`compose-persist ${verb}: ${message}\n`);
      return signalExitCode(interruption.received);
    }
    if (error instanceof UsageError) return print(`${message}\n\n${usage}`, 2, true);
    process.stderr.write(`compose-persist ${verb}: ${message}\n`);
    if (stack && args.switches.has('verbose')) process.stderr.write(`${stack}\n`);
    return 1;
  } finally {
    interruption.dispose();
  }
}

function runVerb(
  verb: string,
  args: ParsedArgs,
  out: (text: string) => void,
  interruption: Interruption,
): Promise<number> {
  const { signal } = interruption;
  switch (verb) {
    case 'archive':
      return archiveCommand(args, out, signal);
    case 'seed':
      return seedCommand(args, out, signal);
    case 'digest':
      return digestCommand(args, out, signal);
    default:
      return checkCommand(args, out, interruption);
  }
}

function checkOptions(verb: string, args: ParsedArgs): void {
  const accepts = ACCEPTS[verb] ?? { flags: [], switches: [] };
  const unknown = [
    ...[...args.flags.keys()].filter((f) => !accepts.flags.includes(f)),
    ...[...args.switches].filter((s) => s !== 'help' && !accepts.switches.includes(s)),
  ];
  if (unknown.length) throw new UsageError(`Unknown option --${unknown[0]} for ${verb}.`);
}

function print(text: string, code: number, toStderr = false): number {
  (toStderr ? process.stderr : process.stdout).write(`${text}\n`);
  return code;
}

function twoPositionals(args: ParsedArgs, verb: string): [string, string] {
  const [volume, file, extra] = args.positional;
  if (!volume || !file || extra) throw new UsageError(`${verb} takes VOLUME and FILE.`);
  return [volume, file];
}

function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.at(-1);
}

function maxArchiveBytes(args: ParsedArgs): number {
  const raw = flag(args, Inputs.MaxArchiveSize) ?? DEFAULT_MAX_ARCHIVE_SIZE;
  const bytes = parseByteSize(raw);
  if (!bytes) throw new UsageError(`--${Inputs.MaxArchiveSize} must be a size such as 512M or 20G.`);
  return bytes;
}

/** --seed-max-age / --seed-min-size, read as the action reads its inputs (same errors). */
function seedGuards(args: ParsedArgs): SeedGuards {
  const settings = readSettings((name) =>
    name === Inputs.SeedMaxAge || name === Inputs.SeedMinSize ? (flag(args, name) ?? '') : '',
  );
  return { maxAgeMs: settings.seedMaxAgeMs, minBytes: settings.seedMinBytes };
}

/** The object an s3:// URL names, or the newest under a prefix (the SDK is loaded only here). */
async function newestObject(url: string): Promise<ArchiveBlob> {
  const { S3Store } = await import('../stores/s3-store.js');
  const [newest] = await new S3Store(url).objects();
  if (!newest) throw new UserError(`No objects under ${url}.`);
  return newest;
}

/** --encrypt KEY, or COMPOSE_PERSIST_KEY so the key stays out of shell history; checked before anything starts. */
function encryptionKey(args: ParsedArgs): string | undefined {
  const key = flag(args, Inputs.Encrypt) ?? (process.env.COMPOSE_PERSIST_KEY || undefined);
  const problem = key === undefined ? undefined : encryptionKeyProblem(key);
  if (problem) throw new UserError(`--${Inputs.Encrypt} (or COMPOSE_PERSIST_KEY) ${problem}`);
  return key;
}

/** Says on stderr which data path the command's volume data went through, and why (data-path.ts). */
async function noteDataPath(engine: Engine, command: string): Promise<void> {
  const dataPath = await chosenDataPath(engine);
  // Its own prefix: `compose-persist <command>:` lines are the command's notices.
  if (dataPath) process.stderr.write(`compose-persist (${command}) data path: ${dataPath}\n`);
}

async function engineAndHelper(args: ParsedArgs) {
  const engine = new DockerEngine();
  await engine.ping();
  const helperImage = await resolveHelperImage(engine, flag(args, Inputs.HelperImage));
  return { engine, helperImage, runLabel: readRunnerContext().uniqueId };
}

async function archiveCommand(
  args: ParsedArgs,
  out: (text: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const [volume, file] = twoPositionals(args, 'archive');
  const key = encryptionKey(args);
  const format = formatFromFileName(file);
  const consistency = (flag(args, Inputs.ArchiveConsistency) ?? 'stop') as ArchiveConsistency;
  if (!CONSISTENCY_MODES.includes(consistency)) {
    throw new UserError(`--${Inputs.ArchiveConsistency} must be one of ${CONSISTENCY_MODES.join(', ')}.`);
  }
  const helper = await engineAndHelper(args);
  const { engine } = helper;
  const result = await archiveVolume(volume, path.resolve(file), {
    ...helper,
    consistency,
    format,
    encryptionKey: key,
    progress: terminalProgress,
    signal,
  });
  await noteDataPath(engine, 'archive');
  for (const changed of result.changedWhileReading)
    process.stderr.write(`warning: ${changed} changed while it was read\n`);
  out(
    args.switches.has('json')
      ? `${JSON.stringify({ volume, file: result.file, format, bytes: result.bytes, digest: result.manifest.digest, files: result.manifest.files })}\n`
      : `archived ${volume} → ${result.file} (${result.manifest.files} files, ${result.bytes} bytes)\n${result.manifest.digest}\n`,
  );
  return 0;
}

async function seedCommand(
  args: ParsedArgs,
  out: (text: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const [volume, file] = twoPositionals(args, 'seed');
  const key = encryptionKey(args);
  const maxBytes = maxArchiveBytes(args);
  const guards = seedGuards(args);
  const input = file.startsWith('s3://') ? await newestObject(file) : path.resolve(file);
  const helper = await engineAndHelper(args);
  const { engine } = helper;
  const result = await seedVolume(volume, input, {
    accept: await guardSeed(input, guards),
    ...helper,
    overwrite: args.switches.has('overwrite'),
    encryptionKey: key,
    maxBytes,
    progress: terminalProgress,
    signal,
    notify: (line) => process.stderr.write(`compose-persist seed: ${line}\n`),
    compose: composeLabels(args),
    foreign: foreignOptions(args, key),
  });
  await noteDataPath(engine, 'seed');
  const proof = result.foreign ? `; ${FOREIGN_SEED_PROOF}` : '';
  out(
    args.switches.has('json')
      ? `${JSON.stringify({ volume, created: result.created, digest: result.manifest.digest, files: result.manifest.files, foreign: result.foreign })}\n`
      : `seeded ${volume} from ${locationOf(input)} (${result.manifest.files} files, ${result.created ? 'new volume' : 'existing volume'}${proof})\n${result.manifest.digest}\n`,
  );
  return 0;
}

/** The CLI's names for the decrypt secrets, in messages. */
const SECRET_FLAGS = {
  passphrase: `--${Inputs.DecryptPassphrase} (or COMPOSE_PERSIST_DECRYPT_PASSPHRASE)`,
  identity: `--${Inputs.DecryptIdentity}`,
};

/** --from PATH and the gpg/age secrets; the passphrase from the environment keeps it out of shell history. */
function foreignOptions(
  args: ParsedArgs,
  encryptKey: string | undefined,
): Pick<SeedArchiveOptions, 'from' | 'decrypt' | 'secretNames'> {
  const passphrase =
    flag(args, Inputs.DecryptPassphrase) ??
    (process.env.COMPOSE_PERSIST_DECRYPT_PASSPHRASE || undefined) ??
    encryptKey;
  const identity = flag(args, Inputs.DecryptIdentity);
  return {
    from: flag(args, 'from'),
    decrypt: { ...(passphrase === undefined ? {} : { passphrase }), ...(identity ? { identity } : {}) },
    secretNames: SECRET_FLAGS,
  };
}

/** --project P --key K: the compose volume a seeded volume stands for (both or neither). */
function composeLabels(args: ParsedArgs): { project: string; key: string } | undefined {
  const project = flag(args, 'project');
  const key = flag(args, 'key');
  if (project === undefined && key === undefined) return undefined;
  if (!project || !key)
    throw new UsageError(
      '--project and --key go together: the compose project and the volume key in its file.',
    );
  if (project !== toProjectName(project)) {
    throw new UsageError(
      `--project "${project}" is not a compose project name; use lowercase letters, digits, - and _ (e.g. "${toProjectName(project)}").`,
    );
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(key)) {
    throw new UsageError(`--key "${key}" is not a compose volume key; use letters, digits, _, . and -.`);
  }
  return { project, key };
}

async function digestCommand(
  args: ParsedArgs,
  out: (text: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const [target, extra] = args.positional;
  if (!target || extra) throw new UsageError('digest takes one VOLUME or FILE.');
  const isFile = existsSync(target) && statSync(target).isFile();
  // Reading a file changes nothing: an interruption just leaves it.
  const key = isFile ? encryptionKey(args) : undefined;
  const manifest = isFile
    ? await Promise.race([
        verifySeedArchiveFile(target, {
          encryptionKey: key,
          maxBytes: maxArchiveBytes(args),
          ...foreignOptions(args, key),
        }),
        whenAborted(signal),
      ])
    : await volumeDigest(target, args, signal);
  out(`${manifest.digest}\n`);
  return 0;
}

async function volumeDigest(volume: string, args: ParsedArgs, signal: AbortSignal) {
  const { engine, helperImage, runLabel } = await engineAndHelper(args);
  return digestOfVolume(volume, { engine, image: helperImage, runLabel }, signal);
}

async function checkCommand(
  args: ParsedArgs,
  out: (text: string) => void,
  interruption: Interruption,
): Promise<number> {
  const ctx = readRunnerContext();
  const read = (name: Inputs) => {
    if (args.switches.has(name)) return 'true';
    // A command line works where it is typed, even inside a GitHub step (whose workspace may be elsewhere).
    if (name === Inputs.WorkingDirectory && !args.flags.has(name)) return process.cwd();
    return (args.flags.get(name) ?? []).join('\n');
  };
  const settings = readSettings(read);
  let plan: TeardownPlan | undefined;
  let tornDown: Promise<unknown> | undefined;
  // Once: the end of the run and an interrupted run's deadline may both ask for it.
  const teardown = async () => {
    if (plan) await (tornDown ??= teardownStack(plan, new DockerEngine(), actionsLog));
  };
  const { signal } = interruption;
  let stopping: Promise<void> | undefined;
  signal.addEventListener('abort', () => {
    stopping = stopRunningCommands();
    // A phase that does not watch the signal (a restart, compose up) is not waited for beyond the grace.
    const deadline = setTimeout(() => {
      void teardown().finally(() => process.exit(signalExitCode(interruption.received ?? 'SIGTERM')));
    }, CHECK_GRACE_MS);
    deadline.unref();
  });
  try {
    const report = await runPipeline(
      settings,
      ctx,
      { saveTeardown: (p) => (plan = p), signal, teardownFollows: true },
      { engine: new DockerEngine(), log: actionsLog },
    );
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    out(
      args.switches.has('json')
        ? `${JSON.stringify(report, null, 2)}\n`
        : renderTerminalSummary(report, color),
    );
    return report.result === 'passed' ? 0 : 1;
  } finally {
    await stopping;
    await teardown();
  }
}
