import { pipeline } from 'node:stream/promises';
import { locationOf, type ArchiveInput } from '../archive/blob.js';
import { createArchiveReader, openArchiveSource, verifyArchive } from '../archive/volume-tar.js';
import { UserError, errorMessage } from '../errors.js';
import { fingerprintBind } from './fingerprint.js';
import { HELPER_MOUNT, HELPER_MOUNT_PARENT, withWritableBindHelper, type HelperOptions } from './helper.js';
import type { SeedOptions, SeedResult } from './seed-volume.js';

/**
 * Archive → a data bind's source directory on the engine's host, through a helper that binds it (so a remote
 * engine works). Only a missing or empty directory is filled: the archive is verified in full first (and
 * passed to `accept`), then written, then read back; a failure empties the directory again. A bind that
 * holds data is refused, also with overwrite: there is no backup to go back to.
 */
export async function seedBind(
  source: string,
  input: ArchiveInput,
  options: SeedOptions,
): Promise<SeedResult> {
  const file = locationOf(input);
  const archive = await openArchiveSource(input, {
    encryptionKey: options.encryptionKey,
    maxBytes: options.maxBytes,
  });
  const helper: HelperOptions = {
    engine: options.engine,
    image: options.helperImage,
    runLabel: options.runLabel,
  };
  const users = await options.engine.containersUsingVolume(source);
  if (users.length) {
    throw new UserError(
      `Bind source ${source} is mounted by container(s) ${users.map((c) => c.name).join(', ')}: seed it before the stack starts.`,
    );
  }
  const incoming = await verifyArchive(archive);
  options.accept?.(incoming);
  // The engine creates a missing bind source when a container using it starts: a helper that runs `true`.
  await withWritableBindHelper(source, { ...helper, cmd: ['true'] }, (c) => c.runToCompletion());
  const before = await fingerprintBind(source, helper);
  if (before.entries.some((e) => e.path !== '.')) {
    throw new UserError(
      `Bind source ${source} already holds data (${before.files} files): refusing to seed over it${options.overwrite ? ' (overwrite covers volumes only: a bind has no backup to go back to)' : ''}; empty or remove it first, or seed a new directory.`,
    );
  }
  try {
    const manifest = await withWritableBindHelper(source, helper, async (container) => {
      const reader = createArchiveReader({ label: archive.file });
      const feeding = pipeline([...archive.streams(), reader], { signal: options.signal });
      const putting = container.putArchive(reader, HELPER_MOUNT_PARENT).catch((error: unknown) => {
        reader.destroy(error as Error);
        throw error;
      });
      await Promise.all([feeding, putting]);
      return reader.manifest;
    });
    const actual = await fingerprintBind(source, helper);
    if (actual.digest !== manifest.digest) {
      throw new UserError(
        `Bind source ${source} does not match ${file} after seeding (digest ${actual.digest} ≠ ${manifest.digest}).`,
      );
    }
    options.signal?.throwIfAborted();
    return { volume: source, created: false, manifest, foreign: false };
  } catch (error) {
    await emptyBind(source, helper).catch((undo: unknown) => {
      throw new UserError(
        `Seeding bind source ${source} from ${file} failed (${errorMessage(error)}), and emptying it again failed too (${errorMessage(undo)}): empty it by hand.`,
      );
    });
    if (options.signal?.aborted) throw options.signal.reason;
    if (error instanceof UserError) throw error;
    throw new UserError(
      `Seeding bind source ${source} from ${file} failed: ${errorMessage(error)}; it was emptied again.`,
      {
        cause: error,
      },
    );
  }
}

/** Back to the empty directory it was (it held nothing before this seed). */
async function emptyBind(source: string, helper: HelperOptions): Promise<void> {
  const cmd = ['sh', '-c', `find ${HELPER_MOUNT} -mindepth 1 -maxdepth 1 -exec rm -rf {} +`];
  const result = await withWritableBindHelper(source, { ...helper, cmd }, (c) => c.runToCompletion());
  if (result.exitCode !== 0) throw new Error(result.output.trim() || `exit ${result.exitCode}`);
}
