import { addAbortSignal } from 'node:stream';
import { digestOfTarStream, manifestOfTarStream, type VolumeDigest } from '../archive/volume-tar.js';
import type { VolumeManifest } from '../archive/manifest.js';
import {
  ARCHIVE_ROOT,
  HELPER_MOUNT,
  withBindHelper,
  withVolumeHelper,
  type HelperOptions,
} from './helper.js';

/**
 * The manifest of a volume as it is now, read through the engine's archive endpoint. Its digest equals
 * the digest of an archive made from the same data. `signal` aborts the read (the helper is still removed).
 */
export async function fingerprintVolume(
  volume: string,
  options: HelperOptions,
  signal?: AbortSignal,
): Promise<VolumeManifest> {
  return withVolumeHelper(volume, { ...options, readOnly: true }, async (helper) => {
    const tar = await helper.getArchive(HELPER_MOUNT);
    return manifestOfTarStream(signal ? addAbortSignal(signal, tar) : tar, ARCHIVE_ROOT);
  });
}

/** The manifest of a bind mount's source directory, read through a helper that binds it read-only. */
export async function fingerprintBind(source: string, options: HelperOptions): Promise<VolumeManifest> {
  return withBindHelper(source, options, async (helper) =>
    manifestOfTarStream(await helper.getArchive(HELPER_MOUNT), ARCHIVE_ROOT, { volumeName: source }),
  );
}

/**
 * The digest and counts of a volume as it is now, its entries not kept: what seeding compares (memory flat
 * in the number of files, where fingerprintVolume keeps every entry for the check's diffs).
 */
export async function digestOfVolume(volume: string, options: HelperOptions): Promise<VolumeDigest> {
  return withVolumeHelper(volume, { ...options, readOnly: true }, async (helper) =>
    digestOfTarStream(await helper.getArchive(HELPER_MOUNT), ARCHIVE_ROOT),
  );
}
