import { Transform, type Duplex } from 'node:stream';

/**
 * The time a stage of a streamed pipeline (a decryptor) holds input it has not answered yet: the clock starts
 * when a chunk goes in while the stage owes nothing, and stops when the next chunk comes out. For an
 * in-process transform that is its work on each chunk; for a child process (gpg, age) its work plus the pipes.
 * The stage overlaps the rest of the pipeline: its time is a part of the pipeline's, not added to it.
 */
export class StageMeter {
  private totalNs = 0n;
  private since: bigint | undefined;

  constructor(private readonly now: () => bigint = process.hrtime.bigint) {}

  get ms(): number {
    return Number(this.totalNs / 1_000_000n);
  }

  /** The stage, with a probe on each side of it. */
  around(stages: Duplex[]): Duplex[] {
    if (stages.length === 0) return stages;
    return [this.probe(() => this.input()), ...stages, this.probe(() => this.output(), true)];
  }

  input(): void {
    this.since ??= this.now();
  }

  output(): void {
    if (this.since === undefined) return;
    this.totalNs += this.now() - this.since;
    this.since = undefined;
  }

  private probe(mark: () => void, last = false): Transform {
    return new Transform({
      transform(chunk: Buffer, _encoding, done) {
        mark();
        done(null, chunk);
      },
      // Input the stage swallowed without answering (its last bytes) counts until its output ends.
      flush: last
        ? (done) => {
            mark();
            done();
          }
        : undefined,
    });
  }
}
