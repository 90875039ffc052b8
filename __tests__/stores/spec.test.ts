import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseStoreSpec } from '../../src/stores/spec.js';

describe('parseStoreSpec', () => {
  it.each([
    ['artifact:volumes-myproj', { kind: 'artifact', name: 'volumes-myproj' }],
    ['cache:pg-golden-v1', { kind: 'cache', name: 'pg-golden-v1' }],
    ['path:./backups', { kind: 'path', name: './backups' }],
    ['  path: C:/odd:name ', { kind: 'path', name: 'C:/odd:name' }],
  ])('%s', (spec, expected) => {
    expect(parseStoreSpec(spec)).toEqual(expected);
  });

  it.each(['', 'volumes', 's3:bucket', 'artifact:', 'cache:  ', ':name'])('rejects "%s"', (spec) => {
    expect(() => parseStoreSpec(spec)).toThrow(UserError);
    expect(() => parseStoreSpec(spec)).toThrow(`"${spec}": use "artifact:NAME", "cache:KEY" or "path:DIR"`);
  });
});
