import { RUN_LABEL } from '../constants.js';
import type { Engine } from '../docker/engine.js';
import { UserError, errorMessage } from '../errors.js';
import { digestOfVolume } from './fingerprint.js';
import { HELPER_MOUNT, HELPER_MOUNT_PARENT, withVolumeHelper, type HelperOptions } from './helper.js';
import { OWNER_LABEL, ownerLabel } from './process-owner.js';

/** On a backup volume: the volume it copies, and that volume's digest when copied (labels are immutable). */
export const BACKUP_OF_LABEL = 'dev.compose-persist.backup-of';
export const BACKUP_DIGEST_LABEL = 'dev.compose-persist.backup-digest';

/**
 * Copies the old contents of VOLUME into a new volume BACKUP before an overwrite, and checks the copy's
 * digest. A failed copy is removed again: the volume itself was only read.
 */
export async function backupVolume(
  volume: string,
  backup: string,
  digest: string,
  helper: HelperOptions,
): Promise<void> {
  const labels = {
    [RUN_LABEL]: helper.runLabel,
    [OWNER_LABEL]: ownerLabel(),
    [BACKUP_OF_LABEL]: volume,
    [BACKUP_DIGEST_LABEL]: digest,
  };
  await helper.engine.createVolume(backup, labels);
  try {
    await copyVolume(volume, backup, helper);
    await assertDigest(backup, digest, helper);
  } catch (error) {
    await helper.engine.removeVolume(backup).catch(() => undefined);
    throw new UserError(
      `Could not copy volume ${volume} to a backup before overwriting it (${errorMessage(error)}): ${volume} is unchanged; free space on the engine's disk and seed again.`,
    );
  }
}

/** Empties VOLUME, copies BACKUP back and checks the digest; throws (keeping BACKUP) when any step fails. */
export async function restoreBackup(
  volume: string,
  backup: string,
  digest: string,
  helper: HelperOptions,
): Promise<void> {
  await emptyVolume(volume, helper);
  await copyVolume(backup, volume, helper);
  await assertDigest(volume, digest, helper);
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
export async function copyVolume(from: string, to: string, helper: HelperOptions): Promise<void> {
  await withVolumeHelper(from, { ...helper, readOnly: true }, async (source) =>
    withVolumeHelper(to, helper, async (target) =>
      target.putArchive(await source.getArchive(HELPER_MOUNT), HELPER_MOUNT_PARENT),
    ),
  );
}

async function assertDigest(volume: string, digest: string, helper: HelperOptions): Promise<void> {
  const actual = (await digestOfVolume(volume, helper)).digest;
  if (actual !== digest) throw new UserError(`volume ${volume} has digest ${actual}, not ${digest}`);
}

/** Deletes everything inside the volume (its root stays); needs a helper image with a shell. */
export async function emptyVolume(volume: string, helper: HelperOptions): Promise<void> {
  const cmd = ['sh', '-c', `find ${HELPER_MOUNT} -mindepth 1 -maxdepth 1 -exec rm -rf {} +`];
  const result = await withVolumeHelper(volume, { ...helper, cmd }, (c) => c.runToCompletion());
  if (result.exitCode !== 0) {
    throw new UserError(
      `Could not empty volume ${volume} with helper image ${helper.image}: ${result.output.trim()}`,
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
