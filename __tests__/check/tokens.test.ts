import { describe, expect, it } from 'vitest';
import { AcknowledgedTokens, LineSplitter, MAX_TOKEN_LENGTH } from '../../src/check/tokens.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

/** Feeds `text` in chunks of `size` bytes, so lines are cut anywhere (mid-token, mid-\r\n, mid-UTF-8). */
function feed(into: { push(chunk: Buffer): void }, text: string, size: number): void {
  const all = bytes(text);
  for (let at = 0; at < all.length; at += size) into.push(all.subarray(at, at + size));
}

describe('LineSplitter', () => {
  it('gives whole lines whatever the chunking, \\r\\n included, and keeps the unfinished last one back', () => {
    for (const size of [1, 2, 3, 7, 1000]) {
      const lines: string[] = [];
      const splitter = new LineSplitter((line) => void lines.push(line));
      feed(splitter, '1\r\n22\n€3\n\n44', size);
      expect(lines).toEqual(['1', '22', '€3', '']);
      expect(splitter.end()).toBe('44');
      expect(splitter.end()).toBeUndefined();
    }
  });

  it('never holds more than one capped line: an endless line is cut and flagged', () => {
    const seen: [number, boolean][] = [];
    const splitter = new LineSplitter((line, tooLong) => void seen.push([line.length, tooLong]));
    let most = 0;
    for (let i = 0; i < 1000; i++) {
      splitter.push(Buffer.alloc(4096, 0x61));
      most = Math.max(most, splitter.pendingLength);
    }
    splitter.push(bytes('\nok\n'));
    expect(most).toBe(MAX_TOKEN_LENGTH + 1);
    expect(seen).toEqual([
      [MAX_TOKEN_LENGTH + 1, true],
      [2, false],
    ]);
  });
});

describe('AcknowledgedTokens: what the load acknowledged, and what the store lost of it', () => {
  it('counts distinct tokens; a repeated token is a duplicate, not a second write', () => {
    const tokens = new AcknowledgedTokens();
    feed(tokens, '1\n2\n2\n3\n1\n', 3);
    expect(tokens.end()).toEqual({ acknowledged: 3, duplicates: 2, firstDuplicate: '2' });
  });

  it('a partial last line (the writer killed while printing) is not acknowledged, and is noted', () => {
    const tokens = new AcknowledgedTokens();
    feed(tokens, '101\n102\n10', 4);
    expect(tokens.end()).toEqual({ acknowledged: 2, duplicates: 0, partial: '10' });
    const check = tokens.verify();
    check.push(bytes('101\n102\n'));
    expect(check.finish()).toEqual({ lost: 0, firstLost: [] });
  });

  it('blank lines and surrounding spaces are skipped; the first non-token line is garbage, reported once', () => {
    const garbage: string[] = [];
    let first = 0;
    const tokens = new AcknowledgedTokens({
      onFirstToken: () => first++,
      onGarbage: (line) => void garbage.push(line),
    });
    feed(tokens, '\n  7 \nINSERT 0 1\n8\nid | x\n', 5);
    expect(first).toBe(1);
    expect(garbage).toEqual(['INSERT 0 1']);
    // The load is refused at its first garbage line: nothing after it counts.
    expect(tokens.end()).toMatchObject({ acknowledged: 1, garbage: 'INSERT 0 1' });
  });

  it('a line longer than a token can be is garbage', () => {
    const tokens = new AcknowledgedTokens();
    tokens.push(Buffer.alloc(MAX_TOKEN_LENGTH + 10, 0x78));
    tokens.push(bytes('\n'));
    expect(tokens.end().garbage).toMatch(/^x{60}…$/);
  });

  it('several writers: each has its own unfinished line, their tokens land in one set', () => {
    const tokens = new AcknowledgedTokens();
    const a = tokens.reader();
    const b = tokens.reader();
    a.push(bytes('a1\na'));
    b.push(bytes('b1\nb'));
    a.push(bytes('2\n'));
    b.push(bytes('2\nb3'));
    a.end();
    b.end();
    expect(tokens.summary()).toEqual({ acknowledged: 4, duplicates: 0, partial: 'b3' });
  });

  it('names the lost tokens in the order they were acknowledged, the store read line by line', () => {
    const tokens = new AcknowledgedTokens();
    feed(tokens, Array.from({ length: 20 }, (_, i) => `${i + 1}\n`).join(''), 6);
    tokens.end();
    const check = tokens.verify();
    // The store holds older rows too, in its own order, and its last line has no newline.
    feed(check, ['900', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '12', '11', '13'].join('\n'), 4);
    expect(check.finish()).toEqual({ lost: 7, firstLost: ['14', '15', '16', '17', '18'] });
  });

  it('a million tokens and a store of 1.5 million lines stream through in chunks, never as one string', () => {
    const count = 1_000_000;
    const tokens = new AcknowledgedTokens();
    const chunkOf = (from: number, to: number) => {
      let text = '';
      for (let i = from; i < to; i++) text += `t${i}\n`;
      return bytes(text);
    };
    for (let at = 0; at < count; at += 10_000) tokens.push(chunkOf(at, at + 10_000));
    expect(tokens.end()).toEqual({ acknowledged: count, duplicates: 0 });
    const check = tokens.verify();
    // Every token but t999999, plus half a million rows from earlier rounds; cut at odd offsets.
    for (let at = 0; at < count + 500_000; at += 10_000) {
      const text = chunkOf(at, at + 10_000)
        .toString()
        .replace('t999999\n', '');
      feed(check, text, 65_521);
    }
    expect(check.finish()).toEqual({ lost: 1, firstLost: ['t999999'] });
  }, 60_000);
});
