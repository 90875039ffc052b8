import * as core from '@actions/core';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createEncryptor, ENCRYPTED_EXTENSION } from '../archive/encryption.js';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { defaultFormat, FORMAT_EXTENSIONS, type ArchiveFormat } from '../archive/format.js';
import { Inputs } from '../constants.js';
import { resolveIn, type RunnerContext } from '../context.js';
import type { DockerEngine } from '../docker/engine.js';
import { UserError } from '../errors.js';
import type { Settings } from '../inputs.js';
import { createProgressReporter } from '../report/progress.js';
import type { ArchiveOutcome, Report, SeedOutcome } from '../report/report.js';
import { findVolume, imagesMounting, type NamedVolume, type StackModel } from '../stack/model.js';
import { createStore, parseStoreSpec, type StoreOptions } from '../stores/index.js';
import { archiveVolume } from './archive-volume.js';
import { resolveHelperImage } from './helper-image.js';
import { seedVolume } from './seed-volume.js';

/** In the job log: a progress line every 10 s for long archives and seeds. */
const logProgress = createProgressReporter((text) => core.info(text.trimEnd()), false);

export interface StackVolumes {
  engine: DockerEngine;
  model: StackModel;
  runId: string;
}

/** Engine, helper image and run id for reading or writing one of the stack's volumes. */
async function helperFor(volume: NamedVolume, stack: StackVolumes, settings: Settings) {
  const candidates = imagesMounting(stack.model, volume);
  const helperImage = await resolveHelperImage(stack.engine, settings.helperImage, candidates);
  return { engine: stack.engine, helperImage, runId: stack.runId };
}

/** Fills the stack's volumes from the `seed` lines before the stack starts; one download per source. */
export async function seedStackVolumes(
  settings: Settings,
  ctx: RunnerContext,
  stack: StackVolumes,
  signal?: AbortSignal,
): Promise<SeedOutcome[]> {
  const outcomes: SeedOutcome[] = [];
  const fetched = new Map<string, string[]>();
  for (const seed of settings.seeds) {
    signal?.throwIfAborted();
    const volume = findVolume(stack.model, seed.volume);
    if (!volume) {
      const known = stack.model.volumes.map((v) => v.key).join(', ') || 'none';
      throw new UserError(
        `Input '${Inputs.Seed}': the stack has no volume "${seed.volume}" (its volumes: ${known}).`,
      );
    }
    if (!fetched.has(seed.source)) fetched.set(seed.source, await fetchSource(seed.source, settings, ctx));
    const files = fetched.get(seed.source) ?? [];
    if (files.length === 0) {
      core.warning(`No archive found for ${volume.key} in ${seed.source} (seed-optional): it starts empty.`);
      continue;
    }
    const file = pickArchive(files, volume, seed.source);
    const started = Date.now();
    const result = await core.group(`Seed ${volume.name} from ${path.basename(file)}`, async () =>
      seedVolume(volume.name, file, {
        ...(await helperFor(volume, stack, settings)),
        overwrite: settings.overwrite,
        key: settings.encryptKey,
        maxBytes: settings.maxArchiveBytes,
        progress: logProgress,
        notify: (line) => core.warning(`Seed: ${line}`),
        compose: volume.external ? undefined : { project: stack.model.project, key: volume.key },
        signal,
      }),
    );
    outcomes.push({
      volume: volume.name,
      source: seed.source,
      files: result.manifest.files,
      bytes: result.manifest.bytes,
      digest: result.manifest.digest,
      durationMs: Date.now() - started,
    });
  }
  return outcomes;
}

/** Local archive files for a source; [] for a cache miss when seed-optional allows it. */
async function fetchSource(source: string, settings: Settings, ctx: RunnerContext): Promise<string[]> {
  const { kind, name } = parseStoreSpec(source);
  if (kind === 'path') {
    const file = resolveIn(ctx.workspace, name);
    if (!existsSync(file)) throw new UserError(`Input '${Inputs.Seed}': ${file} does not exist.`);
    return [file];
  }
  const store = await createStore(source, storeOptions(settings, ctx, true));
  const dest = await mkdtemp(path.join(ctx.tempDir, 'compose-persist-seed-'));
  const files = await core.group(`Download ${store.description}`, () => store.get(dest));
  if (files.length === 0 && !settings.seedOptional) {
    throw new UserError(
      `${store.description}: nothing to seed from (cache miss). Check the key, or set ${Inputs.SeedOptional}: true to start with empty volumes.`,
    );
  }
  return files;
}

/** The archive for a volume: `<key>.<ext>` or `<name>.<ext>`, or the only archive there is. */
function pickArchive(files: string[], volume: NamedVolume, source: string): string {
  const archives = files.filter((f) => archiveBaseName(f) !== undefined);
  const match = archives.find((f) => [volume.key, volume.name].includes(archiveBaseName(f) as string));
  if (match) return match;
  if (archives.length === 1) return archives[0] as string;
  const names = archives.map((f) => path.basename(f)).join(', ') || 'no archives';
  throw new UserError(
    `${source} has no archive for volume ${volume.key} (expected ${volume.key}.tar.zst or similar; found ${names}).`,
  );
}

function archiveBaseName(file: string): string | undefined {
  const base = path.basename(file).replace(/\.enc$/, '');
  for (const ext of Object.values(FORMAT_EXTENSIONS).flat()) {
    if (base.endsWith(ext)) return base.slice(0, -ext.length);
  }
  return undefined;
}

export function storeOptions(settings: Settings, ctx: RunnerContext, forSeed: boolean): StoreOptions {
  const run = forSeed ? settings.seedRun : undefined;
  if (run && !settings.githubToken) {
    throw new UserError(
      `Input '${Inputs.SeedRunId}' needs '${Inputs.GithubToken}' (a token with actions: read).`,
    );
  }
  return {
    workspaceDir: ctx.workspace,
    tempDir: ctx.tempDir,
    retentionDays: settings.retentionDays,
    restoreKeys: settings.restoreKeys,
    apiUrl: ctx.apiUrl,
    fromRun: run
      ? {
          runId: run.runId,
          token: settings.githubToken as string,
          repository: run.repository ?? ctx.repository,
          workflow: run.workflow,
          branch: run.branch,
        }
      : undefined,
  };
}

/**
 * The archive-to targets: as given (one per line); else an artifact where the runner offers the artifact
 * service, and ./compose-persist-archives outside GitHub. `none` turns archiving off.
 */
export function archiveTargets(settings: Settings, ctx: RunnerContext): string[] {
  const fallback = ctx.onGitHub
    ? ctx.actionsServices
      ? 'artifact'
      : 'none'
    : 'path:compose-persist-archives';
  const given = settings.archiveTo.length ? settings.archiveTo : [fallback];
  if (given.includes('none')) return [];
  return given.map((target) => {
    if (target === 'artifact')
      return `artifact:${settings.artifactName ?? `volumes-${settings.projectName ?? ctx.job}`}`;
    parseStoreSpec(target); // a bad target fails before any work is done
    return target;
  });
}

/**
 * Archives every named volume (one `<key>.<ext>` each) plus report.json into a temp folder of this run's
 * own, and stores them as one unit; the folder is removed once they are stored (or when anything fails).
 * The outcomes name each file as stored (`<key>.<ext>`), since the temp copy is gone.
 */
export async function archiveStackVolumes(
  settings: Settings,
  ctx: RunnerContext,
  stack: StackVolumes,
  targets: string[],
  report: Report,
  signal?: AbortSignal,
): Promise<ArchiveOutcome[]> {
  const dir = await mkdtemp(path.join(ctx.tempDir, `compose-persist-${stack.model.project}-`));
  try {
    const outcomes = await archiveInto(dir, settings, stack, report, signal);
    const asStored = outcomes.map((o) => ({ ...o, file: path.basename(o.file) }));
    const reportFile = await writeReportFile(dir, { ...report, archives: asStored }, settings.encryptKey);
    const locations: string[] = [];
    for (const target of targets) {
      signal?.throwIfAborted();
      const store = await createStore(target, storeOptions(settings, ctx, false));
      const stored = await core.group(`Store archives in ${store.description}`, () =>
        store.put([...outcomes.map((o) => o.file), reportFile]),
      );
      locations.push(stored.location);
    }
    return asStored.map((o) => ({ ...o, store: locations.join(', ') }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function archiveInto(
  dir: string,
  settings: Settings,
  stack: StackVolumes,
  report: Report,
  signal: AbortSignal | undefined,
): Promise<ArchiveOutcome[]> {
  const format: ArchiveFormat = settings.archiveFormat === 'auto' ? defaultFormat() : settings.archiveFormat;
  const outcomes: ArchiveOutcome[] = [];
  for (const volume of stack.model.volumes) {
    signal?.throwIfAborted();
    const file = path.join(dir, `${volume.key}.${format}${settings.encryptKey ? ENCRYPTED_EXTENSION : ''}`);
    const result = await core.group(`Archive ${volume.name}`, async () =>
      archiveVolume(volume.name, file, {
        ...(await helperFor(volume, stack, settings)),
        consistency: settings.archiveConsistency,
        format,
        key: settings.encryptKey,
        progress: logProgress,
        signal,
      }),
    );
    for (const changed of result.changedWhileReading) {
      report.warnings.push(
        `${volume.name}: ${changed} changed while it was archived (archive-consistency: live).`,
      );
    }
    outcomes.push({ volume: volume.name, file, format, bytes: result.bytes, digest: result.manifest.digest });
  }
  return outcomes;
}

/** report.json beside the archives; encrypted too when a key is set (probe outputs can hold data). */
async function writeReportFile(dir: string, report: Report, key: string | undefined): Promise<string> {
  const text = JSON.stringify(report, null, 2);
  if (!key) {
    const file = path.join(dir, 'report.json');
    await writeFile(file, text);
    return file;
  }
  const file = path.join(dir, `report.json${ENCRYPTED_EXTENSION}`);
  await pipeline(Readable.from([Buffer.from(text)]), createEncryptor(key), createWriteStream(file));
  return file;
}
