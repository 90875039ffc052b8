import { pipeline } from 'node:stream/promises';
import type { VolumeManifest } from '../archive/manifest.js';
import {
  archiveFileStreams,
  archiveFormatOf,
  createArchiveReader,
  verifyArchiveFile,
} from '../archive/volume-tar.js';
import { COMPOSE_PROJECT_LABEL, COMPOSE_VOLUME_LABEL, CREATED_LABEL, RUN_LABEL } from '../constants.js';
import type { Engine } from '../docker/engine.js';
import type { ProgressReporter } from '../report/progress.js';
import { UserError, errorMessage } from '../errors.js';
import { fingerprintVolume } from './fingerprint.js';
import {
  ARCHIVE_ROOT,
  assertVolumeName,
  HELPER_MOUNT,
  HELPER_MOUNT_PARENT,
  withVolumeHelper,
  type HelperOptions,
} from './helper.js';

export interface SeedOptions {
  engine: Engine;
  helperImage: string;
  runId: string;
  /** Replace the contents of an existing non-empty volume (only after the archive is verified). */
  overwrite: boolean;
  /** The key of an encrypted (`.enc`) archive. */
  key?: string;
  progress?: ProgressReporter;
  /** Refuse archives whose tar stream is larger (a decompression bomb); undefined = no limit. */
  maxBytes?: number;
  /** Compose labels so `compose up` adopts the volume silently. Never config-hash (compose ≥2.32 would recreate). */
  compose?: { project: string; key: string };
}

export interface SeedResult {
  volume: string;
  created: boolean;
  manifest: VolumeManifest;
}

/**
 * Archive file → volume, streamed: file → decompressor → reader (paths checked, sha256 checked against the
 * embedded manifest) → engine PUT. The volume is then read back and its digest compared. A volume this call
 * created is removed when anything fails, so no half-filled volume is left.
 */
export async function seedVolume(volume: string, file: string, options: SeedOptions): Promise<SeedResult> {
  assertVolumeName(volume);
  await archiveFormatOf(file, options.key); // a wrong name, format or missing key fails before anything changes
  const helper: HelperOptions = { engine: options.engine, image: options.helperImage, runId: options.runId };
  const existing = await options.engine.inspectVolume(volume);
  if (existing) await assertNotInUse(volume, options.engine);
  if (existing && (await volumeHasData(volume, helper))) {
    if (!options.overwrite) {
      throw new UserError(
        `Volume ${volume} already holds data: refusing to seed over it. Set overwrite: true to replace it, or seed a new volume.`,
      );
    }
    // Validate before destroying: the whole archive is checked before the volume is emptied.
    await verifyArchiveFile(file, { key: options.key, maxBytes: options.maxBytes });
    await emptyVolume(volume, helper);
  }
  if (!existing) await options.engine.createVolume(volume, volumeLabels(options));
  try {
    const manifest = await writeArchive(volume, file, options, helper);
    await verifyVolume(volume, manifest, helper, file);
    return { volume, created: !existing, manifest };
  } catch (error) {
    await undoSeed(volume, !existing, helper, error);
    throw error;
  }
}

/** Writing under a running application corrupts it (and it would not see a consistent volume anyway). */
async function assertNotInUse(volume: string, engine: Engine): Promise<void> {
  const running = (await engine.containersUsingVolume(volume)).filter((c) => c.state === 'running');
  if (running.length) {
    throw new UserError(
      `Volume ${volume} is in use by running container(s) ${running.map((c) => c.name).join(', ')}: stop them before seeding it.`,
    );
  }
}

function volumeLabels(options: SeedOptions): Record<string, string> {
  const labels: Record<string, string> = { [RUN_LABEL]: options.runId, [CREATED_LABEL]: 'true' };
  if (options.compose) {
    labels[COMPOSE_PROJECT_LABEL] = options.compose.project;
    labels[COMPOSE_VOLUME_LABEL] = options.compose.key;
  }
  return labels;
}

async function writeArchive(volume: string, file: string, options: SeedOptions, helper: HelperOptions) {
  const source = await archiveFileStreams(file, options);
  return withVolumeHelper(volume, helper, async (container) => {
    const reader = createArchiveReader({ root: ARCHIVE_ROOT, label: file });
    const stopProgress = options.progress?.(`seed ${volume}`, reader);
    // An error anywhere (file, decryption, decompressor, manifest check) destroys the reader: the PUT aborts.
    const feeding = pipeline([...source, reader]);
    // PUT to the parent with `volume/...` entries restores the volume root's own owner and mode.
    const putting = container.putArchive(reader, HELPER_MOUNT_PARENT).catch((error: unknown) => {
      reader.destroy(error as Error); // stop reading the file once the engine has given up
      throw error;
    });
    await Promise.all([feeding, putting]).then(
      () => stopProgress?.(true),
      (error: unknown) => {
        stopProgress?.(false);
        throw error;
      },
    );
    return reader.manifest;
  });
}

async function verifyVolume(
  volume: string,
  expected: VolumeManifest,
  helper: HelperOptions,
  file: string,
): Promise<void> {
  const actual = await fingerprintVolume(volume, helper);
  if (actual.digest !== expected.digest) {
    throw new UserError(
      `Volume ${volume} does not match ${file} after seeding (digest ${actual.digest} ≠ ${expected.digest}): the engine did not restore it exactly.`,
    );
  }
}

async function undoSeed(
  volume: string,
  created: boolean,
  helper: HelperOptions,
  cause: unknown,
): Promise<void> {
  try {
    if (created) await helper.engine.removeVolume(volume);
    else await emptyVolume(volume, helper);
  } catch (error) {
    throw new UserError(
      `Seeding ${volume} failed (${errorMessage(cause)}) and cleaning up failed too: ${errorMessage(error)}`,
    );
  }
}

/** True when the volume holds anything besides its root directory. */
export async function volumeHasData(volume: string, helper: HelperOptions): Promise<boolean> {
  const manifest = await fingerprintVolume(volume, helper);
  return manifest.entries.some((e) => e.path !== '.');
}

/** Deletes everything inside the volume (its root stays); needs a helper image with a shell. */
async function emptyVolume(volume: string, helper: HelperOptions): Promise<void> {
  const cmd = ['sh', '-c', `find ${HELPER_MOUNT} -mindepth 1 -maxdepth 1 -exec rm -rf {} +`];
  const result = await withVolumeHelper(volume, { ...helper, cmd }, (c) => c.runToCompletion());
  if (result.exitCode !== 0) {
    throw new UserError(
      `Could not empty volume ${volume} with helper image ${helper.image}: ${result.output.trim()}`,
    );
  }
}
