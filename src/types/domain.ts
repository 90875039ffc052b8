// The check's vocabulary: values the inputs choose from, used by every phase. A leaf: it imports nothing.

export const RESTART_MODES = ['restart', 'stop-start', 'kill', 'recreate', 'down-up'] as const;
export type RestartMode = (typeof RESTART_MODES)[number];
/** Crash modes: a graceful stop before them would flush what a crash is meant to lose. */
export const CRASH_MODES: readonly RestartMode[] = ['kill'];
/** crash-first: crash modes run before graceful ones; as-given: the order of restart-modes. */
export const RESTART_ORDERS = ['crash-first', 'as-given'] as const;
export type RestartOrder = (typeof RESTART_ORDERS)[number];
/** process: SIGKILL of the containers (the page cache survives); power-loss: also every write not made durable is lost. */
export const CRASH_KINDS = ['process', 'power-loss'] as const;
export type CrashKind = (typeof CRASH_KINDS)[number];
export const CHECK_FILES_POLICIES = ['no-loss', 'exact', 'off'] as const;
export type CheckFilesPolicy = (typeof CHECK_FILES_POLICIES)[number];
/** auto: recognise known stores' data directories and leave out what each treats as transient; off: compare all. */
export const KNOWN_STORES_MODES = ['auto', 'off'] as const;
export type KnownStoresMode = (typeof KNOWN_STORES_MODES)[number];
export const LAYER_AUDIT_MODES = ['warn', 'fail', 'off'] as const;
export type LayerAuditMode = (typeof LAYER_AUDIT_MODES)[number];
export const CONSISTENCY_MODES = ['stop', 'pause', 'live'] as const;
export type ArchiveConsistency = (typeof CONSISTENCY_MODES)[number];
export const ARCHIVE_FORMATS = ['auto', 'tar', 'tar.gz', 'tar.zst'] as const;
export const PULL_POLICIES = ['always', 'missing', 'never', 'build'] as const;

/** A command run on the runner (`host`) or inside a service's container. */
export interface CommandSpec {
  target: 'host' | { service: string };
  command: string;
}

/** A probe (or any command) as one line, the same however it was written: `SERVICE: COMMAND`, `host: COMMAND`. */
export function commandLine(spec: CommandSpec): string {
  return `${spec.target === 'host' ? 'host' : spec.target.service}: ${spec.command}`;
}
