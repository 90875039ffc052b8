import { Duplex } from 'node:stream';
import { extract, pack, type Extract, type Header, type Pack } from 'tar-stream';
import type { EntryBody } from './tar-entries.js';

/** What a TarRewriter does with the entries of its input and at its end. */
export interface TarRewriteHandler<T> {
  /** One input entry, in order; the next one only comes once this settles. */
  entry(header: Header, body: EntryBody, output: Pack): Promise<void>;
  /** After the last entry: may add entries or throw; its value becomes `result`. */
  end(output: Pack): Promise<T>;
  /** Turns anything thrown or emitted along the way into the error the stream fails with. */
  describe(error: unknown): Error;
}

/**
 * A Duplex: tar stream in → tar stream out, entry by entry (tar-stream extract → handler → tar-stream
 * pack). Backpressure runs end to end: a slow reader pauses the pack, which stalls the handler's writes,
 * which stalls the extract, which holds back our write callbacks. Nothing is buffered beyond stream buffers.
 * Any failure destroys the whole stream, so both its writer and its reader see the error.
 */
export class TarRewriter<T> extends Duplex {
  /** Settles once the handler's `end` has run, or with the error the stream failed with. */
  readonly result: Promise<T>;
  private readonly input: Extract = extract();
  private readonly output: Pack = pack();
  private current: Promise<void> = Promise.resolve();
  private failed = false;
  /** Progress, for displays: entries seen and tar bytes taken in so far. */
  entries = 0;
  bytesIn = 0;
  private rejectResult: (error: Error) => void = () => undefined;

  constructor(private readonly handler: TarRewriteHandler<T>) {
    super();
    this.result = new Promise<T>((resolve, reject) => {
      this.rejectResult = reject;
      this.input.once('finish', () => void this.finish().then(resolve, (error: unknown) => this.fail(error)));
    });
    this.result.catch(() => undefined); // callers that only pipe must not trigger an unhandled rejection
    this.input.on('entry', (header, body, next) => {
      this.entries++;
      this.current = handler.entry(header, body, this.output);
      this.current.then(
        () => next(),
        (error: unknown) => this.fail(error),
      );
    });
    this.input.on('error', (error) => this.fail(error));
    this.output.on('data', (chunk) => {
      if (!this.push(chunk)) this.output.pause();
    });
    this.output.on('end', () => this.push(null));
    this.output.on('error', (error) => this.fail(error));
  }

  /** The last entry may still be in the handler when the extract finishes (no end-of-archive blocks). */
  private async finish(): Promise<T> {
    await this.current;
    const value = await this.handler.end(this.output);
    this.output.finalize();
    return value;
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    const described = this.handler.describe(error);
    this.destroy(described);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytesIn += chunk.length;
    if (this.input.write(chunk)) callback();
    else this.input.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.input.end(undefined);
    // fail() destroys the stream with the described error, so only success needs the callback.
    this.result.then(
      () => callback(),
      () => undefined,
    );
  }

  override _read(): void {
    this.output.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.failed = true;
    this.rejectResult(error ?? new Error('the tar stream was closed before it ended'));
    this.input.destroy();
    this.output.destroy();
    callback(error);
  }
}
