import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { withoutEncryptedExtension } from '../archive/encryption.js';
import { FORMAT_EXTENSIONS } from '../archive/format.js';
import { Inputs } from '../constants.js';
import { resolveIn, workingDirOf, type RunnerContext } from '../context.js';
import { UserError } from '../errors.js';
import type { Settings } from '../inputs.js';
import type { Log } from '../log.js';
import { createProgressReporter } from '../report/progress.js';
import { findVolume, type NamedVolume } from '../stack/model.js';
import { createStore, parseStoreSpec } from '../stores/index.js';
import type { PhaseOutcome, SeedOutcome } from '../types/outcomes.js';
import { helperImageForVolume } from '../volumes/helper-image.js';
import { seedVolume } from '../volumes/seed-volume.js';
import type { Stack } from '../stack/stack.js';
import type { Phase, PhaseInput } from './phase.js';
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
  >;

/** Fills the stack's volumes from the `seed` lines before the stack starts; one download per source. */
export const seedPhase: Phase = {
  name: 'seed',
  timing: 'seed',
  async run({ settings, ctx, stack, log, signal }: PhaseInput): Promise<PhaseOutcome> {
    // Downloads land in folders of this run's own, removed once the volumes are seeded (or it failed).
    const downloads: string[] = [];
    try {
      return { phase: 'seed', seeds: await seedStack(settings, { ...ctx, downloads }, stack, log, signal) };
    } finally {
      await Promise.all(downloads.map((dir) => rm(dir, { recursive: true, force: true })));
    }
  },
};

/** The runner context, plus where this run's downloads went (to remove them afterwards). */
type SeedContext = RunnerContext & { downloads: string[] };

async function seedStack(
  settings: SeedSettings,
  ctx: SeedContext,
  stack: Stack,
  log: Log,
  signal?: AbortSignal,
): Promise<SeedOutcome[]> {
  const outcomes: SeedOutcome[] = [];
  const fetched = new Map<string, FetchedSource>();
  const progress = createProgressReporter((text) => log.info(text.trimEnd()), false);
  for (const seed of settings.seeds) {
    signal?.throwIfAborted();
    const volume = findVolume(stack.model, seed.volume);
    if (!volume) {
      const known = stack.model.volumes.map((v) => v.key).join(', ') || 'none';
      throw new UserError(
        `Input '${Inputs.Seed}': the stack has no volume "${seed.volume}" (its volumes: ${known}).`,
      );
    }
    if (!fetched.has(seed.source))
      fetched.set(seed.source, await fetchSource(seed.source, settings, ctx, log));
    const { files, from } = fetched.get(seed.source) ?? { files: [] };
    if (files.length === 0) {
      log.warning(`No archive found for ${volume.key} in ${seed.source} (seed-optional): it starts empty.`);
      continue;
    }
    const file = pickArchive(files, volume, seed.source);
    const started = Date.now();
    const result = await log.group(`Seed ${volume.name} from ${path.basename(file)}`, async () =>
      seedVolume(volume.name, file, {
        engine: stack.engine,
        helperImage: await helperImageForVolume(stack.engine, stack.model, volume, settings.helperImage),
        runLabel: stack.runLabel,
        overwrite: settings.overwrite,
        encryptionKey: settings.encryptKey,
        maxBytes: settings.maxArchiveBytes,
        progress,
        notify: (line) => log.warning(`Seed: ${line}`),
        compose: volume.external ? undefined : { project: stack.model.project, key: volume.key },
        signal,
        foreign: foreignOptions(seed.from, settings),
      }),
    );
    outcomes.push({
      volume: volume.name,
      source: seed.source,
      ...(from ? { from } : {}),
      files: result.manifest.files,
      bytes: result.manifest.bytes,
      digest: result.manifest.digest,
      durationMs: Date.now() - started,
      ...(result.foreign ? { foreign: true } : {}),
    });
  }
  return outcomes;
}

/** A source's local archive files, and which run they came from when that is another run's. */
interface FetchedSource {
  files: string[];
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

/** Local archive files for a source; [] for a cache miss when seed-optional allows it. */
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

/** The archive for a volume: `<key>.<ext>` or `<name>.<ext>`, or the only archive there is. */
export function pickArchive(files: string[], volume: NamedVolume, source: string): string {
  const archives = files.filter((f) => archiveBaseName(f) !== undefined);
  const match = archives.find((f) => [volume.key, volume.name].includes(archiveBaseName(f) as string));
  if (match) return match;
  if (archives.length === 1) return archives[0] as string;
  // path:FILE names one file: a foreign backup's name need not say its format (its content does).
  if (archives.length === 0 && files.length === 1 && parseStoreSpec(source).kind === 'path')
    return files[0] as string;
  const names = archives.map((f) => path.basename(f)).join(', ') || 'no archives';
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
