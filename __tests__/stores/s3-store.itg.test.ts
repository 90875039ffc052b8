// The S3 store with the unmodified SDK against s3rver on 127.0.0.1 (started here).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { S3Store, s3ClientFromEnv } from '../../src/stores/s3-store.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

const BUCKET = 'cp-store-test';
let server: S3Server;
let scratch: string;

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
  scratch = await mkdtemp(path.join(tmpdir(), 'cp-s3-store-'));
});

afterAll(async () => {
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function store(url: string, env: Record<string, string> = server.env): S3Store {
  return new S3Store(url, s3ClientFromEnv(env));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function uploadBytes(target: S3Store, name: string, bytes: Buffer): Promise<void> {
  const upload = target.upload(name);
  await Promise.all([pipeline(Readable.from([bytes]), upload.stream), upload.done]);
}

describe('S3Store (s3rver, unmodified SDK)', () => {
  it('streams a multipart upload in and out; a prefix lists newest first; ranged reads give the head', async () => {
    const big = randomBytes(20 * 1024 * 1024 + 123); // more than two 8 MiB parts
    await uploadBytes(store('s3://cp-store-test/nightly/1/'), 'app.tar.gz', big);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // LastModified has 1 s resolution
    await uploadBytes(store('s3://cp-store-test/nightly/2'), 'app.tar.gz', Buffer.from('newer'));

    const objects = await store('s3://cp-store-test/nightly/').objects();
    expect(objects.map((o) => o.location)).toEqual([
      's3://cp-store-test/nightly/2/app.tar.gz',
      's3://cp-store-test/nightly/1/app.tar.gz',
    ]);
    const older = objects[1];
    expect(older?.size).toBe(big.length);
    expect((await readAll(older!.open())).equals(big)).toBe(true);
    expect((await readAll(older!.open({ start: 0, end: 511 }))).equals(big.subarray(0, 512))).toBe(true);
  });

  it('put() uploads staged files under the prefix, and never replaces an object', async () => {
    const dir = await mkdtemp(path.join(scratch, 'put-'));
    await writeFile(path.join(dir, 'db.tar.zst'), 'archive');
    await writeFile(path.join(dir, 'report.json'), '{}');
    const target = store('s3://cp-store-test/put/');
    const stored = await target.put([path.join(dir, 'db.tar.zst'), path.join(dir, 'report.json')]);
    expect(stored.files).toEqual(['db.tar.zst', 'report.json']);
    const dest = await mkdtemp(path.join(scratch, 'get-'));
    const files = await store('s3://cp-store-test/put/db.tar.zst').get(dest);
    expect(await readFile(files[0] as string, 'utf8')).toBe('archive');
    await expect(target.put([path.join(dir, 'db.tar.zst')])).rejects.toThrow(
      /^s3:\/\/cp-store-test\/put\/db\.tar\.zst already exists and is never replaced: archive to a new prefix/,
    );
  });

  it('a missing object and an empty prefix are one-line errors naming the URL', async () => {
    const missing = store('s3://cp-store-test/nope/db.tar.gz').objects();
    await expect(missing).rejects.toThrow(UserError);
    await expect(missing).rejects.toThrow(
      /^No object at s3:\/\/cp-store-test\/nope\/db\.tar\.gz \(NotFound\): check the key/,
    );
    await expect(store('s3://cp-store-test/nothing-here/').objects()).rejects.toThrow(
      /^No objects under s3:\/\/cp-store-test\/nothing-here\/: check the bucket and the prefix/,
    );
    await expect(store('s3://no-such-bucket/x/').objects()).rejects.toThrow(
      /^S3 bucket no-such-bucket does not exist \(s3:\/\/no-such-bucket\/x\/\)/,
    );
  });

  // s3rver checks the access key id (not a V4 signature), so the wrong credentials are a wrong key id.
  it('bad credentials are a one-line error naming the URL and the variables to fix', async () => {
    const wrong = { ...server.env, AWS_ACCESS_KEY_ID: 'NOBODY' };
    const listing = store('s3://cp-store-test/nightly/', wrong).objects();
    await expect(listing).rejects.toThrow(UserError);
    await expect(listing).rejects.toThrow(
      /^S3 refused s3:\/\/cp-store-test\/nightly\/ \(InvalidAccessKeyId\): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    const head = store('s3://cp-store-test/nightly/2/app.tar.gz', wrong).objects();
    await expect(head).rejects.toThrow(/^S3 refused s3:\/\/cp-store-test\/nightly\/2\/app\.tar\.gz \(\w+/);
  });

  it('a discarded upload leaves no object', async () => {
    const target = store('s3://cp-store-test/discard/');
    const upload = target.upload('half.tar.gz');
    upload.stream.write(randomBytes(1024));
    await upload.discard();
    await expect(store('s3://cp-store-test/discard/').objects()).rejects.toThrow(/^No objects under/);
  });
});
