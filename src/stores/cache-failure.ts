import { UserError } from '../errors.js';

/**
 * Why @actions/cache saved or restored nothing, from what it printed: it never throws for these (caching is
 * best-effort to it), it returns -1 or "no entry" and says why only in its log — an info line for a cache-mode
 * that forbids the operation, a warning for a denial by the service, a debug line for a full cache. Each
 * sentence below is matched on the client's own words (@actions/cache 6.3).
 */
interface Cause {
  /** A line of the client's log that identifies the cause; its first group, if any, is the detail quoted. */
  found: RegExp;
  /** The cause and the fix, after "Saving/Restoring <what> failed: ". */
  explain: (detail: string) => string;
  /** The user can fix it (a UserError), rather than a fault of the service. */
  users: boolean;
}

const TO_ARTIFACT =
  'archive to an artifact instead (archive-to: artifact), or save the cache from a push or scheduled run and only restore it in runs like this one';

const SAVE_CAUSES: Cause[] = [
  {
    // "Cache save skipped: the effective cache-mode 'read' does not permit writes."
    found: /Cache save skipped: the effective cache-mode '([^']*)'/,
    explain: (mode) =>
      `the runner set ACTIONS_CACHE_MODE=${mode} for this job, so the cache ${mode === 'none' ? 'is off' : 'can be read but not written'} here. Fix: ${TO_ARTIFACT}.`,
    users: true,
  },
  {
    // CreateCacheEntry answered "cache write denied: ..." (the token was issued read-only).
    found: /(cache write denied:[^\n"]*)/, // the detail ends where a JSON string in a debug line would
    explain: (detail) =>
      `the cache service refused the write ("${detail.trim()}"): this run's token may only read the cache, as GitHub issues it for runs it does not trust, such as a pull request from a fork. Fix: ${TO_ARTIFACT}.`,
    users: true,
  },
  {
    // A UsageError, reported only in a debug line before the client words it as a reservation failure.
    found: /(Cache storage quota has been hit[^\n]*)/,
    explain: () =>
      "the repository's Actions cache storage is full (the service answered \"Cache storage quota has been hit\"). Fix: delete cache entries you no longer need (`gh cache delete KEY`, or the repository's Actions → Caches page), raise the cache storage limit in the repository's or organisation's Actions settings, or archive to an artifact instead (archive-to: artifact).",
    users: true,
  },
  {
    found: /(Rate limited:[^\n]*)/,
    explain: (detail) =>
      `the cache service rate-limited this run ("${detail.trim()}"). Fix: run the job again later, or archive to an artifact instead (archive-to: artifact).`,
    users: false,
  },
  {
    // What the client says for any other refusal to reserve the key (our own check found no such key).
    found: /(another job may be creating this cache)/,
    explain: () =>
      'the cache service would not reserve the key: most likely another job is saving the same key right now. Fix: make the key unique per job, e.g. with `${{ github.run_id }}-${{ github.job }}` in it.',
    users: true,
  },
];

/** "Cache restore skipped: the effective cache-mode 'none' does not permit reads." */
const READS_OFF = /Cache restore skipped: the effective cache-mode '([^']*)'/;

const RESTORE_CAUSES: Cause[] = [
  {
    found: READS_OFF,
    explain: (mode) =>
      `the runner set ACTIONS_CACHE_MODE=${mode} for this job, so the cache cannot be read here (this is not a cache miss). Fix: seed from an artifact or a path instead, or run the job where the cache can be read.`,
    users: true,
  },
  {
    found: /(cache read denied:[^\n"]*)/,
    explain: (detail) =>
      `the cache service refused the read ("${detail.trim()}"): this run's token may not read the cache (this is not a cache miss). Fix: seed from an artifact or a path instead, or run the job where the cache can be read.`,
    users: true,
  },
  {
    // Any other failure: the client reports it as a miss after this warning or error line.
    found: /Failed to restore: ([^\n]*)/,
    explain: (detail) => `${detail.trim()} (the cache client reports this as a miss; it is not one).`,
    users: false,
  },
];

/** The error for a save that stored nothing; the client's last warning when no cause is known. */
export function cacheSaveFailure(what: string, clientLog: string): Error {
  return (
    explain(`Saving ${what} failed: `, SAVE_CAUSES, clientLog) ??
    new Error(
      `Saving ${what} failed: ${lastClientWarning(clientLog) ?? '@actions/cache stored nothing and did not say why'}.`,
    )
  );
}

/** The error for a restore that the client reported as a miss but was not one; undefined for a real miss. */
export function cacheRestoreFailure(what: string, clientLog: string): Error | undefined {
  return explain(`Restoring ${what} failed: `, RESTORE_CAUSES, clientLog);
}

/** The client did not look at all: the job's cache-mode forbids reads (a write-only job). */
export function cacheReadsOff(clientLog: string): boolean {
  return READS_OFF.test(clientLog);
}

function explain(prefix: string, causes: Cause[], clientLog: string): Error | undefined {
  const text = unescapeCommands(clientLog);
  for (const cause of causes) {
    const match = cause.found.exec(text);
    if (!match) continue;
    const message = prefix + cause.explain(match[1] ?? match[0]);
    return cause.users ? new UserError(message) : new Error(message);
  }
  return undefined;
}

/** `::warning::Failed to save: X` → `Failed to save: X`. */
function lastClientWarning(clientLog: string): string | undefined {
  const warnings = [...clientLog.matchAll(/^::(?:warning|error)(?: [^:]*)?::(.*)$/gm)];
  const last = warnings.at(-1)?.[1];
  return last === undefined ? undefined : unescapeCommands(last).replace(/\s*\n\s*/g, ' ');
}

/** Workflow commands carry a message's newlines as %0A (and % as %25): undone, so a line is a line. */
function unescapeCommands(text: string): string {
  return text.replace(/%0D/g, '').replace(/%0A/g, '\n').replace(/%25/g, '%');
}
