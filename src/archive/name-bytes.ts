/**
 * File names are bytes; manifests hold them as strings. Valid UTF-8 decodes as usual (so the manifests
 * of UTF-8 volumes stay as they were), and each byte that is not part of valid UTF-8 becomes the lone
 * surrogate U+DC80–U+DCFF (Python's surrogateescape). The mapping is reversible, distinct names stay
 * distinct, JSON keeps lone surrogates (as \udcXX escapes), and '/' and '.' are always their own bytes,
 * so path checks on the string are checks on the bytes.
 */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ESCAPE_BASE = 0xdc00;
const ESCAPED = /[\udc80-\udcff]/;

/** The name a run of bytes stands for. */
export function nameFromBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return escapedDecode(bytes);
  }
}

/** The bytes of a name made by nameFromBytes (other strings: their UTF-8). */
export function nameBytes(name: string): Buffer {
  if (!ESCAPED.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    parts.push(
      code >= 0xdc80 && code <= 0xdcff ? Buffer.from([code - ESCAPE_BASE]) : Buffer.from(char, 'utf8'),
    );
  }
  return Buffer.concat(parts);
}

const NOT_ASCII = /[^\p{ASCII}]/u;

/**
 * A name's bytes as a Latin-1 string (one character a byte), so comparing keys compares bytes. An ASCII name
 * is its own key: no buffer for the common case, once per entry of a million-file volume.
 */
export function nameKey(name: string): string {
  return NOT_ASCII.test(name) ? nameBytes(name).toString('latin1') : name;
}

/** Byte order of two names, as the digest sorts them. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(nameBytes(a), nameBytes(b));
}

/** Decodes valid UTF-8 sequences and escapes every other byte. */
function escapedDecode(bytes: Uint8Array): string {
  let text = '';
  let at = 0;
  while (at < bytes.length) {
    const length = validSequenceLength(bytes, at);
    if (length === 0) {
      text += String.fromCharCode(ESCAPE_BASE + (bytes[at] ?? 0));
      at += 1;
    } else {
      text += strictUtf8.decode(bytes.subarray(at, at + length));
      at += length;
    }
  }
  return text;
}

/** The length of the well-formed UTF-8 sequence at `at` (RFC 3629 table), 0 if there is none. */
function validSequenceLength(bytes: Uint8Array, at: number): number {
  const first = bytes[at] ?? 0;
  const next = (i: number) => bytes[at + i] ?? 0;
  const tail = (i: number) => next(i) >= 0x80 && next(i) <= 0xbf;
  const inRange = (i: number, low: number, high: number) => next(i) >= low && next(i) <= high;
  if (first < 0x80) return 1;
  if (first >= 0xc2 && first <= 0xdf) return tail(1) ? 2 : 0;
  if (first === 0xe0) return inRange(1, 0xa0, 0xbf) && tail(2) ? 3 : 0;
  if (first === 0xed) return inRange(1, 0x80, 0x9f) && tail(2) ? 3 : 0; // no surrogates
  if (first >= 0xe1 && first <= 0xef) return tail(1) && tail(2) ? 3 : 0;
  if (first === 0xf0) return inRange(1, 0x90, 0xbf) && tail(2) && tail(3) ? 4 : 0;
  if (first >= 0xf1 && first <= 0xf3) return tail(1) && tail(2) && tail(3) ? 4 : 0;
  if (first === 0xf4) return inRange(1, 0x80, 0x8f) && tail(2) && tail(3) ? 4 : 0;
  return 0;
}
