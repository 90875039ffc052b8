import { UserError } from '../errors.js';
import { ENCRYPTED_EXTENSION, FOREIGN_ENVELOPE_EXTENSIONS, isEncrypted } from './encryption.js';

/** Who encrypted an archive: our own envelope (`.enc`), OpenPGP (`gpg -c`, offen's GPG option), or age. */
export type Envelope = 'compose-persist' | 'gpg' | 'age';

const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n', 'latin1');
const ARMORED = /^-----BEGIN (PGP MESSAGE|AGE ENCRYPTED FILE)-----/;

/** OpenPGP packet tags a message starts with when it is encrypted: 1 public-key, 3 passphrase session key. */
const PGP_ENCRYPTED_TAGS = new Set([1, 3]);

/** The envelope an archive's first bytes show, or undefined for an unencrypted one. */
export function envelopeOf(head: Buffer): Envelope | undefined {
  if (isEncrypted(head)) return 'compose-persist';
  if (head.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC)) return 'age';
  return pgpPacketTag(head) !== undefined && PGP_ENCRYPTED_TAGS.has(pgpPacketTag(head) as number)
    ? 'gpg'
    : undefined;
}

/** The tag of the OpenPGP packet a buffer starts with (RFC 4880 4.2: old and new header formats). */
function pgpPacketTag(head: Buffer): number | undefined {
  const first = head[0];
  if (first === undefined || (first & 0x80) === 0) return undefined;
  return first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
}

/** The envelope a file's name promises by its ending (`.enc`, `.gpg`, `.age`), if any. */
export function envelopeFromName(name: string): Envelope | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith(ENCRYPTED_EXTENSION)) return 'compose-persist';
  for (const [envelope, endings] of Object.entries(FOREIGN_ENVELOPE_EXTENSIONS) as [
    Envelope,
    readonly string[],
  ][]) {
    if (endings.some((ending) => lower.endsWith(ending))) return envelope;
  }
  return undefined;
}

/**
 * The envelope of an archive file by its content, refusing a name that promises a foreign envelope the
 * content lacks (and an ASCII-armored one, which is never streamed: dearmor it first).
 */
export function checkedEnvelope(head: Buffer, file: string): Envelope | undefined {
  if (ARMORED.test(head.toString('latin1', 0, 40))) {
    throw new UserError(
      `Archive ${file} is ASCII-armored: store it binary (gpg --dearmor, or age without -a) to seed from it.`,
    );
  }
  const envelope = envelopeOf(head);
  const named = envelopeFromName(file);
  if (named !== undefined && named !== 'compose-persist' && envelope !== named) {
    throw new UserError(
      `Archive ${file} is named as ${named}-encrypted but its content is not${envelope ? ` (it is ${envelope})` : ''}: rename it or give the right file.`,
    );
  }
  return envelope;
}
