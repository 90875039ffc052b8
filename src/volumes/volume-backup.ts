import { RUN_LABEL } from '../constants.js';
import type { Engine, HelperContainer } from '../docker/engine.js';
import { UserError, errorMessage } from '../errors.js';
import { copyIntoVolume } from './data-path.js';
import { digestOfBind, digestOfVolume } from './fingerprint.js';
import {
  HELPER_MOUNT,
  HELPER_MOUNT_PARENT,
  withBindHelper,
  withVolumeHelper,
  withWritableBindHelper,
  type HelperOptions,
} from './helper.js';
import { OWNER_LABEL, ownerLabel } from './process-owner.js';

/** On a backup volume: the volume it copies, and that volume's digest when copied (labels are immutable). */
export const BACKUP_OF_LABEL = 'dev.compose-persist.backup-of';
export const BACKUP_DIGEST_LABEL = 'dev.compose-persist.backup-digest';

/** What is backed up: a named volume, or a data bind's source directory on the engine's host. */
export type Place = { volume: string } | { bind: string };

function describePlace(place: Place): string {
  return 'volume' in place ? `volume ${place.volume}` : `bind source ${place.bind}`;
}

/**
 * Copies the old contents of VOLUME into a new volume BACKUP before an overwrite, and checks the copy's
 * digest. A failed copy is removed again: the volume itself was only read.
 */
export function backupVolume(volume: string, backup: string, digest: string, helper: HelperOptions) {
  return backupPlace({ volume }, backup, digest, helper);
}

/** backupVolume for a volume or a bind source (the backup is always a volume, labelled with the run). */
export async function backupPlace(
  place: Place,
  backup: string,
  digest: string,
  helper: HelperOptions,
): Promise<void> {
  const labels = {
    [RUN_LABEL]: helper.runLabel,
    [OWNER_LABEL]: ownerLabel(),
    [BACKUP_OF_LABEL]: 'volume' in place ? place.volume : place.bind,
    [BACKUP_DIGEST_LABEL]: digest,
  };
  await helper.engine.createVolume(backup, labels);
  try {
    await copyPlace(place, { volume: backup }, helper);
    await assertDigest({ volume: backup }, digest, helper);
  } catch (error) {
    await helper.engine.removeVolume(backup).catch(() => undefined);
    throw new UserError(
      `Could not copy ${describePlace(place)} to a backup before overwriting it (${errorMessage(error)}): it is unchanged; free space on the engine's disk and seed again.`,
    );
  }
}

/** Empties VOLUME, copies BACKUP back and checks the digest; throws (keeping BACKUP) when any step fails. */
export function restoreBackup(volume: string, backup: string, digest: string, helper: HelperOptions) {
  return restorePlace({ volume }, backup, digest, helper);
}

/** restoreBackup for a volume or a bind source. */
export async function restorePlace(
  place: Place,
  backup: string,
  digest: string,
  helper: HelperOptions,
): Promise<void> {
  await emptyPlace(place, helper);
  await copyPlace({ volume: backup }, place, helper);
  await assertDigest(place, digest, helper);
}

/**
 * The commands that restore a kept backup by hand (printed when restoring failed): our own archive and
 * seed, so the copy is exact and verified (a `cp -a` in a helper loses symlink and directory times). The
 * CLI as it ships: dist/cli.js of a compose-persist checkout or release tarball (no npm package of ours).
 */
export function restoreCommand(volume: string, backup: string): string {
  return `node dist/cli.js archive ${backup} ${backup}.tar && node dist/cli.js seed ${volume} ${backup}.tar --overwrite`;
}

/** Volume → volume through the engine's archive API (owners, modes, links, the root's own mode kept). */
export function copyVolume(from: string, to: string, helper: HelperOptions): Promise<void> {
  return copyPlace({ volume: from }, { volume: to }, helper);
}

/**
 * Place → place the same way; into a volume through the run's data path (GNU tar on the host keeps xattrs,
 * ACLs and sub-second mtimes too); a bind is bound by the helper, so a remote engine works.
 */
async function copyPlace(from: Place, to: Place, helper: HelperOptions): Promise<void> {
  if ('volume' in to) {
    await copyIntoVolume(from, to.volume, helper);
    return;
  }
  await withPlaceHelper(from, { ...helper, readOnly: true }, async (source) =>
    withPlaceHelper(to, helper, async (target) =>
      target.putArchive(await source.getArchive(HELPER_MOUNT), HELPER_MOUNT_PARENT),
    ),
  );
}

function withPlaceHelper<T>(
  place: Place,
  helper: HelperOptions,
  use: (container: HelperContainer) => Promise<T>,
): Promise<T> {
  if ('volume' in place) return withVolumeHelper(place.volume, helper, use);
  return helper.readOnly
    ? withBindHelper(place.bind, helper, use)
    : withWritableBindHelper(place.bind, helper, use);
}

async function assertDigest(place: Place, digest: string, helper: HelperOptions): Promise<void> {
  const of = 'volume' in place ? digestOfVolume(place.volume, helper) : digestOfBind(place.bind, helper);
  const actual = (await of).digest;
  if (actual !== digest) throw new UserError(`${describePlace(place)} has digest ${actual}, not ${digest}`);
}

/** Deletes everything inside the volume (its root stays); needs a helper image with a shell. */
export function emptyVolume(volume: string, helper: HelperOptions): Promise<void> {
  return emptyPlace({ volume }, helper);
}

/** emptyVolume for a volume or a bind source. */
export async function emptyPlace(place: Place, helper: HelperOptions): Promise<void> {
  const cmd = ['sh', '-c', `find ${HELPER_MOUNT} -mindepth 1 -maxdepth 1 -exec rm -rf {} +`];
  const result = await withPlaceHelper(place, { ...helper, cmd }, (c) => c.runToCompletion());
  if (result.exitCode !== 0) {
    throw new UserError(
      `Could not empty ${describePlace(place)} with helper image ${helper.image}: ${result.output.trim()}`,
    );
  }
}

/** Free bytes on the volume's filesystem (`df` in a helper); undefined when the helper image has no df. */
export async function freeBytes(volume: string, helper: HelperOptions): Promise<number | undefined> {
  const cmd = ['sh', '-c', `df -Pk ${HELPER_MOUNT} | tail -n 1`];
  try {
    const result = await withVolumeHelper(volume, { ...helper, cmd }, (c) => c.runToCompletion());
    const available = Number(result.output.trim().split(/\s+/)[3]);
    return result.exitCode === 0 && Number.isFinite(available) ? available * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Where a volume's data lives, for messages: the bound directory of a bind-backed volume, else the mountpoint. */
export function volumeLocation(engine: Engine, volume: string): Promise<string | undefined> {
  return engine.inspectVolume(volume).then(
    (info) => info?.options.device || info?.mountpoint || undefined,
    () => undefined,
  );
}
