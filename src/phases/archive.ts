import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
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
import { storeOptions, type StoreSettings } from './stores.js';

export type ArchiveSettings = StoreSettings &
  Pick<Settings, 'archiveFormat' | 'archiveConsistency' | 'encryptKey' | 'helperImage'>;

/** Archives every named volume (one `<key>.<ext>` each) plus report.json, and stores them as one unit. */
export const archivePhase: Phase = {
  name: 'archive',
  timing: 'archive',
  run: async ({ settings, ctx, stack, log, archiveTo, reportSoFar }: PhaseInput): Promise<PhaseOutcome> => ({
    phase: 'archive',
    ...(await archiveStack(settings, ctx, stack, log, { targets: archiveTo, reportSoFar })),
  }),
};

interface ArchiveDestination {
  targets: string[];
  reportSoFar: (pending: PhaseOutcome) => Report;
}

async function archiveStack(
  settings: ArchiveSettings,
  ctx: RunnerContext,
  stack: Stack,
  log: Log,
  destination: ArchiveDestination,
): Promise<{ archives: ArchiveOutcome[]; notices: string[] }> {
  if (destination.targets.length === 0) return { archives: [], notices: [] };
  const format: ArchiveFormat = settings.archiveFormat === 'auto' ? defaultFormat() : settings.archiveFormat;
  const dir = path.join(ctx.tempDir, `compose-persist-${stack.model.project}`);
  await mkdir(dir, { recursive: true });
  const progress = createProgressReporter((text) => log.info(text.trimEnd()), false);
  const archives: ArchiveOutcome[] = [];
  const notices: string[] = [];
  for (const volume of stack.model.volumes) {
    const file = path.join(dir, `${volume.key}.${format}${settings.encryptKey ? ENCRYPTED_EXTENSION : ''}`);
    const result = await log.group(`Archive ${volume.name}`, async () =>
      archiveVolume(volume.name, file, {
        engine: stack.engine,
        helperImage: await helperImageForVolume(stack.engine, stack.model, volume, settings.helperImage),
        runId: stack.runId,
        consistency: settings.archiveConsistency,
        format,
        key: settings.encryptKey,
        progress,
      }),
    );
    for (const changed of result.changedWhileReading) {
      notices.push(`${volume.name}: ${changed} changed while it was archived (archive-consistency: live).`);
    }
    archives.push({ volume: volume.name, file, format, bytes: result.bytes, digest: result.manifest.digest });
  }
  const reportFile = await writeReportFile(
    dir,
    destination.reportSoFar({ phase: 'archive', archives, notices }),
    settings.encryptKey,
  );
  const locations: string[] = [];
  for (const target of destination.targets) {
    const store = await createStore(target, storeOptions(settings, ctx, false));
    const stored = await log.group(`Store archives in ${store.description}`, () =>
      store.put([...archives.map((o) => o.file), reportFile]),
    );
    locations.push(stored.location);
  }
  return { archives: archives.map((o) => ({ ...o, store: locations.join(', ') })), notices };
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
