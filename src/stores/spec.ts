import { UserError } from '../errors.js';
import type { StoreKind, StoreSpec } from './types.js';

const KINDS: readonly StoreKind[] = ['artifact', 'cache', 'path'];
const VALID_FORMS = '"artifact:NAME", "cache:KEY", "path:DIR" or "s3://BUCKET/KEY"';

/**
 * "artifact:NAME" | "cache:KEY" | "path:DIR" → { kind, name }; "s3://BUCKET/KEY" → { kind: 's3', name: the
 * URL }; anything else is the user's to fix.
 */
export function parseStoreSpec(spec: string): StoreSpec {
  const text = spec.trim();
  if (text.startsWith('s3://')) {
    parseS3Url(text); // a bad URL fails before the S3 client is loaded
    return { kind: 's3', name: text };
  }
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  const name = text.slice(colon + 1).trim();
  if (colon < 0 || !isKind(kind) || name === '') {
    throw new UserError(`Invalid archive location "${spec}": use ${VALID_FORMS}.`);
  }
  return { kind, name };
}

function isKind(text: string): text is StoreKind {
  return (KINDS as readonly string[]).includes(text);
}

/** `s3://BUCKET/KEY` → bucket and key; the key of a prefix ends in `/` ('' for the whole bucket). */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url.trim());
  const bucket = match?.[1] ?? '';
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UserError(
      `Invalid S3 location "${url}": use s3://BUCKET/KEY (a prefix ends in /), with a bucket name of 3 to 63 lowercase letters, digits, dots and dashes.`,
    );
  }
  return { bucket, key: match[2] ?? '' };
}
