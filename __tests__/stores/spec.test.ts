import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { parseS3Url, parseStoreSpec } from '../../src/stores/spec.js';

describe('parseStoreSpec', () => {
  it.each([
    ['artifact:volumes-myproj', { kind: 'artifact', name: 'volumes-myproj' }],
    ['cache:pg-golden-v1', { kind: 'cache', name: 'pg-golden-v1' }],
    ['path:./backups', { kind: 'path', name: './backups' }],
    ['  path: C:/odd:name ', { kind: 'path', name: 'C:/odd:name' }],
    ['s3://backups/nightly/', { kind: 's3', name: 's3://backups/nightly/' }],
  ])('%s', (spec, expected) => {
    expect(parseStoreSpec(spec)).toEqual(expected);
  });

  it.each(['', 'volumes', 's3:bucket', 'artifact:', 'cache:  ', ':name'])('rejects "%s"', (spec) => {
    expect(() => parseStoreSpec(spec)).toThrow(UserError);
    expect(() => parseStoreSpec(spec)).toThrow(
      `"${spec}": use "artifact:NAME", "cache:KEY", "path:DIR" or "s3://BUCKET/KEY"`,
    );
  });
});

describe('parseS3Url', () => {
  it.each([
    ['s3://backups/nightly/db.tar.gz', { bucket: 'backups', key: 'nightly/db.tar.gz' }],
    ['s3://backups/nightly/', { bucket: 'backups', key: 'nightly/' }],
    ['s3://backups', { bucket: 'backups', key: '' }],
  ])('%s', (url, expected) => {
    expect(parseS3Url(url)).toEqual(expected);
  });

  it.each(['s3://', 's3://Up/x', 's3://ab/x', 's3:///key'])('rejects "%s" naming the form', (url) => {
    expect(() => parseStoreSpec(url)).toThrow(`Invalid S3 location "${url}": use s3://BUCKET/KEY`);
  });
});
