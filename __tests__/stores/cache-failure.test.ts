import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { cacheReadsOff, cacheRestoreFailure, cacheSaveFailure } from '../../src/stores/cache-failure.js';

// Lines as @actions/cache 6.3 prints them (info as is, warning/debug as workflow commands). The causes the
// local stand-in can produce are tested on the real client in cache-store.itg.test.ts.
describe('why @actions/cache stored nothing', () => {
  it('a rate limit is quoted, and is not the user’s to fix', () => {
    const error = cacheSaveFailure(
      'cache key k',
      '::warning::Failed to save: Rate limited: Failed request: (429) Too Many Requests\n',
    );
    expect(error).not.toBeInstanceOf(UserError);
    expect(error.message).toBe(
      'Saving cache key k failed: the cache service rate-limited this run ("Rate limited: Failed request: (429) Too Many Requests"). Fix: run the job again later, or archive to an artifact instead (archive-to: artifact).',
    );
  });

  it('the budget wins over the reservation words the client wraps it in', () => {
    const log =
      '::debug::Failed to reserve cache: Error: Failed to CreateCacheEntry: Cache storage quota has been hit. Unable to upload any new cache entries.%0AMore info: https://docs.github.com\n' +
      'Failed to save: Unable to reserve cache with key k, another job may be creating this cache.\n';
    expect(cacheSaveFailure('cache key k', log).message).toMatch(/Actions cache storage is full/);
    expect(cacheSaveFailure('cache key k', log.split('\n')[1] ?? '').message).toMatch(
      /another job is saving the same key right now\. Fix: make the key unique per job/,
    );
  });

  it('an unknown cause: the client’s last warning, unescaped, never "see the warning above"', () => {
    const log = '::warning::Failed to save: first\n::warning::Failed to save: 100%25 broken%0Asecond line\n';
    expect(cacheSaveFailure('cache key k', log).message).toBe(
      'Saving cache key k failed: Failed to save: 100% broken second line.',
    );
    expect(cacheSaveFailure('cache key k', '').message).toBe(
      'Saving cache key k failed: @actions/cache stored nothing and did not say why.',
    );
  });

  it('a real miss is no failure; a write-only job did not look at all', () => {
    const miss = '::debug::Cache not found for version abc of keys: k\n';
    expect(cacheRestoreFailure('cache key k', miss)).toBeUndefined();
    const skipped = "Cache restore skipped: the effective cache-mode 'write-only' does not permit reads.\n";
    expect(cacheReadsOff(skipped)).toBe(true);
    expect(cacheReadsOff(miss)).toBe(false);
    expect(cacheRestoreFailure('cache key k', skipped)).toBeInstanceOf(UserError);
  });
});
