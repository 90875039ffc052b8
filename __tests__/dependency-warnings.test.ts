import { afterEach, describe, expect, it } from 'vitest';

import '../src/dependency-warnings.js';

describe('dependency warnings', () => {
  const seen: string[] = [];
  const listener = (w: Error & { code?: string }): void => {
    seen.push(w.code ?? w.message);
  };
  process.on('warning', listener);
  afterEach(() => {
    seen.length = 0;
  });

  it("drops docker-modem's url.parse deprecation (DEP0169), in both call forms", async () => {
    process.emitWarning('url.parse() behavior is not standardized', 'DeprecationWarning', 'DEP0169');
    process.emitWarning('url.parse() behavior is not standardized', {
      type: 'DeprecationWarning',
      code: 'DEP0169',
    });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([]);
  });

  it('keeps every other warning', async () => {
    process.emitWarning('something else', 'DeprecationWarning', 'DEP9999');
    process.emitWarning('a plain one');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['DEP9999', 'a plain one']);
  });
});
