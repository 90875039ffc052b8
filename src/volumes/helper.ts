import { ARCHIVE_ROOT } from '../archive/manifest.js';
import { RUN_LABEL } from '../constants.js';
import type { Engine, HelperContainer, HelperMount } from '../docker/engine.js';
import { UserError } from '../errors.js';
import { OWNER_LABEL, ownerLabel } from './process-owner.js';

/** Where a helper mounts the volume: a path no ordinary image has, so nothing is copied up into it. */
export const HELPER_MOUNT_PARENT = '/.compose-persist';
export { ARCHIVE_ROOT };
/** The volume's mount: its basename is the root name of every archive's entries. */
export const HELPER_MOUNT = `${HELPER_MOUNT_PARENT}/${ARCHIVE_ROOT}`;

/** Docker's own rule for volume names; checked first so a typo gets our words, not the engine's. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function assertVolumeName(volume: string): void {
  if (!VOLUME_NAME.test(volume)) {
    throw new UserError(
      `Volume name "${volume}" is invalid: use at least two characters from letters, digits, _, . and -, starting with a letter or digit.`,
    );
  }
}

export interface HelperOptions {
  engine: Engine;
  image: string;
  runLabel: string;
  readOnly?: boolean;
  cmd?: string[];
}

/**
 * Creates a never-started container that mounts VOLUME at HELPER_MOUNT, runs `use`, and removes the
 * container whatever happens. The volume must already exist: Docker would silently create a mistyped one.
 */
export async function withVolumeHelper<T>(
  volume: string,
  options: HelperOptions,
  use: (helper: HelperContainer) => Promise<T>,
): Promise<T> {
  const { engine } = options;
  assertVolumeName(volume);
  if (!(await engine.inspectVolume(volume))) {
    throw new UserError(`Volume ${volume} does not exist: check the name (docker volume ls lists them).`);
  }
  return withHelper({ volume, target: HELPER_MOUNT, readOnly: options.readOnly }, options, use);
}

/**
 * Creates a never-started container that binds SOURCE (a directory on the engine's host, so a remote
 * engine works too) read-only at HELPER_MOUNT, runs `use`, and removes the container whatever happens.
 */
export async function withBindHelper<T>(
  source: string,
  options: HelperOptions,
  use: (helper: HelperContainer) => Promise<T>,
): Promise<T> {
  return withHelper({ bind: source, target: HELPER_MOUNT, readOnly: true }, options, use);
}

/**
 * A helper that binds SOURCE read-write at HELPER_MOUNT (creating the directory on the engine's host when it
 * is missing), to seed a data bind.
 */
export async function withWritableBindHelper<T>(
  source: string,
  options: HelperOptions,
  use: (helper: HelperContainer) => Promise<T>,
): Promise<T> {
  return withHelper({ bind: source, target: HELPER_MOUNT, createSource: true }, options, use);
}

async function withHelper<T>(
  mount: HelperMount,
  options: HelperOptions,
  use: (helper: HelperContainer) => Promise<T>,
): Promise<T> {
  const helper = await openHelper(mount, options);
  try {
    return await use(helper);
  } finally {
    await helper.remove();
  }
}

/**
 * A never-started helper mounting a volume (or a bind, read-only) at HELPER_MOUNT, kept by the caller,
 * which removes it; for a reader that comes back to the same place many times.
 */
export async function openPlaceHelper(
  place: { volume: string } | { bind: string },
  options: HelperOptions,
): Promise<HelperContainer> {
  if ('volume' in place) {
    assertVolumeName(place.volume);
    if (!(await options.engine.inspectVolume(place.volume))) {
      throw new UserError(
        `Volume ${place.volume} does not exist: check the name (docker volume ls lists them).`,
      );
    }
  }
  return openHelper({ ...place, target: HELPER_MOUNT, readOnly: true }, options);
}

async function openHelper(mount: HelperMount, options: HelperOptions): Promise<HelperContainer> {
  const { engine } = options;
  if (!(await engine.hasImage(options.image))) {
    throw new UserError(
      `Helper image ${options.image} is not present on the engine: pull it first or set the helper-image input to an image that is.`,
    );
  }
  return engine.createHelper({
    image: options.image,
    mounts: [mount],
    // The owner lets a later run tell a helper of a killed run (a leftover) from one in use.
    labels: { [RUN_LABEL]: options.runLabel, [OWNER_LABEL]: ownerLabel() },
    cmd: options.cmd,
  });
}
