import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createEncryptor, ENCRYPTED_EXTENSION } from '../archive/encryption.js';
import { defaultFormat, type ArchiveFormat } from '../archive/format.js';
import type { RunnerContext } from '../context.js';
import type { Settings } from '../inputs.js';
import type { Log } from '../log.js';
import { createProgressReporter } from '../report/progress.js';
import type { Report } from '../report/schema.js';
import { projectDirOf, type Stack } from '../stack/stack.js';
import {
  createStore,
  isStreamingStore,
  type ArchiveStore,
  type ArchiveUpload,
  type StreamingStore,
} from '../stores/index.js';
import type { ArchiveOutcome, PhaseOutcome } from '../types/outcomes.js';
import { dataBinds, imagesMounting } from '../stack/model.js';
import { errorMessage } from '../errors.js';
import { archiveVolume, archiveVolumeToUpload, type ArchiveResult } from '../volumes/archive-volume.js';
import { resolveHelperImage } from '../volumes/helper-image.js';
import { askProbes, PROBE_TIMEOUT_MS } from '../check/probe-answers.js';
import { assertStackHealthy, StackError } from '../stack/lifecycle.js';
import type { RecordedProbes } from '../types/restore.js';
import { runningStack, type Phase, type PhaseInput, type RunningStack } from './phase.js';
import { defaultArchiveSkipped, storeOptions, type StoreSettings } from './stores.js';

export type ArchiveSettings = StoreSettings &
  Pick<
    Settings,
    | 'archiveFormat'
    | 'archiveConsistency'
    | 'encryptKey'
    | 'helperImage'
    | 'probes'
    | 'recordProbes'
    | 'services'
  >;

/**
 * Archives every named volume (one `<key>.<ext>` each) and every data bind (`bind-<service>-<target>.<ext>`) into a temp folder of this run's own, writes the
 * final report.json beside them, and stores them as one unit; the folder is removed once they are stored
 * (or when anything fails). The outcomes name each file as stored (`<key>.<ext>`): the temp copy is gone.
 */
export const archivePhase: Phase = {
  name: 'archive',
  timing: 'archive',
  run: async (input: PhaseInput): Promise<PhaseOutcome> => {
    const { settings, ctx, stack, log, archiveTo, reportSoFar, signal, teardownFollows } = input;
    const probes =
      settings.recordProbes && archiveTo.length > 0
        ? await log.group('Record the probes', () => recordProbes(settings, runningStack(input)))
        : {};
    return {
      phase: 'archive',
      ...probes,
      ...(await archiveStack(settings, ctx, stack, log, {
        targets: archiveTo,
        reportSoFar,
        signal,
        startAgain: !teardownFollows,
        probes: probes.recorded,
        probeFailures: probes.probeFailures,
      })),
    };
  },
};

type RecordedAnswers = Pick<Extract<PhaseOutcome, { phase: 'archive' }>, 'recorded' | 'probeFailures'>;

/**
 * record-probes: the probes' answers right before the volumes are read (the stack healthy, nothing of ours
 * writing in between), for every archive's manifest. A probe that fails is not recorded, and fails the run;
 * the backup is still made (an unhealthy stack records nothing, and says why).
 */
async function recordProbes(settings: ArchiveSettings, running: RunningStack): Promise<RecordedAnswers> {
  try {
    await assertStackHealthy(
      running.engine,
      running.model.project,
      'before the probes are recorded',
      settings.services,
    );
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    return { probeFailures: [`no probe was asked: ${error.message}`] };
  }
  const answers = await askProbes(running.compose, settings.probes, {
    env: await running.commandEnv(),
    cwd: running.workingDir,
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  const failures = answers.filter((a) => !a.ok).map((a) => a.failure ?? a.probe);
  return {
    recorded: {
      recordedAt: new Date().toISOString(),
      probes: answers.filter((a) => a.ok).map((a) => ({ probe: a.probe, output: a.text })),
    },
    ...(failures.length ? { probeFailures: failures } : {}),
  };
}

interface ArchiveDestination {
  targets: string[];
  reportSoFar: PhaseInput['reportSoFar'];
  signal?: AbortSignal;
  /** Start the containers stopped for a read again: false when the stack is torn down right after. */
  startAgain: boolean;
  /** record-probes: the answers every manifest records. */
  probes?: RecordedProbes;
  /** record-probes: probes that failed, for the report.json stored beside the archives. */
  probeFailures?: string[];
}

async function archiveStack(
  settings: ArchiveSettings,
  ctx: RunnerContext,
  stack: Stack,
  log: Log,
  destination: ArchiveDestination,
): Promise<{ archives: ArchiveOutcome[]; notices: string[] }> {
  if (destination.targets.length === 0) {
    const skipped = defaultArchiveSkipped(settings, ctx);
    return { archives: [], notices: skipped ? [skipped] : [] };
  }
  const stores = [];
  for (const target of destination.targets)
    stores.push(await createStore(target, storeOptions(settings, ctx, false)));
  const [only] = stores;
  // One streaming target: each archive goes straight from the engine into the store, nothing staged.
  if (stores.length === 1 && only && isStreamingStore(only)) {
    return archiveStreamed(settings, only, stack, log, destination);
  }
  return archiveStaged(settings, ctx, stores, stack, log, destination);
}

/** Archives into a temp folder of this run's own, then stores the files in every target. */
async function archiveStaged(
  settings: ArchiveSettings,
  ctx: RunnerContext,
  stores: ArchiveStore[],
  stack: Stack,
  log: Log,
  destination: ArchiveDestination,
): Promise<{ archives: ArchiveOutcome[]; notices: string[] }> {
  const started = Date.now();
  const { signal } = destination;
  const dir = await mkdtemp(path.join(ctx.tempDir, `compose-persist-${stack.model.project}-`));
  try {
    const { files, archives, notices } = await archiveInto(dir, settings, stack, log, destination);
    // The report stored beside the archives is the run's final one: every phase so far, this one included.
    const planned = stores.map((store) => store.description).join(', ');
    const final = destination.reportSoFar(
      {
        phase: 'archive',
        archives: archives.map((a) => ({ ...a, store: planned })),
        notices,
        ...recordedPart(destination),
      },
      { archive: Date.now() - started },
    );
    const reportFile = await writeReportFile(dir, final, settings.encryptKey);
    const locations: string[] = [];
    for (const store of stores) {
      signal?.throwIfAborted();
      const stored = await log.group(`Store archives in ${store.description}`, () =>
        store.put([...files, reportFile]),
      );
      locations.push(stored.location);
    }
    return { archives: archives.map((a) => ({ ...a, store: locations.join(', ') })), notices };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Streams every volume's archive into the store, then the report. Every name is checked free before the
 * first container is stopped; when anything fails, what this run stored is removed again (no half unit).
 */
async function archiveStreamed(
  settings: ArchiveSettings,
  store: StreamingStore,
  stack: Stack,
  log: Log,
  destination: ArchiveDestination,
): Promise<{ archives: ArchiveOutcome[]; notices: string[] }> {
  const started = Date.now();
  const format = formatOf(settings);
  const data = dataOf(stack);
  const names = data.map((item) => archiveName(item.key, format, settings.encryptKey));
  const reportName = reportFileName(settings.encryptKey);
  for (const name of [...names, reportName]) await store.assertAbsent(store.objectKey(name));
  const progress = createProgressReporter((text) => log.info(text.trimEnd()), false);
  const uploads: ArchiveUpload[] = [];
  try {
    const archives: ArchiveOutcome[] = [];
    const notices: string[] = [];
    for (const [index, item] of data.entries()) {
      destination.signal?.throwIfAborted();
      const upload = store.upload(names[index] as string);
      uploads.push(upload);
      const result = await log.group(`Archive ${item.source} to ${upload.location}`, async () =>
        skippingFileBind(item, notices, async () =>
          archiveVolumeToUpload(item.source, upload, {
            ...(await archiveOptionsOf(settings, stack, item)),
            probes: destination.probes,
            format,
            progress,
            signal: destination.signal,
            startAgain: destination.startAgain,
          }),
        ),
      );
      if (!result) continue;
      notices.push(...changedNotices(item.source, result.changedWhileReading));
      archives.push(outcomeOf(item.source, names[index] as string, result, store.description));
    }
    const final = destination.reportSoFar(
      { phase: 'archive', archives, notices, ...recordedPart(destination) },
      { archive: Date.now() - started },
    );
    const report = store.upload(reportName);
    uploads.push(report);
    await Promise.all([pipeline([...reportStreams(final, settings.encryptKey), report.stream]), report.done]);
    return { archives, notices };
  } catch (error) {
    await Promise.all(uploads.map((upload) => upload.discard().catch(() => undefined)));
    throw error;
  }
}

async function archiveInto(
  dir: string,
  settings: ArchiveSettings,
  stack: Stack,
  log: Log,
  { signal, startAgain, probes }: ArchiveDestination,
): Promise<{ files: string[]; archives: ArchiveOutcome[]; notices: string[] }> {
  const format = formatOf(settings);
  const progress = createProgressReporter((text) => log.info(text.trimEnd()), false);
  const files: string[] = [];
  const archives: ArchiveOutcome[] = [];
  const notices: string[] = [];
  for (const item of dataOf(stack)) {
    signal?.throwIfAborted();
    const file = path.join(dir, archiveName(item.key, format, settings.encryptKey));
    const result = await log.group(`Archive ${item.source}`, async () =>
      skippingFileBind(item, notices, async () =>
        archiveVolume(item.source, file, {
          ...(await archiveOptionsOf(settings, stack, item)),
          probes,
          format,
          progress,
          signal,
          startAgain,
        }),
      ),
    );
    if (!result) continue;
    notices.push(...changedNotices(item.source, result.changedWhileReading));
    files.push(file);
    archives.push(outcomeOf(item.source, path.basename(file), result, ''));
  }
  return { files, archives, notices };
}

/** What the archive outcome says of the recorded probes (for the report stored beside the archives). */
function recordedPart({ probes, probeFailures }: ArchiveDestination): RecordedAnswers {
  return { ...(probes ? { recorded: probes } : {}), ...(probeFailures ? { probeFailures } : {}) };
}

function formatOf(settings: ArchiveSettings): ArchiveFormat {
  return settings.archiveFormat === 'auto' ? defaultFormat() : settings.archiveFormat;
}

/** `<key>.<ext>`, `.enc` when encrypted: the name a seed looks for. */
function archiveName(key: string, format: ArchiveFormat, encryptKey: string | undefined): string {
  return `${key}.${format}${encryptKey ? ENCRYPTED_EXTENSION : ''}`;
}

/** What an archive holds: a named volume (`<key>.<ext>`), or a data bind (`bind-<service>-<target>.<ext>`). */
interface StackData {
  key: string;
  /** The volume's name, or the bind's source directory on the engine's host. */
  source: string;
  bind: boolean;
  /** Images of the services that mount it: candidates for the helper. */
  images: string[];
}

/** The named volumes, then the data binds (see dataBinds: writable, not system or project directories). */
function dataOf(stack: Stack): StackData[] {
  const { model } = stack;
  const volumes = model.volumes.map((v) => ({
    key: v.key,
    source: v.name,
    bind: false,
    images: imagesMounting(model, v),
  }));
  const binds = dataBinds(model, projectDirOf(stack)).map((b) => ({
    key: b.name,
    source: b.source,
    bind: true,
    images: [model.images[b.service]].filter((i): i is string => Boolean(i)),
  }));
  return [...volumes, ...binds];
}

async function archiveOptionsOf(settings: ArchiveSettings, stack: Stack, item: StackData) {
  return {
    engine: stack.engine,
    helperImage: await resolveHelperImage(stack.engine, settings.helperImage, item.images),
    runLabel: stack.runLabel,
    consistency: settings.archiveConsistency,
    encryptionKey: settings.encryptKey,
    bind: item.bind,
  };
}

/** A writable bind of a single file (a config, a socket) is not a data directory: said, and skipped. */
async function skippingFileBind(
  item: StackData,
  notices: string[],
  archive: () => Promise<ArchiveResult>,
): Promise<ArchiveResult | undefined> {
  try {
    return await archive();
  } catch (error) {
    if (!item.bind || !/is a file, not a directory|has no root entry/.test(errorMessage(error))) throw error;
    notices.push(`bind ${item.source}: not a directory, not archived.`);
    return undefined;
  }
}

function changedNotices(volume: string, changed: string[]): string[] {
  return changed.map(
    (file) => `${volume}: ${file} changed while it was archived (archive-consistency: live).`,
  );
}

function outcomeOf(volume: string, file: string, result: ArchiveResult, store: string): ArchiveOutcome {
  return { volume, file, format: result.format, bytes: result.bytes, digest: result.manifest.digest, store };
}

/** The report's bytes, encrypted when a key is set (probe outputs can hold data). */
function reportStreams(report: Report, key: string | undefined): (Readable | Duplex)[] {
  const text = Readable.from([Buffer.from(JSON.stringify(report, null, 2))]);
  return key ? [text, createEncryptor(key)] : [text];
}

/** report.json beside the archives; encrypted too when a key is set. */
async function writeReportFile(dir: string, report: Report, key: string | undefined): Promise<string> {
  const file = path.join(dir, reportFileName(key));
  await pipeline([...reportStreams(report, key), createWriteStream(file)]);
  return file;
}

function reportFileName(key: string | undefined): string {
  return `report.json${key ? ENCRYPTED_EXTENSION : ''}`;
}
