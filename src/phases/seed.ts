import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { locationOf, type ArchiveInput } from '../archive/blob.js';
import { withoutEncryptedExtension } from '../archive/encryption.js';
import { recordedProbesOf, type VolumeManifest } from '../archive/manifest.js';
import { FORMAT_EXTENSIONS } from '../archive/format.js';
import { Inputs } from '../constants.js';
import { resolveIn, workingDirOf, type RunnerContext } from '../context.js';
import { UserError } from '../errors.js';
import type { Settings } from '../inputs.js';
import type { Log } from '../log.js';
import { createProgressReporter } from '../report/progress.js';
import { dataBinds, findVolume, imagesMounting } from '../stack/model.js';
import { createStore, isStreamingStore, parseStoreSpec } from '../stores/index.js';
import type { PhaseOutcome, SeedOutcome } from '../types/outcomes.js';
import { resolveHelperImage } from '../volumes/helper-image.js';
import { seedBind } from '../volumes/seed-bind.js';
import { seedVolume, type SeedOptions } from '../volumes/seed-volume.js';
import { projectDirOf, type Stack } from '../stack/stack.js';
import type { Phase, PhaseInput } from './phase.js';
import { guardSeed, manifestTime, storedTimes, type BackupTime, type SeedGuards } from './seed-guards.js';
import { storeOptions, type StoreSettings } from './stores.js';

export type SeedSettings = StoreSettings &
  Pick<
    Settings,
    | 'seeds'
    | 'seedOptional'
    | 'overwrite'
    | 'encryptKey'
    | 'decryptPassphrase'
    | 'decryptIdentity'
    | 'maxArchiveBytes'
    | 'helperImage'
    | 'seedMaxAgeMs'
    | 'seedMinBytes'
  >;

/** Fills the stack's volumes from the `seed` lines before the stack starts; one download per source. */
export const seedPhase: Phase = {
  name: 'seed',
  timing: 'seed',
  async run({ settings, ctx, stack, log, signal }: PhaseInput): Promise<PhaseOutcome> {
    // Downloads land in folders of this run's own, removed once the volumes are seeded (or it failed).
    const downloads: string[] = [];
    const startedAt = new Date().toISOString();
    const fetching = { ms: 0 };
    try {
      const seeds = await seedStack(settings, { ...ctx, downloads, fetching }, stack, log, signal);
      return { phase: 'seed', seeds, startedAt, downloadMs: fetching.ms };
    } finally {
      await Promise.all(downloads.map((dir) => rm(dir, { recursive: true, force: true })));
    }
  },
};

/** The runner context, plus where this run's downloads went (to remove them afterwards) and how long they took. */
type SeedContext = RunnerContext & { downloads: string[]; fetching: { ms: number } };

async function seedStack(
  settings: SeedSettings,
  ctx: SeedContext,
  stack: Stack,
  log: Log,
  signal?: AbortSignal,
): Promise<SeedOutcome[]> {
  const outcomes: SeedOutcome[] = [];
  const fetched = new Map<string, FetchedSource>();
  const guards: SeedGuards = { maxAgeMs: settings.seedMaxAgeMs, minBytes: settings.seedMinBytes };
  const progress = createProgressReporter((text) => log.info(text.trimEnd()), false);
  for (const seed of settings.seeds) {
    signal?.throwIfAborted();
    const target = seedTarget(stack, seed.volume);
    if (!fetched.has(seed.source)) {
      const fetchStarted = Date.now();
      fetched.set(seed.source, await fetchSource(seed.source, settings, ctx, log));
      ctx.fetching.ms += Date.now() - fetchStarted;
    }
    const { files, from } = fetched.get(seed.source) ?? { files: [] };
    if (files.length === 0) {
      log.warning(`No archive found for ${target.key} in ${seed.source} (seed-optional): it starts empty.`);
      continue;
    }
    const file = pickArchive(files, target, seed.source);
    const location = locationOf(file);
    const accept = await guardSeed(file, guards); // a stale object is refused before anything is read
    const stored = await storedTimes(file);
    const started = Date.now();
    const result = await log.group(`Seed ${target.name} from ${location}`, async () => {
      const options: SeedOptions = {
        engine: stack.engine,
        helperImage: await resolveHelperImage(stack.engine, settings.helperImage, target.images),
        runLabel: stack.runLabel,
        overwrite: settings.overwrite,
        encryptionKey: settings.encryptKey,
        maxBytes: settings.maxArchiveBytes,
        progress,
        notify: (line) => log.warning(`Seed: ${line}`),
        compose: target.compose,
        signal,
        accept,
        foreign: foreignOptions(seed.from, settings),
      };
      return target.bind ? seedBind(target.name, file, options) : seedVolume(target.name, file, options);
    });
    outcomes.push({
      volume: target.name,
      // a prefix names the object it resolved to
      source: isPrefix(seed.source) ? `${seed.source} → ${location}` : seed.source,
      ...(from ? { from } : {}),
      files: result.manifest.files,
      bytes: result.manifest.bytes,
      digest: result.manifest.digest,
      durationMs: Date.now() - started,
      ...(result.foreign ? { foreign: true } : {}),
      key: keyOf(file, seed.source),
      ...madeAtOf([...stored, ...manifestTime(result.manifest)]),
      times: result.times,
      ...recordedOf(result.manifest, location),
    });
  }
  return outcomes;
}

/** A source's local archive files, and which run they came from when that is another run's. */
interface FetchedSource {
  files: ArchiveInput[];
  from?: string;
}

/** Where a foreign backup keeps the volume, and its gpg/age secrets (the passphrase defaults to `encrypt`). */
function foreignOptions(from: string | undefined, settings: SeedSettings) {
  const passphrase = settings.decryptPassphrase ?? settings.encryptKey;
  return {
    from,
    decrypt: {
      ...(passphrase === undefined ? {} : { passphrase }),
      ...(settings.decryptIdentity === undefined ? {} : { identity: settings.decryptIdentity }),
    },
  };
}

/** What a seed line fills: a named volume, or a data bind (`bind-<service>-<target>`, as its archive is named). */
interface SeedTarget {
  key: string;
  /** The volume's name, or the bind's source directory. */
  name: string;
  bind: boolean;
  images: string[];
  compose?: SeedOptions['compose'];
}

function seedTarget(stack: Stack, keyOrName: string): SeedTarget {
  const { model } = stack;
  const volume = findVolume(model, keyOrName);
  if (volume) {
    const compose = volume.external ? undefined : { project: model.project, key: volume.key };
    return {
      key: volume.key,
      name: volume.name,
      bind: false,
      images: imagesMounting(model, volume),
      compose,
    };
  }
  const binds = dataBinds(model, projectDirOf(stack));
  const bind = binds.find((b) => b.name === keyOrName);
  if (bind)
    return {
      key: bind.name,
      name: bind.source,
      bind: true,
      images: [model.images[bind.service]].filter((i): i is string => Boolean(i)),
    };
  const known = [...model.volumes.map((v) => v.key), ...binds.map((b) => b.name)].join(', ') || 'none';
  throw new UserError(
    `Input '${Inputs.Seed}': the stack has no volume or data bind "${keyOrName}" (it has: ${known}).`,
  );
}

/**
 * The archives of a source: local files (downloaded, or a path), or objects read as streams (s3://, newest
 * first); [] for a cache miss when seed-optional allows it.
 */
async function fetchSource(
  source: string,
  settings: SeedSettings,
  ctx: SeedContext,
  log: Log,
): Promise<FetchedSource> {
  const { kind, name } = parseStoreSpec(source);
  if (kind === 'path') {
    const file = resolveIn(workingDirOf(ctx), name);
    if (!existsSync(file)) throw new UserError(`Input '${Inputs.Seed}': ${file} does not exist.`);
    return { files: [file] };
  }
  const store = await createStore(source, storeOptions(settings, ctx, true));
  if (isStreamingStore(store))
    return { files: await log.group(`List ${store.description}`, () => store.objects()) };
  const dest = await mkdtemp(path.join(ctx.tempDir, 'compose-persist-seed-'));
  ctx.downloads.push(dest);
  const files = await log.group(`Download ${store.description}`, () => store.get(dest));
  if (files.length === 0 && !settings.seedOptional) {
    throw new UserError(
      `${store.description}: nothing to seed from (cache miss). Check the key, or set ${Inputs.SeedOptional}: true to start with empty volumes.`,
    );
  }
  const from = store.origin?.();
  if (from) log.info(`The archives come from ${from}.`);
  return { files, ...(from ? { from } : {}) };
}

/**
 * The archive for a volume: `<key>.<ext>` or `<name>.<ext>`, or the only archive there is. Under a prefix
 * (`s3://B/P/`, newest first) the newest archive of that name, else the newest archive there.
 */
export function pickArchive<T extends ArchiveInput>(
  files: T[],
  volume: { key: string; name: string },
  source: string,
): T {
  const archives = files.filter((f) => archiveBaseName(locationOf(f)) !== undefined);
  const match = archives.find((f) =>
    [volume.key, volume.name].includes(archiveBaseName(locationOf(f)) as string),
  );
  if (match) return match;
  if (archives.length === 1 || (isPrefix(source) && archives.length > 0)) return archives[0] as T;
  // path:FILE names one file: a foreign backup's name need not say its format (its content does).
  if (archives.length === 0 && files.length === 1 && parseStoreSpec(source).kind === 'path')
    return files[0] as T;
  const names = archives.map((f) => path.basename(locationOf(f))).join(', ') || 'no archives';
  throw new UserError(
    `${source} has no archive for volume ${volume.key} (expected ${volume.key}.tar.zst or similar; found ${names}).`,
  );
}

function archiveBaseName(file: string): string | undefined {
  const base = withoutEncryptedExtension(path.basename(file));
  for (const ext of Object.values(FORMAT_EXTENSIONS).flat()) {
    if (base.endsWith(ext)) return base.slice(0, -ext.length);
  }
  return undefined;
}

/** `s3://BUCKET/PREFIX/` (or a whole bucket): a folder of backups, of which the newest is used. */
function isPrefix(source: string): boolean {
  return source.startsWith('s3://') && (source.endsWith('/') || !source.slice(5).includes('/'));
}

/** The archive's name in its store: an object's key, a downloaded file's name, a path as resolved. */
function keyOf(file: ArchiveInput, source: string): string {
  if (typeof file !== 'string') return locationOf(file);
  return parseStoreSpec(source).kind === 'path' ? file : path.basename(file);
}

/** When the backup was made: the oldest time known for it, as the seed-max-age guard judges it. */
function madeAtOf(times: BackupTime[]): { madeAt?: string; madeAtOf?: string } {
  const known = times.filter((t) => !Number.isNaN(t.at.getTime()));
  if (known.length === 0) return {};
  const oldest = known.reduce((a, b) => (b.at < a.at ? b : a));
  return { madeAt: oldest.at.toISOString(), madeAtOf: oldest.of };
}

/** The probe answers the archive recorded (record-probes), for the restore drill. */
function recordedOf(manifest: VolumeManifest, location: string) {
  const recorded = recordedProbesOf(manifest, `Archive ${location}`);
  return recorded ? { recorded } : {};
}
