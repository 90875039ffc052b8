import { UserError } from '../errors.js';
import type { StoreKind, StoreSpec } from './types.js';

const KINDS: readonly StoreKind[] = ['artifact', 'cache', 'path'];
const VALID_FORMS = '"artifact:NAME", "cache:KEY" or "path:DIR"';

/** "artifact:NAME" | "cache:KEY" | "path:DIR" → { kind, name }; anything else is the user's to fix. */
export function parseStoreSpec(spec: string): StoreSpec {
  const text = spec.trim();
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
