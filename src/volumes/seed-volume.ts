import { pipeline } from 'node:stream/promises';
import { locationOf, type ArchiveInput } from '../archive/blob.js';
import type { VolumeManifest } from '../archive/manifest.js';
import { createArchiveReader, verifyArchive, type ArchiveSource } from '../archive/volume-tar.js';
import { openSeedArchive, type SeedArchiveOptions } from '../archive/seed-source.js';
import { COMPOSE_PROJECT_LABEL, COMPOSE_VOLUME_LABEL, CREATED_LABEL, RUN_LABEL } from '../constants.js';
import type { ContainerSummary, Engine } from '../docker/engine.js';
import type { ProgressReporter } from '../report/progress.js';
import { UserError, errorMessage } from '../errors.js';
import type { SeedTimes } from '../types/restore.js';
import { digestOfVolume } from './fingerprint.js';
import { SeedClock } from './seed-clock.js';
import { writeVolumeTar } from './data-path.js';
import { ARCHIVE_ROOT, assertVolumeName, type HelperOptions } from './helper.js';
import { OWNER_LABEL, ownerIsGone, parseOwner } from './process-owner.js';
import { acquireSeedLease, clearLeftover, orphanBackupsOf } from './seed-lease.js';
import { isOutOfSpace } from '../stores/files.js';
import { seedFailureMessage, stillHoldsPrevious, type SpaceFacts } from './seed-messages.js';
import {
  backupVolume,
  emptyVolume,
  freeBytes,
  restoreBackup,
  restoreCommand,
  volumeLocation,
} from './volume-backup.js';

export interface SeedOptions {
  engine: Engine;
  helperImage: string;
  runLabel: string;
  /** Replace the contents of an existing non-empty volume (only after the archive is verified). */
  overwrite: boolean;
  /** The key of an encrypted (`.enc`) archive. */
  encryptionKey?: string;
  progress?: ProgressReporter;
  /** Refuse archives whose tar stream is larger (a decompression bomb); undefined = no limit. */
  maxBytes?: number;
  /** Compose labels so `compose up` adopts the volume silently. Never config-hash (compose ≥2.32 would recreate). */
  compose?: { project: string; key: string };
  /** Told one line for each leftover of a run that is gone (a killed seed) this seed cleared up. */
  notify?: (line: string) => void;
  /** Aborts the seed: the same path as any failure (a created volume removed, an existing one restored). */
  signal?: AbortSignal;
  /** Foreign backups: where the volume sits in the archive, and the gpg/age secrets (seed-source.ts). */
  foreign?: Pick<SeedArchiveOptions, 'from' | 'decrypt' | 'secretNames'>;
  /**
   * Told the archive's manifest once it has been read in full, before the volume is kept (a new volume) or
   * touched (an existing one); throwing refuses the archive and undoes the seed (freshness, size guards).
   */
  accept?: (manifest: VolumeManifest) => void;
}

export interface SeedResult {
  volume: string;
  created: boolean;
  manifest: VolumeManifest;
  /** A foreign archive (no manifest of ours): proven by the read-back alone. */
  foreign: boolean;
  /** Where the seed's time went (write, decrypt inside it, read-back). */
  times: SeedTimes;
}

/**
 * Archive file → volume, streamed: file → decompressor → reader (paths checked, sha256 checked against the
 * embedded manifest) → engine PUT; the volume is then read back and its digest compared. The whole seed
 * holds the volume's lease (seed-lease.ts), so two seeds never write one volume, and a run killed mid-seed
 * is cleared up by the next. Whatever fails, the volume ends as it was: a volume this call created is
 * removed, an existing one is restored from a backup copy taken before it was emptied.
 */
export async function seedVolume(
  volume: string,
  input: ArchiveInput,
  options: SeedOptions,
): Promise<SeedResult> {
  assertVolumeName(volume);
  const file = locationOf(input);
  // Opened once: a wrong name, format or missing key fails before anything changes.
  const source = await openSeedArchive(input, {
    encryptionKey: options.encryptionKey,
    maxBytes: options.maxBytes,
    ...options.foreign,
  });
  const helper: HelperOptions = {
    engine: options.engine,
    image: options.helperImage,
    runLabel: options.runLabel,
  };
  await assertHelperImage(helper);
  const lease = await acquireSeedLease(volume, helper);
  try {
    // The lease first: clearing it may remove its backup, which the scan for orphans would find too.
    if (lease.leftover) options.notify?.(await clearLeftover(volume, lease.leftover, helper));
    for (const orphan of await orphanBackupsOf(volume, helper)) {
      options.notify?.(await clearLeftover(volume, orphan, helper));
    }
    const clock = new SeedClock();
    const seed: Seed = { volume, file, source, options, helper, backup: lease.backup, clock };
    if (!(await options.engine.inspectVolume(volume)) && (await createOwnVolume(volume, options))) {
      return await seedNewVolume(seed);
    }
    return await seedExistingVolume(seed);
  } finally {
    await lease.release().catch(() => undefined); // a lease left over is cleared by the next run
  }
}

interface Seed {
  volume: string;
  file: string;
  source: ArchiveSource;
  options: SeedOptions;
  helper: HelperOptions;
  /** The backup volume's name, taken from the lease. */
  backup: string;
  clock: SeedClock;
}

/** Creates the volume with our run label; true only if it was ours (create of an existing name succeeds). */
async function createOwnVolume(volume: string, options: SeedOptions): Promise<boolean> {
  await options.engine.createVolume(volume, volumeLabels(options));
  const labels = (await options.engine.inspectVolume(volume))?.labels ?? {};
  return labels[RUN_LABEL] === options.runLabel && labels[CREATED_LABEL] === 'true';
}

async function seedNewVolume({ volume, file, source, options, helper, clock }: Seed): Promise<SeedResult> {
  try {
    const manifest = await clock.write(() => writeArchive(volume, source, options, helper, clock));
    options.accept?.(manifest);
    await clock.readBack(() => verifyVolume(volume, manifest, helper, file));
    options.signal?.throwIfAborted(); // an interrupted seed leaves nothing, even a complete one
    return { volume, created: true, manifest, foreign: source.foreign === true, times: clock.times() };
  } catch (error) {
    const space = isOutOfSpace(error) ? await spaceOfNewVolume(volume, source, helper) : {};
    try {
      await helper.engine.removeVolume(volume);
    } catch (removal) {
      throw new UserError(
        seedFailureMessage(
          volume,
          file,
          error,
          `removing the new volume failed too: ${errorMessage(removal)}`,
        ),
      );
    }
    // Undone because the run was interrupted: the interruption is the whole story.
    if (options.signal?.aborted) throw options.signal.reason;
    // The archive's own errors (corrupt, unsafe) stay as they are: nothing of the user's was touched.
    if (error instanceof UserError && !isOutOfSpace(error)) throw error;
    throw new UserError(
      seedFailureMessage(volume, file, error, `the new volume ${volume} was removed.`, space),
      {
        cause: error,
      },
    );
  }
}

/** For an out-of-space message about a new volume: what the archive needs, and the room once emptied. */
async function spaceOfNewVolume(
  volume: string,
  source: ArchiveSource,
  helper: HelperOptions,
): Promise<SpaceFacts> {
  const needed = await verifyArchive(source).then(
    (m) => m.bytes,
    () => undefined,
  );
  const room = await emptyVolume(volume, helper).then(
    () => freeBytes(volume, helper),
    () => undefined,
  );
  return { needed, room, location: await volumeLocation(helper.engine, volume) };
}

/**
 * An existing volume: refused if a container mounts it, or if it holds data and overwrite is off. The
 * archive is verified, the old contents copied to a backup volume (digest checked), the space checked,
 * and only then is the volume emptied and written. At every moment the old or the new contents exist in full.
 */
async function seedExistingVolume(seed: Seed): Promise<SeedResult> {
  const result = await replaceContents(seed);
  try {
    await seed.helper.engine.removeVolume(seed.backup);
  } catch (error) {
    // Not a reason to undo verified contents; but a backup left behind would be restored by the next seed.
    throw new UserError(
      `Volume ${seed.volume} holds the new contents (verified, digest ${result.manifest.digest}), but its backup ${seed.backup} could not be removed (${errorMessage(error)}): remove it (docker volume rm ${seed.backup}) before seeding ${seed.volume} again.`,
    );
  }
  return result;
}

/** Everything up to verified new contents; on any failure after the volume was touched, the backup is restored. */
async function replaceContents(seed: Seed): Promise<SeedResult> {
  const { volume, file, source, options, helper, backup, clock } = seed;
  await assertNotInUse(volume, helper, options.notify);
  const old = await digestOfVolume(volume, helper);
  const hasData = old.entryCount > 1; // more than its root
  if (hasData && !options.overwrite) {
    throw new UserError(
      `Volume ${volume} already holds data: refusing to seed over it. Set overwrite: true to replace it, or seed a new volume.`,
    );
  }
  // Validate before destroying: the whole archive is checked before the volume is touched.
  const incoming = await verifyArchive(source);
  options.accept?.(incoming);
  await backupVolume(volume, backup, old.digest, helper);
  const space: SpaceFacts = { needed: incoming.bytes, location: await volumeLocation(helper.engine, volume) };
  let touched = false;
  try {
    const free = await freeBytes(volume, helper);
    space.room = free === undefined ? undefined : free + old.bytes;
    if (space.room !== undefined && incoming.bytes > space.room) throw new NoRoom(volume, file, space);
    options.signal?.throwIfAborted(); // interrupted while verifying or backing up: nothing was touched
    touched = true;
    if (hasData) await emptyVolume(volume, helper);
    const manifest = await clock.write(() => writeArchive(volume, source, options, helper, clock));
    await clock.readBack(() => verifyVolume(volume, manifest, helper, file));
    options.signal?.throwIfAborted(); // interrupted: the previous contents are restored
    return { volume, created: false, manifest, foreign: source.foreign === true, times: clock.times() };
  } catch (error) {
    const holds = touched ? await restoreOrKeep(seed, old.digest) : stillHoldsPrevious(volume, old.digest);
    if (!touched) await helper.engine.removeVolume(backup);
    const restored = holds === stillHoldsPrevious(volume, old.digest);
    if (restored && options.signal?.aborted) throw options.signal.reason; // undone as asked: nothing more to say
    if (error instanceof NoRoom) throw new UserError(`${error.message}; ${holds}`);
    throw new UserError(seedFailureMessage(volume, file, error, holds, space), { cause: error });
  }
}

/** The archive cannot fit even once the volume is emptied: refused before anything is deleted. */
class NoRoom extends Error {
  constructor(volume: string, file: string, space: SpaceFacts) {
    const at = space.location ? ` (at ${space.location})` : '';
    super(
      `Volume ${volume}${at} has ${space.room} bytes free once emptied, but ${file} needs ${space.needed} bytes: make room on that disk or seed a larger volume`,
    );
  }
}

/** After a failed overwrite: the old contents back (the backup then removed), or the backup kept and named. */
async function restoreOrKeep({ volume, helper, backup }: Seed, digest: string): Promise<string> {
  try {
    await restoreBackup(volume, backup, digest, helper);
  } catch (error) {
    return `restoring volume ${volume} failed too (${errorMessage(error)}): its previous contents are kept in volume ${backup}; restore them with: ${restoreCommand(volume, backup)}`;
  }
  await helper.engine.removeVolume(backup);
  return stillHoldsPrevious(volume, digest);
}

/**
 * Seeding under another container corrupts what it sees the next time it runs, whatever its state now
 * (created, running, paused, restarting, exited). Our own helpers do not count; helpers of runs that are
 * gone are leftovers, removed with a line saying so.
 */
async function assertNotInUse(
  volume: string,
  helper: HelperOptions,
  notify: ((line: string) => void) | undefined,
): Promise<void> {
  const users: ContainerSummary[] = [];
  for (const container of await helper.engine.containersUsingVolume(volume)) {
    const run = container.labels[RUN_LABEL];
    const owner = parseOwner(container.labels[OWNER_LABEL]);
    if (run !== undefined && owner && ownerIsGone(owner)) {
      await helper.engine.removeContainer(container.id);
      notify?.(
        `removed helper container ${container.name} left by run ${run} (pid ${owner.pid}), which is gone.`,
      );
    } else if (run !== helper.runLabel) {
      users.push(container);
    }
  }
  if (users.length) {
    const names = users.map((c) => c.name);
    throw new UserError(
      `Volume ${volume} is mounted by container(s) ${users.map((c) => `${c.name} (${c.state})`).join(', ')}: a container that can run again must not find its volume replaced; remove them first (docker rm -f ${names.join(' ')}) or seed another volume.`,
    );
  }
}

/** Checked once, before the lease (a container of that image) is created. */
async function assertHelperImage(helper: HelperOptions): Promise<void> {
  if (!(await helper.engine.hasImage(helper.image))) {
    throw new UserError(
      `Helper image ${helper.image} is not present on the engine: pull it first or set the helper-image input to an image that is.`,
    );
  }
}

function volumeLabels(options: SeedOptions): Record<string, string> {
  const labels: Record<string, string> = { [RUN_LABEL]: options.runLabel, [CREATED_LABEL]: 'true' };
  if (options.compose) {
    labels[COMPOSE_PROJECT_LABEL] = options.compose.project;
    labels[COMPOSE_VOLUME_LABEL] = options.compose.key;
  }
  return labels;
}

/**
 * The archive's entries (checked, headers rewritten from our parse) into the volume through the run's data
 * path. Both sides settle before this does: when either fails, nothing writes into the volume any more.
 */
async function writeArchive(
  volume: string,
  source: ArchiveSource,
  options: SeedOptions,
  helper: HelperOptions,
  clock: SeedClock,
): Promise<VolumeManifest> {
  const reader = source.reader?.() ?? createArchiveReader({ root: ARCHIVE_ROOT, label: source.file });
  const stopProgress = options.progress?.(`seed ${volume}`, reader);
  // An error anywhere (file, decryption, decompressor, manifest check) destroys the reader: the write aborts.
  const feeding = pipeline([...source.streams(clock.decrypt), reader], { signal: options.signal });
  const writing = writeVolumeTar(volume, reader, helper).catch((error: unknown) => {
    reader.destroy(error as Error); // stop reading the file once the writer has given up
    throw error;
  });
  const [fed, written] = await Promise.allSettled([feeding, writing]);
  stopProgress?.(fed.status === 'fulfilled' && written.status === 'fulfilled');
  if (fed.status === 'rejected') throw fed.reason;
  if (written.status === 'rejected') throw written.reason;
  return reader.manifest;
}

/**
 * The volume read back must be what was written: its exact digest (sub-second mtimes, xattr values and ACLs
 * too) when the host path read it, else the digest (what the engine's archive API keeps).
 */
async function verifyVolume(
  volume: string,
  expected: VolumeManifest,
  helper: HelperOptions,
  file: string,
): Promise<void> {
  const actual = await digestOfVolume(volume, helper);
  const exact = actual.exact && expected.exactDigest !== undefined;
  const [got, wanted] = exact ? [actual.exactDigest, expected.exactDigest] : [actual.digest, expected.digest];
  if (got !== wanted) {
    throw new UserError(
      `Volume ${volume} does not match ${file} after seeding (${exact ? 'exact digest' : 'digest'} ${got} ≠ ${wanted}): the ${exact ? 'host tar' : 'engine'} did not restore it exactly.`,
    );
  }
}
