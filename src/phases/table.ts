import { archivePhase } from './archive.js';
import { crashLoadPhase } from './crash-load.js';
import { drillPhase } from './drill.js';
import { layerAuditPhase } from './layer-audit.js';
import type { Phase, StartPhase } from './phase.js';
import { restartsPhase } from './restarts.js';
import { seedPhase } from './seed.js';
import { testsPhase } from './tests.js';
import { attachPhase, upPhase } from './up.js';

/**
 * The entry modes: the main action runs every phase; the sub-actions one job each on a stack the user
 * manages (seed before their own `up`, check and archive on a stack that is already up).
 */
export const ENTRY_MODES = ['full', 'seed', 'check', 'archive'] as const;
export type EntryMode = (typeof ENTRY_MODES)[number];

/**
 * Which phases each entry mode runs, in order. The restore drill comes right after up, before the tests can
 * write: the probes then see what the seed restored, and the restore's time ends with their answers. The crash rounds come before the restarts: the restarts'
 * evidence (and the volumes' last fingerprints in the report) then includes what the load wrote.
 */
export const PHASES_OF: Readonly<Record<EntryMode, readonly (Phase | StartPhase)[]>> = {
  full: [
    seedPhase,
    upPhase,
    drillPhase,
    testsPhase,
    layerAuditPhase,
    crashLoadPhase,
    restartsPhase,
    archivePhase,
  ],
  seed: [seedPhase, drillPhase],
  check: [attachPhase, layerAuditPhase, crashLoadPhase, restartsPhase],
  archive: [attachPhase, archivePhase],
};

/** Whether a mode owns the stack (starts it, so post must tear it down) and archives it. */
export function ownsStack(mode: EntryMode): boolean {
  return PHASES_OF[mode].includes(upPhase);
}

export function archives(mode: EntryMode): boolean {
  return PHASES_OF[mode].includes(archivePhase);
}
