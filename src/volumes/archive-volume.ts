import { createWriteStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createEncryptor } from '../archive/encryption.js';
import {
  createCompressor,
  createFileCompressor,
  formatFromFileName,
  type ArchiveFormat,
} from '../archive/format.js';
import type { VolumeManifest } from '../archive/manifest.js';
import { createManifestAppender } from '../archive/volume-tar.js';
import type { Engine } from '../docker/engine.js';
import type { ProgressReporter } from '../report/progress.js';
import { UserError } from '../errors.js';
import type { ArchiveConsistency } from '../inputs.js';
import { withQuiescedVolume } from './consistency.js';
import { fingerprintVolume } from './fingerprint.js';
import { ARCHIVE_ROOT, HELPER_MOUNT, withVolumeHelper, type HelperOptions } from './helper.js';

export interface ArchiveOptions {
  engine: Engine;
  helperImage: string;
  runId: string;
  consistency: ArchiveConsistency;
  /** Defaults to the file's extension. */
  format?: ArchiveFormat;
  /** Encrypt with this key (the file should end in `.enc`). */
  key?: string;
  progress?: ProgressReporter;
}

export interface ArchiveResult {
  volume: string;
  file: string;
  format: ArchiveFormat;
  bytes: number;
  manifest: VolumeManifest;
  /** Files that changed while a `live` archive was read (their copies may be inconsistent). */
  changedWhileReading: string[];
}

/**
 * Volume → archive file, streamed: engine tar, passed through unchanged (sha256 per file, manifest appended) →
 * compressor → a temp file renamed into place only when complete.
 */
export async function archiveVolume(
  volume: string,
  dest: string,
  options: ArchiveOptions,
): Promise<ArchiveResult> {
  const format = options.format ?? formatFromFileName(dest);
  await assertWritableDir(path.dirname(dest));
  const partial = `${dest}.partial`;
  const helper = { engine: options.engine, image: options.helperImage, runId: options.runId, readOnly: true };
  try {
    const manifest = await withQuiescedVolume(options.engine, volume, options.consistency, () =>
      withVolumeHelper(volume, helper, async (container) => {
        const appender = createManifestAppender({ root: ARCHIVE_ROOT, volumeName: volume });
        const stopProgress = options.progress?.(`archive ${volume}`, appender);
        const toFile = options.key
          ? [createCompressor(format), createEncryptor(options.key), createWriteStream(partial)]
          : [createFileCompressor(format, partial)];
        await pipeline([await container.getArchive(HELPER_MOUNT), appender, ...toFile]).then(
          () => stopProgress?.(true),
          (error: unknown) => {
            stopProgress?.(false);
            throw error;
          },
        );
        return appender.manifest;
      }),
    );
    const changedWhileReading =
      options.consistency === 'live' ? await changedSince(volume, manifest, helper) : [];
    const { size } = await stat(partial);
    if (size === 0) {
      throw new UserError(`Archive of volume ${volume} came out empty (0 bytes): ${dest} was not kept.`);
    }
    await rename(partial, dest);
    return { volume, file: dest, format, bytes: size, manifest, changedWhileReading };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** Checked before containers are stopped, so a typo in the destination costs nothing. */
async function assertWritableDir(dir: string): Promise<void> {
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new UserError(
      `Cannot write an archive into ${dir}: the directory does not exist or is not writable.`,
    );
  }
}

/** A second read of a live volume: paths whose size, mtime or content differ from what was archived. */
async function changedSince(
  volume: string,
  archived: VolumeManifest,
  helper: HelperOptions,
): Promise<string[]> {
  const now = await fingerprintVolume(volume, helper);
  const before = new Map(archived.entries.map((e) => [e.path, e]));
  return now.entries
    .filter((e) => {
      const old = before.get(e.path);
      return (
        old !== undefined &&
        e.type !== 'directory' &&
        (old.size !== e.size || old.mtime !== e.mtime || old.sha256 !== e.sha256)
      );
    })
    .map((e) => e.path);
}
