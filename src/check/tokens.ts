// Token bookkeeping for the crash rounds: what the load acknowledged, and which of it the store still holds.
// Both sides arrive as byte streams of unknown size, so they are read line by line and never kept whole:
// memory grows with the number of acknowledged tokens of one round (a Set), never with the store's output.

import { StringDecoder } from 'node:string_decoder';

/** Longest token we accept, in characters: a token is an id, not a row. */
export const MAX_TOKEN_LENGTH = 256;

/** One token: printable characters, no space inside (`INSERT 0 1` or a psql header is not a token). */
const TOKEN = /^[^\s\p{C}]+$/u;

/**
 * Splits a byte stream into lines, holding at most one line (capped at MAX_TOKEN_LENGTH + 1 characters) at
 * a time; a character cut between two chunks is decoded whole. `\r\n` ends a line too. A line longer than
 * the cap is passed cut short, with `tooLong`.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private overflowed = false;

  constructor(private readonly onLine: (line: string, tooLong: boolean) => void) {}

  /** Characters of the unfinished line held now (never more than MAX_TOKEN_LENGTH + 1). */
  get pendingLength(): number {
    return this.pending.length;
  }

  push(chunk: Buffer): void {
    const text = this.decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.keep(text, start, end);
      this.emit();
      start = end + 1;
    }
    this.keep(text, start, text.length);
  }

  /** The unfinished last line, if any (the writer was killed while printing it); it is not passed on. */
  end(): string | undefined {
    this.keep(this.decoder.end(), 0, Infinity);
    const partial = this.pending === '' ? undefined : this.pending;
    this.pending = '';
    this.overflowed = false;
    return partial;
  }

  private keep(text: string, start: number, end: number): void {
    const room = MAX_TOKEN_LENGTH + 1 - this.pending.length;
    if (end - start > room) this.overflowed = true;
    if (room > 0 && end > start) this.pending += text.slice(start, Math.min(end, start + room));
  }

  private emit(): void {
    const line = this.pending.endsWith('\r') ? this.pending.slice(0, -1) : this.pending;
    const tooLong = this.overflowed || line.length > MAX_TOKEN_LENGTH;
    this.pending = '';
    this.overflowed = false;
    this.onLine(line, tooLong);
  }
}

/** What the load printed in one round, as counted. */
export interface LoadTally {
  /** Distinct tokens acknowledged. */
  acknowledged: number;
  /** Tokens printed again after their first time (a lost write could hide behind its twin). */
  duplicates: number;
  firstDuplicate?: string;
  /** The first line that is not a token; the load is refused at once. */
  garbage?: string;
  /** The unfinished last line when the load ended (cut off by the kill): not counted. */
  partial?: string;
}

/** The outcome of reading the store back: how many acknowledged tokens it lacks, and the first few. */
export interface TokenCheck {
  lost: number;
  firstLost: string[];
}

/** How many lost tokens a check names. */
export const LOST_SAMPLE = 5;

/**
 * The tokens one round's load acknowledged, one per stdout line. Blank lines are skipped; the first line
 * that is not a token is kept as `garbage` and reported to `onGarbage`, `onFirstToken` fires once.
 */
export class AcknowledgedTokens {
  private readonly tokens = new Set<string>();
  private readonly tally: LoadTally = { acknowledged: 0, duplicates: 0 };
  private readonly only = this.reader();

  constructor(
    private readonly events: { onFirstToken?: () => void; onGarbage?: (line: string) => void } = {},
  ) {}

  /** A reader for one writer's stdout: each writer has its own unfinished line. */
  reader(): { push(chunk: Buffer): void; end(): void } {
    const splitter = new LineSplitter((line, tooLong) => this.line(line, tooLong));
    return {
      push: (chunk) => splitter.push(chunk),
      end: () => {
        const partial = splitter.end();
        if (partial !== undefined && partial.trim() !== '') this.tally.partial ??= partial.slice(0, 80);
      },
    };
  }

  /** One writer's stdout, for a single writer (see reader()). */
  push(chunk: Buffer): void {
    this.only.push(chunk);
  }

  /** The writers ended: their unfinished last lines are dropped (noted as `partial`). */
  end(): LoadTally {
    this.only.end();
    return this.summary();
  }

  summary(): LoadTally {
    return { ...this.tally };
  }

  /**
   * Reads the store's tokens (the acknowledged command's stdout, pushed chunk by chunk) and crosses each off;
   * `finish()` returns what was never seen. Once per round: it crosses off the acknowledged set itself, so
   * the round never holds a second copy.
   */
  verify(): { push(chunk: Buffer): void; finish(): TokenCheck } {
    const missing = this.tokens;
    const splitter = new LineSplitter((line) => void missing.delete(line.trim()));
    return {
      push: (chunk) => splitter.push(chunk),
      finish: () => {
        const last = splitter.end();
        if (last !== undefined) missing.delete(last.trim()); // the store's last line may lack its newline
        return { lost: missing.size, firstLost: firstOf(missing, LOST_SAMPLE) };
      },
    };
  }

  private line(raw: string, tooLong: boolean): void {
    const token = raw.trim();
    if (token === '' || this.tally.garbage !== undefined) return;
    if (tooLong || !TOKEN.test(token)) {
      this.tally.garbage = tooLong ? `${token.slice(0, 60)}…` : token.slice(0, 80);
      this.events.onGarbage?.(this.tally.garbage);
      return;
    }
    if (this.tokens.has(token)) {
      this.tally.duplicates++;
      this.tally.firstDuplicate ??= token;
      return;
    }
    this.tokens.add(token);
    if (++this.tally.acknowledged === 1) this.events.onFirstToken?.();
  }
}

/** The first `n` items of a set, in the order they were added (acknowledged first = lost first). */
function firstOf(set: Set<string>, n: number): string[] {
  const out: string[] = [];
  for (const item of set) {
    if (out.length >= n) break;
    out.push(item);
  }
  return out;
}
