import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  createDecryptor,
  createEncryptor,
  ENCRYPTION_MAGIC,
  isEncrypted,
} from '../../src/archive/encryption.js';
import { UserError } from '../../src/errors.js';

const KEY = 'correct horse battery staple 42';

async function through(data: Buffer, ...streams: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new (await import('node:stream')).Writable({
    write(chunk: Buffer, _e, done) {
      chunks.push(chunk);
      done();
    },
  });
  // Feed in odd-sized pieces so chunk boundaries never line up with writes.
  const pieces = [];
  for (let i = 0; i < data.length; i += 10_007) pieces.push(data.subarray(i, i + 10_007));
  await pipeline(
    Readable.from(pieces.length ? pieces : [Buffer.alloc(0)]),
    ...(streams as [NodeJS.ReadWriteStream]),
    sink,
  );
  return Buffer.concat(chunks);
}

const encrypt = (data: Buffer, key = KEY) => through(data, createEncryptor(key));
const decrypt = (data: Buffer, key = KEY) => through(data, createDecryptor(key, 'x.tar.zst.enc'));

describe('archive encryption envelope', () => {
  it.each([0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 1_000_000])('round-trips %i bytes', async (size) => {
    const plain = randomBytes(size);
    const sealed = await encrypt(plain);
    expect(isEncrypted(sealed)).toBe(true);
    expect(sealed.subarray(0, ENCRYPTION_MAGIC.length)).toEqual(ENCRYPTION_MAGIC);
    // No 32-byte run of the plaintext shows in the ciphertext (shorter runs can match by chance).
    if (size >= 32) expect(sealed.includes(plain.subarray(0, 32))).toBe(false);
    expect((await decrypt(sealed)).equals(plain)).toBe(true);
  });

  it('uses a fresh salt per file: the same plaintext never encrypts the same way', async () => {
    const plain = Buffer.from('same data');
    expect((await encrypt(plain)).equals(await encrypt(plain))).toBe(false);
  });

  it('rejects a wrong key', async () => {
    const sealed = await encrypt(randomBytes(1000));
    await expect(decrypt(sealed, 'another key of enough length')).rejects.toThrow(
      /cannot be decrypted: wrong key, or the file was altered/,
    );
  });

  it.each([
    ['a flipped bit in the first chunk', (b: Buffer) => flip(b, 40)],
    ['a flipped bit in the last tag', (b: Buffer) => flip(b, b.length - 1)],
    ['the last chunk cut off', (b: Buffer) => b.subarray(0, 24 + 65_536 + 16)],
    [
      'a chunk dropped from the middle',
      (b: Buffer) => Buffer.concat([b.subarray(0, 24), b.subarray(24 + 65_552)]),
    ],
    ['bytes appended', (b: Buffer) => Buffer.concat([b, Buffer.from('extra')])],
    ['the header only', (b: Buffer) => b.subarray(0, 24)],
  ])('rejects tampering: %s', async (_name, tamper) => {
    const sealed = await encrypt(randomBytes(3 * 65_536 + 100));
    const error = await decrypt(tamper(sealed)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/x\.tar\.zst\.enc (cannot be decrypted|is truncated)/);
  });

  it('refuses a short key and a file that is not an envelope', async () => {
    expect(() => createEncryptor('short')).toThrow(/at least 16 characters/);
    await expect(decrypt(Buffer.alloc(100, 1))).rejects.toThrow(/not an encrypted compose-persist archive/);
  });

  it('never releases plaintext of a chunk that fails authentication', async () => {
    const plain = randomBytes(2 * 65_536 + 10);
    const sealed = flip(await encrypt(plain), 30);
    const out = createDecryptor(KEY, 'x');
    const received = buffer(out).catch(() => Buffer.alloc(0));
    out.end(sealed);
    expect((await received).length).toBe(0);
  });
});

function flip(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  copy[at] = (copy[at] as number) ^ 1;
  return copy;
}
