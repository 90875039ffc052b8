import { randomBytes } from 'node:crypto';
import { CREATED_LABEL, RUN_LABEL } from '../constants.js';
import { statusOf } from '../docker/engine.js';
import { UserError, errorMessage } from '../errors.js';
import { digestOfVolume } from './fingerprint.js';
import type { HelperOptions } from './helper.js';
import { OWNER_LABEL, ownerIsGone, ownerLabel, parseOwner } from './process-owner.js';
import { BACKUP_DIGEST_LABEL, BACKUP_OF_LABEL, restoreBackup, restoreCommand } from './volume-backup.js';

/** On a lease: the volume it holds, and the backup volume its run copies the old contents to. */
export const LEASE_LABEL = 'dev.compose-persist.seed-lease';
export const LEASE_BACKUP_LABEL = 'dev.compose-persist.seed-backup';

/**
 * "Volume X is being seeded": a never-started container with a name derived from the volume. Container
 * names are unique on the engine, so a second seeder's create fails with 409 Conflict, atomically. It
 * outlives a killed run, and tells the next one what that run left (see clearLeftover).
 */
export interface SeedLease {
  /** The backup volume this run may create (its name is on the lease, since labels cannot change). */
  backup: string;
  /** Labels of the lease a run that is gone left behind, if this lease replaced one. */
  leftover?: Record<string, string>;
  release(): Promise<void>;
}

export function leaseName(volume: string): string {
  return `compose-persist-seed-${volume}`;
}

export async function acquireSeedLease(volume: string, helper: HelperOptions): Promise<SeedLease> {
  let leftover: Record<string, string> | undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    const backup = `${volume}.cp-backup-${randomBytes(4).toString('hex')}`;
    try {
      const lease = await helper.engine.createHelper({
        name: leaseName(volume),
        image: helper.image,
        mounts: [],
        labels: {
          [RUN_LABEL]: helper.runLabel,
          [OWNER_LABEL]: ownerLabel(),
          [LEASE_LABEL]: volume,
          [LEASE_BACKUP_LABEL]: backup,
        },
      });
      return { backup, leftover, release: () => lease.remove() };
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const holder = await helper.engine.inspectContainer(leaseName(volume)).catch(() => undefined);
    if (!holder) {
      // Released meanwhile, or not registered yet: the engine reserves a name before the container exists.
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    const owner = parseOwner(holder.labels[OWNER_LABEL]);
    if (!owner || !ownerIsGone(owner)) {
      const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'owner unknown';
      throw new UserError(
        `Volume ${volume} is being seeded by run ${holder.labels[RUN_LABEL] ?? '?'} (${who}): wait for it to finish, or if that run is gone, remove its lease (docker rm ${leaseName(volume)}) and seed again.`,
      );
    }
    // Removed by id, never by name: a lease created meanwhile by a live run must stay. What the dead run
    // left is cleared once our own lease holds the volume, so two later runs never both clear it.
    await helper.engine.removeContainer(holder.id);
    leftover = holder.labels;
  }
  throw new UserError(
    `Volume ${volume}: could not take its seed lease (other runs keep taking it): seed again.`,
  );
}

/**
 * The leases of killed runs whose lease is gone but whose backup of VOLUME is not (a teardown removed
 * their helpers and lease, or they died between removing the lease and the backup): rebuilt from the
 * backup's own labels, so clearLeftover restores from it.
 */
export async function orphanBackupsOf(
  volume: string,
  helper: HelperOptions,
): Promise<Record<string, string>[]> {
  const backups = await helper.engine.listVolumes([`${BACKUP_OF_LABEL}=${volume}`]);
  return backups
    .filter((b) => b.labels[RUN_LABEL] !== helper.runLabel)
    .filter((b) => {
      const owner = parseOwner(b.labels[OWNER_LABEL]);
      return owner !== undefined && ownerIsGone(owner);
    })
    .map((b) => ({
      [RUN_LABEL]: b.labels[RUN_LABEL] ?? '?',
      [OWNER_LABEL]: b.labels[OWNER_LABEL] ?? '',
      [LEASE_BACKUP_LABEL]: b.name,
    }));
}

/**
 * What a killed seed left, put right: its helpers removed; a volume it created (never verified, or the
 * lease would be gone) removed; an overwrite it began undone from its backup, when the backup is complete
 * (its digest equals the digest recorded on it) and the volume no longer matches. Returns one line.
 */
export async function clearLeftover(
  volume: string,
  lease: Record<string, string>,
  helper: HelperOptions,
): Promise<string> {
  const { engine } = helper;
  const run = lease[RUN_LABEL] ?? '?';
  const who = `run ${run} (pid ${parseOwner(lease[OWNER_LABEL])?.pid ?? '?'}), which is gone`;
  for (const container of await engine.listContainers([`${RUN_LABEL}=${run}`])) {
    await engine.removeContainer(container.id);
  }
  const target = await engine.inspectVolume(volume);
  const backupName = lease[LEASE_BACKUP_LABEL] ?? '';
  const backup = backupName ? await engine.inspectVolume(backupName) : undefined;
  if (target && target.labels[RUN_LABEL] === run && target.labels[CREATED_LABEL] === 'true') {
    await engine.removeVolume(volume);
    if (backup) await engine.removeVolume(backupName);
    return `removed the half-seeded volume ${volume} left by ${who}.`;
  }
  if (!backup) return `removed the seed lease of ${volume} left by ${who}.`;
  const digest = backup.labels[BACKUP_DIGEST_LABEL] ?? '';
  if ((await digestOfVolume(backupName, helper)).digest !== digest) {
    await engine.removeVolume(backupName); // copying had not finished: the volume was not emptied yet
    return `removed the incomplete backup ${backupName} left by ${who}; ${volume} was not touched.`;
  }
  if (!target) return `volume ${volume} is gone; kept its backup ${backupName} left by ${who}.`;
  if ((await digestOfVolume(volume, helper)).digest !== digest) {
    try {
      await restoreBackup(volume, backupName, digest, helper);
    } catch (error) {
      throw new UserError(
        `Volume ${volume} was left half-overwritten by ${who}, and restoring it failed (${errorMessage(error)}): its previous contents are kept in volume ${backupName}; restore them with: ${restoreCommand(volume, backupName)}`,
      );
    }
    await engine.removeVolume(backupName);
    return `restored ${volume} to its previous contents (digest ${digest}) from the backup left by ${who}.`;
  }
  await engine.removeVolume(backupName);
  return `removed the backup ${backupName} left by ${who}; ${volume} still holds its previous contents.`;
}
