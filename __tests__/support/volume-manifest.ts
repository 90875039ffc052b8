import { manifestOfTarStream } from '../../src/archive/volume-tar.js';
import type { VolumeManifest } from '../../src/archive/manifest.js';
import {
  ARCHIVE_ROOT,
  HELPER_MOUNT,
  withVolumeHelper,
  type HelperOptions,
} from '../../src/volumes/helper.js';

/** Every entry of a volume as it is now, through a read-only helper: for tests that compare entries. */
export async function volumeManifest(volume: string, options: HelperOptions): Promise<VolumeManifest> {
  return withVolumeHelper(volume, { ...options, readOnly: true }, async (helper) =>
    manifestOfTarStream(await helper.getArchive(HELPER_MOUNT), ARCHIVE_ROOT),
  );
}
