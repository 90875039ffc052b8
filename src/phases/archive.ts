import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createEncryptor, ENCRYPTED_EXTENSION } from '../archive/encryption.js';
import { defaultFormat, type ArchiveFormat } from '../archive/format.js';
import type { RunnerContext } from '../context.js';
import type { Settings } from '../inputs.js';
import type { Log } from '../log.js';
import { createProgressReporter } from '../report/progress.js';
import type { Report } from '../report/schema.js';
import type { Stack } from '../stack/stack.js';
import { createStore } from '../stores/index.js';
import type { ArchiveOutcome, PhaseOutcome } from '../types/outcomes.js';
import { archiveVolume } from '../volumes/archive-volume.js';
import { helperImageForVolume } from '../volumes/helper-image.js';
import type { Phase, PhaseInput } from './phase.js';
import { defaultArchiveSkipped, storeOptions, type StoreSettings } from './stores.js';

export type ArchiveSettings = StoreSettings &
  Pick<Settings, 'archiveFormat' | 'archiveConsistency' | 'encryptKey' | 'helperImage'>;

/**
 * Archives every named volume (one `<key>.<ext>` each) into a temp folder of this run's own, writes the
 * final report.json beside them, and stores them as one unit; the folder is removed once they are stored
 * (or when anything fails). The outcomes name each file as stored (`<key>.<ext>`): the temp copy is gone.
 */
export const archivePhase: Phase = {
  name: 'archive',
  timing: 'archive',
  run: async ({
    settings,
    ctx,
    stack,
    log,
    archiveTo,
    reportSoFar,
    signal,
  }: PhaseInput): Promise<PhaseOutcome> => ({
    phase: 'archive',
    ...(await archiveStack(settings, ctx, stack, log, { targets: archiveTo, reportSoFar, signal })),
  }),
};

interface ArchiveDestination {
  targets: string[];
  reportSoFar: PhaseInput['reportSoFar'];
  signal?: AbortSignal;
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
  const started = Date.now();
  const { signal } = destination;
  const dir = await mkdtemp(path.join(ctx.tempDir, `compose-persist-${stack.model.project}-`));
  try {
    const { files, archives, notices } = await archiveInto(dir, settings, stack, log, signal);
    const stores = [];
    for (const target of destination.targets)
      stores.push(await createStore(target, storeOptions(settings, ctx, false)));
    // The report stored beside the archives is the run's final one: every phase so far, this one included.
    const planned = stores.map((store) => store.description).join(', ');
    const final = destination.reportSoFar(
      { phase: 'archive', archives: archives.map((a) => ({ ...a, store: planned })), notices },
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

async function archiveInto(
  dir: string,
  settings: ArchiveSettings,
  stack: Stack,
  log: Log,
  signal: AbortSignal | undefined,
): Promise<{ files: string[]; archives: ArchiveOutcome[]; notices: string[] }> {
  const format: ArchiveFormat = settings.archiveFormat === 'auto' ? defaultFormat() : settings.archiveFormat;
  const progress = createProgressReporter((text) => log.info(text.trimEnd()), false);
  const files: string[] = [];
  const archives: ArchiveOutcome[] = [];
  const notices: string[] = [];
  for (const volume of stack.model.volumes) {
    signal?.throwIfAborted();
    const file = path.join(dir, `${volume.key}.${format}${settings.encryptKey ? ENCRYPTED_EXTENSION : ''}`);
    const result = await log.group(`Archive ${volume.name}`, async () =>
      archiveVolume(volume.name, file, {
        engine: stack.engine,
        helperImage: await helperImageForVolume(stack.engine, stack.model, volume, settings.helperImage),
        runLabel: stack.runLabel,
        consistency: settings.archiveConsistency,
        format,
        encryptionKey: settings.encryptKey,
        progress,
        signal,
      }),
    );
    for (const changed of result.changedWhileReading) {
      notices.push(`${volume.name}: ${changed} changed while it was archived (archive-consistency: live).`);
    }
    files.push(file);
    const stored = path.basename(file);
    archives.push({
      volume: volume.name,
      file: stored,
      format,
      bytes: result.bytes,
      digest: result.manifest.digest,
    });
  }
  return { files, archives, notices };
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
