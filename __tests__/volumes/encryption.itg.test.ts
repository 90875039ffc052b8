import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { Resources, cli, createVolume, engine, inVolume, uniqueName } from './fixtures.js';

const resources = new Resources();
const IMAGE = ['--helper-image', BUSYBOX_IMAGE];
const KEY = 'nightly-backup-key-0123456789';
const SECRET_TEXT = 'customer-ssn-123-45-6789';
let dir: string;
let source: string;
let sealed: string;

beforeAll(async () => {
  dir = await resources.tempDir();
  source = await createVolume(resources);
  await inVolume(source, `printf '${SECRET_TEXT}\\n' > /v/customers.txt && chown -R 999:999 /v`);
  sealed = path.join(dir, 'customers.tar.gz.enc');
  const archived = await cli(['archive', source, sealed, ...IMAGE, '--encrypt', KEY]);
  expect(archived.code, archived.stderr).toBe(0);
});

afterAll(() => resources.cleanup());

describe('encrypted archives (encrypt option)', () => {
  it('hold no readable trace of the data, and give the volume digest back with the key', async () => {
    const bytes = await readFile(sealed);
    expect(bytes.includes(Buffer.from(SECRET_TEXT))).toBe(false);
    expect(bytes.subarray(0, 5).toString()).toBe('CPENC');
    const fromVolume = await cli(['digest', source, ...IMAGE]);
    const fromFile = await cli(['digest', sealed], { ...process.env, COMPOSE_PERSIST_KEY: KEY });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout.trim()).toBe(fromVolume.stdout.trim().split('\n').at(-1));
  });

  it('seed into a fresh volume with the key, exactly', async () => {
    const target = uniqueName('dec');
    resources.volumes.add(target);
    const seeded = await cli(['seed', target, sealed, ...IMAGE, '--encrypt', KEY]);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect((await inVolume(target, 'cat /v/customers.txt', true)).trim()).toBe(SECRET_TEXT);
  });

  it.each([
    ['no key', [], /is encrypted: give the key it was made with/],
    [
      'a wrong key',
      ['--encrypt', 'not-the-right-key-at-all'],
      /cannot be decrypted: wrong key, or the file was altered/,
    ],
  ])('refuse to seed with %s, leaving no volume', async (_name, extra, message) => {
    const target = uniqueName('nokey');
    const seeded = await cli(['seed', target, sealed, ...IMAGE, ...(extra as string[])]);
    expect(seeded.code).toBe(1);
    expect(seeded.stderr).toMatch(message);
    expect(await engine.inspectVolume(target)).toBeUndefined();
  });

  it('reject tampered ciphertext, leaving no volume', async () => {
    const bytes = await readFile(sealed);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0x40;
    const tampered = path.join(dir, 'tampered.tar.gz.enc');
    await writeFile(tampered, bytes);
    const target = uniqueName('tampered');
    const seeded = await cli(['seed', target, tampered, ...IMAGE, '--encrypt', KEY]);
    expect(seeded.code).toBe(1);
    expect(seeded.stderr).toMatch(
      /tampered\.tar\.gz\.enc cannot be decrypted: wrong key, or the file was altered or truncated/,
    );
    expect(await engine.inspectVolume(target)).toBeUndefined();
  });
});
