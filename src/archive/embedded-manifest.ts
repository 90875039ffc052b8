import { UserError } from '../errors.js';
import { MANIFEST_ENTRY_NAME, isManifestEntry, isVolumeManifest, parseManifest } from './manifest.js';
import { EntrySpool, type ManifestSummary } from './manifest-spool.js';

/** Node keeps a JSON string under ~512 MiB: the most a one-line manifest (older archives) may hold. */
const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;
/** One entry's line: a path of a few KiB at most, JSON-escaped. */
const MAX_LINE_BYTES = 1024 * 1024;
/** Where the summary's line ends and the entries begin, in manifests written one entry a line. */
const ENTRIES_OPEN = '"entries":[';

/**
 * The manifest entry of an archive, read as it streams: the summary from its first line, then one entry a
 * line into an EntrySpool (memory flat). A manifest on one line (older archives) is read whole, as before.
 */
export class EmbeddedManifestReader {
  readonly entries = new EntrySpool();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private summary?: ManifestSummary;
  private closed = false;

  constructor(
    private readonly what: string,
    private readonly size: number,
  ) {}

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const newline = chunk.indexOf(0x0a, at);
      if (newline !== -1 && this.pendingBytes === 0 && this.summary && newline - at <= MAX_LINE_BYTES) {
        // A whole entry line inside the chunk (nearly all of them): decoded in place, no copy; one too
        // long goes the way below, which refuses it.
        this.line(chunk.toString('utf8', at, newline));
        at = newline + 1;
        continue;
      }
      const end = newline === -1 ? chunk.length : newline;
      this.keep(chunk.subarray(at, end));
      if (newline === -1) return;
      this.line(this.takeLine());
      at = newline + 1;
    }
  }

  /** The summary, once the whole manifest was read and found well formed. */
  end(): ManifestSummary {
    if (this.pendingBytes > 0) this.line(this.takeLine());
    if (!this.summary || !this.closed) throw this.corrupt('it ends before its entries do');
    return this.summary;
  }

  private keep(piece: Buffer): void {
    if (piece.length === 0) return;
    const limit = this.summary ? MAX_LINE_BYTES : MAX_MANIFEST_BYTES;
    if (this.pendingBytes + piece.length > limit) {
      throw new UserError(`${this.what} has a ${MANIFEST_ENTRY_NAME} that is not a manifest.`);
    }
    this.pending.push(Buffer.from(piece));
    this.pendingBytes += piece.length;
  }

  private takeLine(): string {
    const text = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    return text;
  }

  private line(text: string): void {
    if (this.closed) {
      if (text.trim() !== '') throw this.corrupt('it has text after its end');
      return;
    }
    if (!this.summary) return this.firstLine(text);
    if (text === ']}') {
      this.closed = true;
      return;
    }
    let entry: unknown;
    try {
      entry = JSON.parse(text.startsWith(',') ? text.slice(1) : text);
    } catch (error) {
      throw new UserError(`${this.what} has a corrupt manifest (${MANIFEST_ENTRY_NAME} is not valid JSON).`, {
        cause: error,
      });
    }
    if (!isManifestEntry(entry)) throw this.unreadable();
    this.entries.add(entry);
  }

  /** The summary line, or a whole manifest on one line. */
  private firstLine(text: string): void {
    if (!text.endsWith(ENTRIES_OPEN)) {
      const manifest = parseManifest(text, this.what);
      for (const entry of manifest.entries) this.entries.add(entry);
      const { entries: _entries, ...summary } = manifest;
      this.summary = summary;
      this.closed = true;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(`${text}]}`);
    } catch (error) {
      throw new UserError(`${this.what} has a corrupt manifest (${MANIFEST_ENTRY_NAME} is not valid JSON).`, {
        cause: error,
      });
    }
    if (!isVolumeManifest(value)) throw this.unreadable();
    const { entries: _entries, ...summary } = value;
    this.summary = summary;
  }

  private unreadable(): UserError {
    return new UserError(
      `${this.what} has a manifest this version of compose-persist cannot read (expected version 1 with entries).`,
    );
  }

  private corrupt(why: string): UserError {
    return new UserError(
      `${this.what} has a corrupt manifest (${MANIFEST_ENTRY_NAME} is not valid JSON: ${why}; ${this.size} bytes).`,
    );
  }
}
