import { manifestOfTarStream } from '../../src/archive/volume-tar.js';
import type { VolumeManifest } from '../../src/archive/manifest.js';
import { withPlaceTar } from '../../src/volumes/data-path.js';
import { ARCHIVE_ROOT, type HelperOptions } from '../../src/volumes/helper.js';

/** Every entry of a volume as it is now, through the run's data path: for tests that compare entries. */
export async function volumeManifest(volume: string, options: HelperOptions): Promise<VolumeManifest> {
  return withPlaceTar({ volume }, options, (tar) => manifestOfTarStream(tar, ARCHIVE_ROOT));
}
