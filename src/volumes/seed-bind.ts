import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { locationOf, type ArchiveInput } from '../archive/blob.js';
import type { VolumeManifest } from '../archive/manifest.js';
import {
  createArchiveReader,
  openArchiveSource,
  verifyArchive,
  type ArchiveSource,
} from '../archive/volume-tar.js';
import { UserError, errorMessage } from '../errors.js';
import { digestOfBind } from './fingerprint.js';
import { HELPER_MOUNT_PARENT, withWritableBindHelper, type HelperOptions } from './helper.js';
import { SeedClock } from './seed-clock.js';
import type { SeedOptions, SeedResult } from './seed-volume.js';
import { RUN_LABEL } from '../constants.js';
import {
  BACKUP_DIGEST_LABEL,
  BACKUP_OF_LABEL,
  backupPlace,
  emptyPlace,
  restorePlace,
} from './volume-backup.js';

/**
 * Archive → a data bind's source directory on the engine's host, through helpers that bind it (so a remote
 * engine works). The archive is verified in full first (and passed to `accept`). A missing or empty
 * directory is written, read back, and emptied again on failure. One that holds data is replaced only with
 * overwrite, the way seedVolume replaces a volume: its contents are copied to a backup volume (digest
 * checked) before it is emptied, and put back from it on any failure, so at every moment either the old or
 * the verified new contents exist in full.
 */
export async function seedBind(
  source: string,
  input: ArchiveInput,
  options: SeedOptions,
): Promise<SeedResult> {
  const file = locationOf(input);
  const archive = await openArchiveSource(input, {
    encryptionKey: options.encryptionKey,
    maxBytes: options.maxBytes,
  });
  const helper: HelperOptions = {
    engine: options.engine,
    image: options.helperImage,
    runLabel: options.runLabel,
  };
  const users = await options.engine.containersUsingVolume(source);
  if (users.length) {
    throw new UserError(
      `Bind source ${source} is mounted by container(s) ${users.map((c) => c.name).join(', ')}: seed it before the stack starts.`,
    );
  }
  await assertNoBackupLeft(source, helper);
  const incoming = await verifyArchive(archive);
  options.accept?.(incoming);
  // The engine creates a missing bind source when a container using it starts: a helper that runs `true`.
  await withWritableBindHelper(source, { ...helper, cmd: ['true'] }, (c) => c.runToCompletion());
  const before = await digestOfBind(source, helper);
  const seed: BindSeed = { source, file, archive, options, helper };
  if (before.entryCount <= 1) return seedEmptyBind(seed); // nothing but its root
  if (!options.overwrite) {
    throw new UserError(
      `Bind source ${source} already holds data (${before.files} files): refusing to seed over it. Set overwrite: true to replace it (its contents are backed up until the new ones are verified), or seed a new directory.`,
    );
  }
  return overwriteBind(seed, before.digest);
}

/**
 * A backup of this bind left by another run (killed mid-overwrite) may be the only full copy of its data:
 * the bind may be half-written. Never seeded over; the user decides.
 */
async function assertNoBackupLeft(source: string, helper: HelperOptions): Promise<void> {
  const left = await helper.engine.listVolumes([`${BACKUP_OF_LABEL}=${source}`]);
  const backup = left.find((v) => v.labels[RUN_LABEL] !== helper.runLabel);
  if (backup) {
    throw new UserError(
      `Bind source ${source} has a backup volume ${backup.name} left by run ${backup.labels[RUN_LABEL] ?? '?'} (an overwrite that did not finish): the bind may be half-written and the backup may hold its only full copy (digest ${backup.labels[BACKUP_DIGEST_LABEL] ?? '?'}); ${copyBackCommand(source, backup.name, helper.image)} to restore it, or docker volume rm ${backup.name} if the bind is right, then seed again.`,
    );
  }
}

/** A shell command line that replaces the bind's contents with the backup's. */
function copyBackCommand(source: string, backup: string, image: string): string {
  return `docker run --rm -v ${backup}:/from:ro -v ${source}:/to ${image} sh -c 'rm -rf /to/* /to/.[!.]* /to/..?*; cp -a /from/. /to/'`;
}

interface BindSeed {
  source: string;
  file: string;
  archive: ArchiveSource;
  options: SeedOptions;
  helper: HelperOptions;
}

async function seedEmptyBind(seed: BindSeed): Promise<SeedResult> {
  const { source, file, helper } = seed;
  try {
    return await writeAndVerify(seed);
  } catch (error) {
    await emptyPlace({ bind: source }, helper).catch((undo: unknown) => {
      throw new UserError(
        `Seeding bind source ${source} from ${file} failed (${errorMessage(error)}), and emptying it again failed too (${errorMessage(undo)}): empty it by hand.`,
      );
    });
    throw failure(seed, error, 'it was emptied again.', true);
  }
}

/** A bind holding data: backed up, emptied, written, verified; restored from the backup on any failure. */
async function overwriteBind(seed: BindSeed, digest: string): Promise<SeedResult> {
  const { source, options, helper } = seed;
  const backup = `cp-bind-backup-${randomBytes(4).toString('hex')}`;
  await backupPlace({ bind: source }, backup, digest, helper); // on failure: removed, the bind only read
  let result: SeedResult;
  try {
    options.signal?.throwIfAborted(); // interrupted while backing up: nothing was touched
    await emptyPlace({ bind: source }, helper);
    result = await writeAndVerify(seed);
  } catch (error) {
    const { holds, restored } = await restoreOrKeep(source, backup, digest, helper);
    throw failure(seed, error, holds, restored);
  }
  try {
    await helper.engine.removeVolume(backup);
  } catch (error) {
    throw new UserError(
      `Bind source ${source} holds the new contents (verified, digest ${result.manifest.digest}), but its backup volume ${backup} could not be removed (${errorMessage(error)}): remove it (docker volume rm ${backup}).`,
    );
  }
  return result;
}

/** After a failed overwrite: the old contents back (the backup then removed), or the backup kept and named. */
async function restoreOrKeep(
  source: string,
  backup: string,
  digest: string,
  helper: HelperOptions,
): Promise<{ holds: string; restored: boolean }> {
  try {
    await restorePlace({ bind: source }, backup, digest, helper);
  } catch (error) {
    const holds = `restoring bind source ${source} failed too (${errorMessage(error)}): its previous contents (digest ${digest}) are kept in volume ${backup}; copy them back with: ${copyBackCommand(source, backup, helper.image)}`;
    return { holds, restored: false };
  }
  await helper.engine.removeVolume(backup).catch(() => undefined); // restored: a leftover copy only
  return {
    holds: `bind source ${source} still holds its previous contents (digest ${digest}).`,
    restored: true,
  };
}

/** An interruption that was undone is the whole story; else what failed, then what the bind holds now. */
function failure(
  { source, file, options }: BindSeed,
  error: unknown,
  holds: string,
  undone: boolean,
): unknown {
  if (undone && options.signal?.aborted) return options.signal.reason;
  const what =
    error instanceof UserError
      ? error.message.replace(/\.$/, '')
      : `Seeding bind source ${source} from ${file} failed (${errorMessage(error)})`;
  return new UserError(`${what}; ${holds}`, { cause: error });
}

async function writeAndVerify({ source, file, archive, options, helper }: BindSeed): Promise<SeedResult> {
  const clock = new SeedClock();
  const write = () =>
    withWritableBindHelper(source, helper, async (container) => {
      const reader = createArchiveReader({ label: archive.file });
      const feeding = pipeline([...archive.streams(clock.decrypt), reader], { signal: options.signal });
      const putting = container.putArchive(reader, HELPER_MOUNT_PARENT).catch((error: unknown) => {
        reader.destroy(error as Error);
        throw error;
      });
      await Promise.all([feeding, putting]);
      return reader.manifest;
    });
  const manifest = await clock.write(write);
  await clock.readBack(() => assertBindMatches(source, file, manifest, helper));
  options.signal?.throwIfAborted(); // an interrupted seed is undone, even a complete one
  return { volume: source, created: false, manifest, foreign: false, times: clock.times() };
}

async function assertBindMatches(
  source: string,
  file: string,
  manifest: VolumeManifest,
  helper: HelperOptions,
): Promise<void> {
  const actual = await digestOfBind(source, helper);
  if (actual.digest !== manifest.digest) {
    throw new UserError(
      `Bind source ${source} does not match ${file} after seeding (digest ${actual.digest} ≠ ${manifest.digest}).`,
    );
  }
}
