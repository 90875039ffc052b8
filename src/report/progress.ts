import { formatBytes } from '../archive/volume-tar.js';

/** What a long archive or seed exposes while it streams. */
export interface TarProgress {
  readonly entries: number;
  readonly bytesIn: number;
}

/** Starts watching a stream; the returned function stops it, with a final line only when it succeeded. */
export type ProgressReporter = (label: string, source: TarProgress) => (succeeded: boolean) => void;

/**
 * Progress for people: on a terminal one line rewritten in place (bytes, files, rate); in a CI log a line
 * every `everyMs`, so a long archive is visibly alive without flooding the log.
 */
export function createProgressReporter(
  write: (text: string) => void,
  tty: boolean,
  everyMs = tty ? 250 : 10_000,
): ProgressReporter {
  return (label, source) => {
    const started = Date.now();
    const line = () => {
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const rate = formatBytes(source.bytesIn / seconds);
      return `${label}: ${formatBytes(source.bytesIn)}, ${source.entries.toLocaleString('en-US')} entries, ${rate}/s`;
    };
    const timer = setInterval(() => write(tty ? `\r\u001b[2K${line()}` : `${line()}\n`), everyMs);
    timer.unref();
    return (succeeded) => {
      clearInterval(timer);
      // On failure the error says what happened; a half-way figure would only add noise.
      if (succeeded) write(tty ? `\r\u001b[2K${line()}\n` : `${line()}\n`);
      else if (tty) write('\r\u001b[2K');
    };
  };
}
