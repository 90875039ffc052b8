// How volume data gets in and out: through the engine's archive API (GET/PUT /containers/{id}/archive, any
// engine), or with GNU tar on the volume's directory on this host (a local rootful engine, root or sudo -n).
// The host path is 2× faster on many small files and keeps what the API loses (xattrs, ACLs, sub-second
// mtimes); it is chosen once per engine (per run), with the reason the report states.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, pipeline as pipeStreams, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RUN_LABEL } from '../constants.js';
import { engineAddress, engineOnThisHost, type Engine } from '../docker/engine.js';
import { rootAccess, type Privileged } from '../host/privileged.js';
import { UserError, errorMessage } from '../errors.js';
import { ARCHIVE_ROOT } from '../archive/manifest.js';
import {
  HELPER_MOUNT,
  HELPER_MOUNT_PARENT,
  assertVolumeName,
  withBindHelper,
  withVolumeHelper,
  type HelperOptions,
} from './helper.js';

/**
 * The environment variable that chooses a path: `auto` (the default: the host path where it is available,
 * else the engine's archive API, with the reason), `host` (fails when it is not available) or `engine`.
 * The host path beats the API on every volume shape bench/volumes measures (docs/performance.md).
 */
export const DATA_PATH_ENV = 'COMPOSE_PERSIST_DATA_PATH';

export type DataPath =
  | { kind: 'engine'; reason: string }
  | {
      kind: 'host';
      reason: 'host path';
      /** Root as we are, or through `sudo -n`. */
      root: Privileged;
    };

export type HostDataPath = Extract<DataPath, { kind: 'host' }>;

const chosen = new WeakMap<Engine, Promise<DataPath>>();

/** The data path for this engine, chosen on first use and kept (one engine object per run). */
export function dataPathOf(engine: Engine, runLabel: string): Promise<DataPath> {
  let choice = chosen.get(engine);
  if (!choice) {
    choice = chooseDataPath(engine, runLabel);
    chosen.set(engine, choice);
  }
  return choice;
}

/** The reason of the path chosen for this engine, once volume data was read or written (else undefined). */
export async function chosenDataPath(engine: Engine): Promise<string | undefined> {
  const choice = chosen.get(engine);
  return choice ? describeDataPath(await choice) : undefined;
}

/** How reports and logs name the path: "host path" or "engine archive API: <why>". */
export function describeDataPath(dataPath: DataPath): string {
  return dataPath.kind === 'host' ? 'host path' : dataPath.reason;
}

async function chooseDataPath(engine: Engine, runLabel: string): Promise<DataPath> {
  const asked = (process.env[DATA_PATH_ENV] ?? '').trim().toLowerCase();
  if (!['auto', 'host', 'engine', ''].includes(asked)) {
    throw new UserError(`${DATA_PATH_ENV}=${asked} is not a data path: use auto, host or engine.`);
  }
  if (asked === 'engine') return engineApi(`asked for (${DATA_PATH_ENV}=engine)`);
  const access = await hostPathAccess(engine, runLabel);
  if (typeof access !== 'string') return { kind: 'host', reason: 'host path', root: access };
  if (asked === 'host') {
    throw new UserError(`${DATA_PATH_ENV}=host, but the host path is not available: ${access}.`);
  }
  return engineApi(access);
}

function engineApi(why: string): DataPath {
  return { kind: 'engine', reason: `engine archive API: ${why}` };
}

/** Root access for the host path, or why the host path cannot be used. */
async function hostPathAccess(engine: Engine, runLabel: string): Promise<Privileged | string> {
  if (!engineOnThisHost()) return `the engine is reached at ${engineAddress()}, not on this host`;
  const root = rootAccess();
  if (root === undefined) return 'not root, and sudo -n is not allowed';
  if (!hasGnuTar(root)) return 'no GNU tar with --xattrs and --acls on this host';
  try {
    return (await probeVolumeDirectory(engine, runLabel, root)) ?? root;
  } catch (error) {
    return `probing the engine's volume directory failed (${errorMessage(error)})`;
  }
}

function hasGnuTar(root: Privileged): boolean {
  const probe = spawnSync(...root.command('tar', ['--xattrs', '--acls', '--version']), { encoding: 'utf8' });
  return probe.status === 0 && /GNU tar/.test(probe.stdout);
}

/**
 * A volume made for the probe must show up here as a directory owned by root: then the engine keeps its
 * volumes on this host's file system as this host's root (not a remote engine behind a forwarded socket,
 * not rootless or user-namespaced, where numeric owners would be shifted). Removed again at once.
 */
async function probeVolumeDirectory(
  engine: Engine,
  runLabel: string,
  root: Privileged,
): Promise<string | undefined> {
  const name = `compose-persist-probe-${randomBytes(6).toString('hex')}`;
  await engine.createVolume(name, { [RUN_LABEL]: runLabel });
  try {
    const info = await engine.inspectVolume(name);
    if (!info?.mountpoint) return 'the engine reports no volume mountpoints';
    const owner = await hostOwner(info.mountpoint, root);
    if (owner === undefined)
      return `the engine's volume directories (${info.mountpoint}) are not on this host`;
    if (owner !== 0) return `the engine's volume directories are owned by uid ${owner} (a rootless engine)`;
    return undefined;
  } finally {
    await engine.removeVolume(name);
  }
}

/** The uid owning a directory on this host, or undefined when it is not one (or cannot be seen). */
async function hostOwner(dir: string, root: Privileged): Promise<number | undefined> {
  if (!root.viaSudo) {
    const info = await stat(dir).catch(() => undefined);
    return info?.isDirectory() ? info.uid : undefined;
  }
  const result = spawnSync(...root.command('stat', ['-c', '%u %F', dir]), { encoding: 'utf8' });
  const [uid, ...type] = result.stdout.trim().split(' ');
  return result.status === 0 && type.join(' ') === 'directory' ? Number(uid) : undefined;
}

/**
 * Where the host path reads and writes a volume: its Mountpoint, when the engine keeps the data there (the
 * local driver without options; a volume with driver options is mounted only inside containers). Undefined
 * sends the caller to the engine's archive API for this volume.
 */
export async function hostDirectoryOf(
  engine: Engine,
  place: { volume: string } | { bind: string },
): Promise<string | undefined> {
  if ('bind' in place) return place.bind;
  const info = await engine.inspectVolume(place.volume);
  if (!info || info.driver !== 'local' || Object.keys(info.options).length > 0) return undefined;
  return info.mountpoint || undefined;
}

/** What GNU tar reads and writes: pax, every xattr namespace, ACLs, numeric owners; no atime/ctime records. */
const TAR_FORMAT = [
  '--format=posix',
  '--pax-option=delete=atime,delete=ctime',
  '--xattrs',
  '--xattrs-include=*',
  '--acls',
  '--numeric-owner',
];

/** tar's complaints as one line, without its closing "Exiting with failure status" line. */
function oneLine(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/Exiting with failure status/.test(line))
    .join('; ');
}

/** GNU tar on the host failed: its exit status and its own words (stderr). */
export class HostTarError extends Error {
  constructor(
    readonly status: number | string,
    readonly said: string,
  ) {
    super(`GNU tar exited with ${status}${said ? `: ${said}` : ''}`);
  }
}

/** GNU tar run as root; `done` settles when it exits (its stderr in the error). */
function runTar(dataPath: HostDataPath, args: string[], stdio: ['pipe' | 'ignore', 'pipe' | 'ignore']) {
  const [command, argv] = dataPath.root.command('tar', args);
  const child = spawn(command, argv, { stdio: [stdio[0], stdio[1], 'pipe'] });
  let stderr = '';
  const errors = child.stderr as Readable;
  errors.setEncoding('utf8');
  errors.on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new HostTarError(code ?? signal ?? '?', oneLine(stderr)));
    });
  });
  done.catch(() => undefined); // awaited by the caller
  /** Whether tar was still running (and is now told to stop). */
  const kill = (): boolean => {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    child.kill();
    return true;
  };
  return { child, done, kill };
}

/**
 * How a place is read. `live`: a running store's files change, appear and vanish as they are read (the
 * check's fingerprints of a running stack); read them as the engine's GET does, what is there when tar gets
 * to it, with no complaint. Otherwise (archives, digests, read-backs) any such change fails the read.
 */
export interface ReadMode {
  live?: boolean;
}

/** GNU tar's words for a live read: warn of nothing that a running store does to its files. */
const LIVE_READ = [
  '--ignore-failed-read',
  '--warning=no-file-changed',
  '--warning=no-file-removed',
  '--warning=no-file-shrank',
];

/**
 * A volume directory's tar stream, entries named `volume/...` as the engine's GET names them, in the
 * engine's walk order (names sorted, depth first), handed to `use`. The result counts only once tar has
 * exited cleanly: a file it could not read (exit 2) or that changed as it read it (exit 1) fails the read,
 * unless the read is live (exit 1 then means only that a file changed).
 */
export async function withHostTar<T>(
  dataPath: HostDataPath,
  dir: string,
  use: (tar: Readable) => Promise<T>,
  { live = false }: ReadMode = {},
): Promise<T> {
  const tar = runTar(
    dataPath,
    [
      '--create',
      '--file=-',
      `--directory=${dir}`,
      ...TAR_FORMAT,
      ...(live ? LIVE_READ : []),
      '--sort=name',
      `--transform=s,^\\.,${ARCHIVE_ROOT},rhS`,
      '.',
    ],
    ['ignore', 'pipe'],
  );
  // Piped at once: when a child exits, Node resumes every stdout nobody listens to yet and its data is
  // dropped, so a small volume's whole stream was lost while `use` was still setting up (1 read in 15).
  // A reader that gives up destroys the PassThrough, and the pipeline then tar's stdout (tar's exit says why).
  const stdout = new PassThrough({ highWaterMark: 1024 * 1024 });
  pipeStreams(tar.child.stdout as Readable, stdout, () => undefined);
  // Both settle before this does, so nothing of `use` (a progress line, an output file) outlives the error.
  let killed = false;
  const using = use(stdout).catch((error: unknown) => {
    // A reader that saw the stream end (tar failing at once ends it empty) leaves tar to exit by itself, so
    // tar's words ("Cannot open: …") are the error, not the reader's "no root entry"; only a reader that
    // gave up mid-stream stops tar.
    if (!stdout.readableEnded) killed = tar.kill();
    throw error;
  });
  const done = live ? tar.done.catch(unlessOnlyChanged) : tar.done;
  const [used, exited] = await Promise.allSettled([using, done]);
  // tar's own words explain a stream it cut short, unless it died because the reader gave up first.
  if (exited.status === 'rejected' && !killed) throw exited.reason;
  if (used.status === 'rejected') throw used.reason;
  if (exited.status === 'rejected') throw exited.reason;
  return used.value;
}

/** GNU tar's exit 1 on --create: a file changed as it was read; anything else still fails. */
function unlessOnlyChanged(error: unknown): void {
  if (!(error instanceof HostTarError && error.status === 1)) throw error;
}

/**
 * Extracts a tar stream of `volume/...` entries (headers written from our parse: volume-scanner's
 * rewritten output) into a volume directory, the directory's own owner, mode, mtime, xattrs and ACLs from
 * the root entry. Settles only once tar has exited: when the stream fails, tar is stopped first, so nothing
 * writes into the directory after this rejects.
 */
export async function extractIntoHostDirectory(
  dataPath: HostDataPath,
  dir: string,
  tarStream: Readable,
): Promise<void> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  if (!/^[A-Za-z0-9_.-]+$/.test(base)) {
    throw new Error(`The host path cannot extract into ${dir}: its name needs escaping in a tar transform.`);
  }
  const tar = runTar(
    dataPath,
    [
      '--extract',
      '--file=-',
      `--directory=${parent}`,
      ...TAR_FORMAT,
      '--same-owner',
      '--same-permissions',
      // The root entry `volume/` lands on the directory itself; symlink targets are left as they are.
      `--transform=s,^${ARCHIVE_ROOT}\\(/\\|$\\),${base.replace(/\./g, '\\.')}\\1,rhS`,
    ],
    ['pipe', 'ignore'],
  );
  try {
    await Promise.all([pipeline(tarStream, tar.child.stdin as Writable), tar.done]);
  } catch (error) {
    tar.kill();
    tarStream.destroy();
    await tar.done.catch(() => undefined);
    throw error;
  }
}

/** A volume, or a bind mount's source directory on the engine's host. */
export type DataPlace = { volume: string } | { bind: string };

/**
 * The tar stream of a place (entries `volume/...`), through the run's data path, handed to `use`; `exact`
 * says whether it came from GNU tar on the host (sub-second mtimes, every xattr, ACLs) or from the engine.
 */
export async function withPlaceTar<T>(
  place: DataPlace,
  options: HelperOptions,
  use: (tar: Readable, exact: boolean) => Promise<T>,
  mode: ReadMode = {},
): Promise<T> {
  if ('volume' in place) assertVolumeName(place.volume);
  const dataPath = await dataPathOf(options.engine, options.runLabel);
  const dir = dataPath.kind === 'host' ? await hostDirectoryOf(options.engine, place) : undefined;
  if (dataPath.kind === 'host' && dir !== undefined)
    return withHostTar(dataPath, dir, (tar) => use(tar, true), mode);
  const reader = 'volume' in place ? withVolumeHelper : withBindHelper;
  return reader(
    'volume' in place ? place.volume : place.bind,
    { ...options, readOnly: true },
    async (helper) => use(await helper.getArchive(HELPER_MOUNT), false),
  );
}

/**
 * Writes a tar stream of `volume/...` entries (headers from our parse) into an existing volume, through the
 * run's data path: GNU tar into its directory, or the engine's PUT to the helper's mount parent (which
 * restores the root's owner and mode). Settles once nothing writes into the volume any more.
 */
export async function writeVolumeTar(volume: string, tar: Readable, options: HelperOptions): Promise<void> {
  assertVolumeName(volume);
  const dataPath = await dataPathOf(options.engine, options.runLabel);
  const dir = dataPath.kind === 'host' ? await hostDirectoryOf(options.engine, { volume }) : undefined;
  if (dataPath.kind === 'host' && dir !== undefined) return extractIntoHostDirectory(dataPath, dir, tar);
  return withVolumeHelper(volume, options, (helper) => helper.putArchive(tar, HELPER_MOUNT_PARENT));
}

/**
 * Copies one place into a volume (backups and their restores): host tar into host tar when both are
 * directories here (xattrs, ACLs and sub-second mtimes kept too), else the engine's GET into its PUT, as
 * before the host path existed (a path is never mixed within one copy). True when the copy went by host.
 */
export async function copyIntoVolume(from: DataPlace, to: string, options: HelperOptions): Promise<boolean> {
  const dataPath = await dataPathOf(options.engine, options.runLabel);
  if (dataPath.kind === 'host') {
    const source = await hostDirectoryOf(options.engine, from);
    const target = await hostDirectoryOf(options.engine, { volume: to });
    if (source !== undefined && target !== undefined) {
      await withHostTar(dataPath, source, (tar) => extractIntoHostDirectory(dataPath, target, tar));
      return true;
    }
  }
  const reader = 'volume' in from ? withVolumeHelper : withBindHelper;
  await reader('volume' in from ? from.volume : from.bind, { ...options, readOnly: true }, (source) =>
    withVolumeHelper(to, { ...options, readOnly: false }, async (target) =>
      target.putArchive(await source.getArchive(HELPER_MOUNT), HELPER_MOUNT_PARENT),
    ),
  );
  return false;
}
