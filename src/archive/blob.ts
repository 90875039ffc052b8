import type { Readable } from 'node:stream';

/**
 * An archive that is not a local file: an object in a store read as a stream (S3), so a seed needs no
 * copy on the runner. `open` is called once per read (a seed may read an archive twice: verify, write).
 */
export interface ArchiveBlob {
  /** Where it is, for messages and the summary: `s3://bucket/key`. */
  location: string;
  /** When the store last wrote it (an S3 object's LastModified). */
  modifiedAt?: Date;
  /** Stored bytes (compressed, encrypted). */
  size?: number;
  /** The stored bytes, or the range [start, end] (inclusive, as HTTP Range). */
  open(range?: { start: number; end: number }): Readable;
}

/** A local file path, or an archive read from a store. */
export type ArchiveInput = string | ArchiveBlob;

export function locationOf(input: ArchiveInput): string {
  return typeof input === 'string' ? input : input.location;
}
