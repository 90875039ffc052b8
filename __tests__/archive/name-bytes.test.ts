import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeDigest, type ManifestEntry } from '../../src/archive/manifest.js';
import { compareNames, nameBytes, nameFromBytes, nameKey } from '../../src/archive/name-bytes.js';
import { EntryPathGuard, volumeRelativePath } from '../../src/archive/tar-paths.js';
import { manifestOfTarStream } from '../../src/archive/volume-tar.js';
import { tarOf, trickyVolume } from './tar-fixtures.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('names are bytes', () => {
  it('decodes valid UTF-8 exactly as before (a leading BOM included), so UTF-8 manifests do not change', () => {
    for (const text of ['plain.txt', 'ünïcødé 文件.txt', '\ufeffbom', 'emoji 😀', '']) {
      const bytes = Buffer.from(text, 'utf8');
      expect(nameFromBytes(bytes)).toBe(bytes.toString('utf8'));
      expect(nameBytes(nameFromBytes(bytes))).toEqual(bytes);
    }
  });

  it('maps each byte outside valid UTF-8 to U+DC80–U+DCFF, and back', () => {
    expect(nameFromBytes(latin1('caf\xe9'))).toBe('caf\udce9');
    expect(nameFromBytes(latin1('caf\xe8'))).toBe('caf\udce8');
    // Overlong '/', an encoded surrogate, a cut sequence: escaped byte by byte, never read as '/' or '.'.
    expect(nameFromBytes(Buffer.from([0xc0, 0xaf]))).toBe('\udcc0\udcaf');
    expect(nameFromBytes(Buffer.from([0xed, 0xb3, 0xa9]))).toBe('\udced\udcb3\udca9');
    expect(nameFromBytes(Buffer.from([0x61, 0xe2, 0x82]))).toBe('a\udce2\udc82');
    expect(nameFromBytes(Buffer.from([0xc3, 0xa9, 0xff]))).toBe('é\udcff');
  });

  it('is lossless for any bytes: distinct names stay distinct, through JSON too', () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(1 + (i % 12));
      const name = nameFromBytes(bytes);
      expect(nameBytes(name)).toEqual(bytes);
      expect(JSON.parse(JSON.stringify(name))).toBe(name);
      const earlier = seen.get(name);
      if (earlier !== undefined) expect(earlier).toBe(bytes.toString('hex'));
      seen.set(name, bytes.toString('hex'));
    }
  });

  it('sorts by the bytes', () => {
    const names = ['caf\udce9', 'café', 'caf\udce8', 'cafe', 'caf\udcff'];
    const sorted = [...names].sort(compareNames).map((n) => nameBytes(n).toString('hex'));
    expect(sorted).toEqual([...sorted].sort());
  });

  it('keys are the bytes one character each, ASCII names their own key, and order as the bytes do', () => {
    const names = ['plain/a.txt', 'a\u0000\u007f', 'café', 'caf\udce9', '文件', 'emoji 😀', 'caf\udcff', ''];
    for (const name of names) expect(nameKey(name)).toBe(nameBytes(name).toString('latin1'));
    const byKey = [...names].sort((a, b) => (nameKey(a) < nameKey(b) ? -1 : nameKey(a) > nameKey(b) ? 1 : 0));
    expect(byKey).toEqual([...names].sort(compareNames));
  });

  it('path checks see the exact bytes: two Latin-1 names are two entries, .. stays refused', () => {
    const guard = new EntryPathGuard('volume');
    guard.check('.', 'directory');
    guard.check(volumeRelativePath(nameFromBytes(latin1('volume/caf\xe9')), 'volume'), 'file');
    expect(() =>
      guard.check(volumeRelativePath(nameFromBytes(latin1('volume/caf\xe8')), 'volume'), 'file'),
    ).not.toThrow();
    expect(() => volumeRelativePath(nameFromBytes(latin1('volume/\xff/../x')), 'volume')).toThrow(/'\.\.'/);
  });

  it('a rename between two Latin-1 names changes the digest', () => {
    const entry = (path: string): ManifestEntry => ({
      path,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 1,
      mtime: 1,
    });
    const root: ManifestEntry = {
      path: '.',
      type: 'directory',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 1,
    };
    expect(computeDigest([root, entry('caf\udce9')])).not.toBe(computeDigest([root, entry('caf\udce8')]));
  });
});

describe('manifests of UTF-8 volumes', () => {
  it('are what the previous release computed (digest and entries, byte for byte)', async () => {
    const manifest = await manifestOfTarStream(tarOf(trickyVolume()), 'volume');
    // Both values printed by the code before names became bytes (commit 1992be8).
    expect(manifest.digest).toBe('sha256:d279d21d30e1dc9ef19f1e4d140d06fbc73d5358183e3a8756d63a77f90c12ca');
    // Entries now come in digest order (they are sorted on disk); in the tar's order they are the same bytes.
    const tarOrder = trickyVolume().map((e) => volumeRelativePath(e.name, 'volume'));
    // Entries with xattrs now also carry extendedSha256 (the exact digest's); everything else is unchanged.
    const inTarOrder = [...manifest.entries]
      .sort((a, b) => tarOrder.indexOf(a.path) - tarOrder.indexOf(b.path))
      .map(({ extendedSha256: _exact, ...rest }) => rest);
    expect(createHash('sha256').update(JSON.stringify(inTarOrder)).digest('hex')).toBe(
      'e7b89cb8fea89a1d91bed5bf6b7a24a2aa41f7c4e2eef2f38b37e1ca99531152',
    );
    expect(manifest.entries.map((e) => e.path)).toEqual([...tarOrder].sort(compareNames));
  });
});
