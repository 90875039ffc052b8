import { addAbortSignal, type Readable } from 'node:stream';
import { digestOfTarStream, type VolumeDigest } from '../archive/volume-tar.js';
import type { HelperContainer } from '../docker/engine.js';
import { listTarStream, type SampleSpec, type VolumeListing } from './fingerprint-listing.js';
import { dataPathOf, withPlaceTar } from './data-path.js';
import { ARCHIVE_ROOT, HELPER_MOUNT, openPlaceHelper, type HelperOptions } from './helper.js';

/** A place to list: a named or anonymous volume, or a bind mount's source on the engine's host. */
export interface ListedPlace {
  kind: 'volume' | 'anonymous' | 'bind';
  source: string;
}

/**
 * Lists places (see listTarStream) into a temp dir, through the run's data path (data-path.ts). On the
 * engine's archive API it keeps one helper container per named volume or bind until close(): the check
 * reads each place once per mode, and a helper costs as much as a small volume. Anonymous volumes get a
 * fresh helper each time, so one a mode replaced can be removed. The host path needs no helper.
 */
export class FingerprintSession {
  private readonly helpers = new Map<string, Promise<HelperContainer>>();

  /** `samples`: the entries each listing keeps aside (known-store markers). */
  constructor(
    private readonly tempDir: string,
    private readonly samples?: SampleSpec,
  ) {}

  async list(place: ListedPlace, options: HelperOptions): Promise<VolumeListing> {
    const where = place.kind === 'bind' ? { bind: place.source } : { volume: place.source };
    const listing = (tar: Readable) =>
      listTarStream(tar, {
        root: ARCHIVE_ROOT,
        tempDir: this.tempDir,
        ...(this.samples ? { samples: this.samples } : {}),
        ...(place.kind === 'bind' ? { volumeName: place.source } : {}),
      });
    if ((await dataPathOf(options.engine, options.runLabel)).kind === 'host') {
      return withPlaceTar(where, options, listing, { live: true }); // the stack runs as it is read
    }
    const fromHelper = (helper: HelperContainer) => helper.getArchive(HELPER_MOUNT).then(listing);
    if (place.kind === 'anonymous') {
      const helper = await openPlaceHelper(where, options);
      try {
        return await fromHelper(helper);
      } finally {
        await helper.remove();
      }
    }
    const key = `${place.kind}:${place.source}`;
    let helper = this.helpers.get(key);
    if (!helper) {
      helper = openPlaceHelper(where, options);
      this.helpers.set(key, helper);
      helper.catch(() => this.helpers.delete(key));
    }
    return fromHelper(await helper);
  }

  /** Removes the helpers (and leaves the listings to the caller's temp dir). */
  async close(): Promise<void> {
    const helpers = [...this.helpers.values()];
    this.helpers.clear();
    await Promise.all(helpers.map((h) => h.then((helper) => helper.remove()).catch(() => undefined)));
  }
}

/** A place's digest and counts; `exact`: read by GNU tar on the host, so its exactDigest covers xattrs too. */
export interface PlaceDigest extends VolumeDigest {
  exact: boolean;
}

/**
 * The digest and counts of a volume as it is now, its entries not kept: what seeding compares (memory flat
 * in the number of files; the check's diffs use FingerprintSession's listings). `signal` aborts the read.
 */
export async function digestOfVolume(
  volume: string,
  options: HelperOptions,
  signal?: AbortSignal,
): Promise<PlaceDigest> {
  return withPlaceTar({ volume }, options, async (tar, exact) => ({
    ...(await digestOfTarStream(signal ? addAbortSignal(signal, tar) : tar, ARCHIVE_ROOT)),
    exact,
  }));
}

/** digestOfVolume for a bind mount's source directory on the engine's host. */
export async function digestOfBind(source: string, options: HelperOptions): Promise<PlaceDigest> {
  return withPlaceTar({ bind: source }, options, async (tar, exact) => ({
    ...(await digestOfTarStream(tar, ARCHIVE_ROOT)),
    exact,
  }));
}
