import { stat } from 'node:fs/promises';
import { locationOf, type ArchiveInput } from '../archive/blob.js';
import type { VolumeManifest } from '../archive/manifest.js';
import { formatBytes } from '../archive/volume-tar.js';
import { Inputs } from '../constants.js';
import { UserError } from '../errors.js';

/** The nightly job's guards: a backup that stopped being made, or one that came out truncated, fails. */
export interface SeedGuards {
  maxAgeMs?: number;
  minBytes?: number;
}

/** A time the backup is known by, and what it is the time of (for the message). */
export interface BackupTime {
  at: Date;
  of: string;
}

/**
 * Checks what can be checked before anything is read (the store's time), and returns the check of the
 * manifest, for seedVolume's `accept`: a refusal there undoes the seed.
 */
export async function guardSeed(
  file: ArchiveInput,
  guards: SeedGuards,
): Promise<(manifest: VolumeManifest) => void> {
  if (guards.maxAgeMs === undefined && guards.minBytes === undefined) return () => undefined;
  const location = locationOf(file);
  const stored = await storedTimes(file);
  if (stored.length > 0) assertFresh(location, stored, guards);
  return (manifest) => {
    assertFresh(location, [...stored, ...manifestTime(manifest)], guards);
    assertLargeEnough(location, manifest, guards);
  };
}

/** When the store wrote the archive: an object's LastModified, a local file's mtime. */
export async function storedTimes(file: ArchiveInput): Promise<BackupTime[]> {
  if (typeof file !== 'string') return file.modifiedAt ? [{ at: file.modifiedAt, of: 'stored' }] : [];
  const written = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT' ? new UserError(`Archive ${file} does not exist.`) : error;
  });
  return [{ at: written.mtime, of: 'file written' }];
}

/**
 * Refuses a backup older than maxAgeMs. Its age comes from the OLDEST time known for it: a manifest's
 * createdAt is when the data was read; an object's or file's time is when it was stored, never earlier.
 * Taking the oldest means a fresh copy of a stale backup (re-uploaded, copied) is still seen as stale.
 */
export function assertFresh(
  location: string,
  times: BackupTime[],
  guards: SeedGuards,
  now: Date = new Date(),
): void {
  if (guards.maxAgeMs === undefined) return;
  const known = times.filter((t) => !Number.isNaN(t.at.getTime()));
  if (known.length === 0) {
    throw new UserError(
      `Backup ${location} has no time to judge its age by (no manifest time, no object or file time): ${Inputs.SeedMaxAge} cannot be checked; remove ${Inputs.SeedMaxAge} for this source.`,
    );
  }
  const oldest = known.reduce((a, b) => (b.at < a.at ? b : a));
  const ageMs = now.getTime() - oldest.at.getTime();
  if (ageMs <= guards.maxAgeMs) return;
  throw new UserError(
    `Backup ${location} is ${formatAge(ageMs)} old (${oldest.of} ${oldest.at.toISOString()}), older than ${Inputs.SeedMaxAge} ${formatAge(guards.maxAgeMs)}: the backup job has stopped making new backups; fix it (or raise ${Inputs.SeedMaxAge}).`,
  );
}

/** Refuses a backup whose data (the sum of its files' sizes) is smaller than minBytes. */
export function assertLargeEnough(location: string, manifest: VolumeManifest, guards: SeedGuards): void {
  if (guards.minBytes === undefined || manifest.bytes >= guards.minBytes) return;
  throw new UserError(
    `Backup ${location} holds ${formatBytes(manifest.bytes)} of data (${manifest.files} files), less than ${Inputs.SeedMinSize} ${formatBytes(guards.minBytes)}: it is truncated or empty; check the backup job (or lower ${Inputs.SeedMinSize}).`,
  );
}

/** The manifest's own time, when it has a valid one. */
export function manifestTime(manifest: VolumeManifest): BackupTime[] {
  const at = new Date(manifest.createdAt);
  return Number.isNaN(at.getTime()) ? [] : [{ at, of: 'archived' }];
}

/** "2d 3h", "26h 5m", "90s". */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${s}s`;
}
