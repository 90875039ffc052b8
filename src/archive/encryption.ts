import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { UserError } from '../errors.js';

/**
 * An authenticated envelope for archives (age-like STREAM construction with node:crypto):
 *   MAGIC (8) | salt (16) | chunk… where chunk = AES-256-GCM(64 KiB of plaintext) | tag (16).
 * The key is HKDF-SHA256(secret, salt), so every file has its own key and the nonce can be a counter:
 * 11 bytes big-endian chunk number + 1 byte "last chunk" flag. Every chunk is authenticated before any of
 * its plaintext is released; a reordered, dropped, appended or truncated chunk fails, because the
 * counter and the last-chunk flag are part of the nonce.
 */
export const ENCRYPTION_MAGIC = Buffer.from('CPENC\x00\x01\n', 'latin1');
export const ENCRYPTED_EXTENSION = '.enc';

/** The endings of foreign encrypted backups: gpg (OpenPGP) and age. */
export const FOREIGN_ENVELOPE_EXTENSIONS = { gpg: ['.gpg', '.pgp'], age: ['.age'] } as const;
const ENVELOPE_ENDINGS = [ENCRYPTED_EXTENSION, ...Object.values(FOREIGN_ENVELOPE_EXTENSIONS).flat()];

/** A file name without its `.enc`, `.gpg` or `.age` (the archive format's extension is what is left). */
export function withoutEncryptedExtension(name: string): string {
  const ending = ENVELOPE_ENDINGS.find((end) => name.endsWith(end));
  return ending === undefined ? name : name.slice(0, -ending.length);
}
const SALT_BYTES = 16;
const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const HEADER_BYTES = ENCRYPTION_MAGIC.length + SALT_BYTES;

export function isEncrypted(head: Buffer): boolean {
  return (
    head.length >= ENCRYPTION_MAGIC.length &&
    head.subarray(0, ENCRYPTION_MAGIC.length).equals(ENCRYPTION_MAGIC)
  );
}

/** Shorter keys are refused: HKDF cannot add entropy a guessable secret lacks. */
export const MIN_KEY_CHARS = 16;

/**
 * Why `key` cannot encrypt (undefined when it can), for a message that starts with where the key came from.
 * Checked with the other inputs, before anything starts; the key itself is never quoted.
 */
export function encryptionKeyProblem(key: string): string | undefined {
  if (key.length >= MIN_KEY_CHARS) return undefined;
  return `is too short (${key.length} characters): use a random secret of at least ${MIN_KEY_CHARS} characters (e.g. openssl rand -base64 32).`;
}

function deriveKey(secret: string, salt: Buffer): Buffer {
  const problem = encryptionKeyProblem(secret);
  if (problem) throw new UserError(`The encryption key ${problem}`);
  return Buffer.from(hkdfSync('sha256', secret, salt, 'compose-persist archive v1', 32));
}

function nonce(counter: number, last: boolean): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUIntBE(counter, 5, 6); // 6 bytes of counter are plenty (2^48 chunks of 64 KiB)
  iv[11] = last ? 1 : 0;
  return iv;
}

/** plaintext → envelope. */
export function createEncryptor(secret: string): Transform {
  const salt = randomBytes(SALT_BYTES);
  const key = deriveKey(secret, salt);
  let pending = Buffer.alloc(0);
  let counter = 0;
  let headerSent = false;
  const header = (stream: Transform) => {
    if (!headerSent) stream.push(Buffer.concat([ENCRYPTION_MAGIC, salt]));
    headerSent = true;
  };
  const seal = (chunk: Buffer, last: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, nonce(counter++, last));
    return Buffer.concat([cipher.update(chunk), cipher.final(), cipher.getAuthTag()]);
  };
  return new Transform({
    transform(data: Buffer, _encoding, done: TransformCallback) {
      header(this);
      pending = Buffer.concat([pending, data]);
      // Keep at least one byte back: the last chunk must be sealed with the last flag.
      while (pending.length > CHUNK_BYTES) {
        this.push(seal(pending.subarray(0, CHUNK_BYTES), false));
        pending = pending.subarray(CHUNK_BYTES);
      }
      done();
    },
    flush(done: TransformCallback) {
      header(this);
      this.push(seal(pending, true));
      done();
    },
  });
}

/** envelope → plaintext; any tampering, truncation or a wrong key is a UserError naming `label`. */
export function createDecryptor(secret: string, label = 'the archive'): Transform {
  let key: Buffer | undefined;
  let pending = Buffer.alloc(0);
  let counter = 0;
  const sealed = CHUNK_BYTES + TAG_BYTES;
  const open = (chunk: Buffer, last: boolean): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', key as Buffer, nonce(counter++, last));
    decipher.setAuthTag(chunk.subarray(chunk.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(chunk.subarray(0, chunk.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new UserError(
        `Archive ${label} cannot be decrypted: wrong key, or the file was altered or truncated (chunk ${counter - 1}).`,
      );
    }
  };
  return new Transform({
    transform(data: Buffer, _encoding, done: TransformCallback) {
      pending = Buffer.concat([pending, data]);
      try {
        if (!key) {
          if (pending.length < HEADER_BYTES) return done();
          if (!isEncrypted(pending))
            throw new UserError(`Archive ${label} is not an encrypted compose-persist archive.`);
          key = deriveKey(secret, pending.subarray(ENCRYPTION_MAGIC.length, HEADER_BYTES));
          pending = pending.subarray(HEADER_BYTES);
        }
        // A full sealed chunk is only opened once more data follows: the final one carries the last flag.
        while (pending.length > sealed) {
          this.push(open(pending.subarray(0, sealed), false));
          pending = pending.subarray(sealed);
        }
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!key || pending.length < TAG_BYTES) {
          throw new UserError(`Archive ${label} is truncated: the encrypted stream ends early.`);
        }
        this.push(open(pending, true));
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}
