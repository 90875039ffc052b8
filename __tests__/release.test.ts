import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkTag, majorTag, releaseNotes } from '../scripts/release.mjs';
import { docPages } from './support/markdown.js';

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const changelog = readFileSync('CHANGELOG.md', 'utf8');

describe('release helpers (scripts/release.mjs)', () => {
  it('the major tag of a version tag', () => {
    expect(majorTag('v0.3.1')).toBe('v0');
    expect(majorTag('v12.0.0')).toBe('v12');
    for (const bad of ['0.3.1', 'v0.3', 'v0.3.1-rc.1', 'v0'])
      expect(() => majorTag(bad)).toThrow(/version tag/);
  });

  it('release notes are the section of that version, without its heading', () => {
    const text = '# Changelog\n\n## [0.2.0] - 2027-01-05\n\n- b\n\n## [0.1.0]\n\n- a\n';
    expect(releaseNotes(text, 'v0.2.0')).toBe('- b\n');
    expect(releaseNotes(text, 'v0.1.0')).toBe('- a\n');
    expect(() => releaseNotes(text, 'v0.3.0')).toThrow(/no "## \[0\.3\.0\]" section/);
    expect(() => releaseNotes('## [0.4.0]\n\n## [0.3.0]\n- c', 'v0.4.0')).toThrow(/is empty/);
  });

  it("a tag must name package.json's version", () => {
    expect(() => checkTag(`v${version}`, version)).not.toThrow();
    expect(() => checkTag('v9.9.9', version)).toThrow(`does not match package.json's version ${version}`);
  });

  it('CHANGELOG.md has the notes of the version package.json names (the next tag)', () => {
    expect(releaseNotes(changelog, `v${version}`)).toMatch(/\w{3,}/);
  });
});

describe('the release workflow', () => {
  const workflow = readFileSync('.github/workflows/release.yml', 'utf8');
  const parsed = parse(workflow) as { on: { push: { tags: string[] } } };

  it('runs on version tags only, checks dist/, runs the tests, creates the release, moves the major tag', () => {
    expect(parsed.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
    let last = -1;
    for (const step of [
      'node scripts/release.mjs check "$TAG"',
      'node scripts/release.mjs notes "$TAG"',
      'node scripts/release.mjs major "$TAG"',
      'npm run check-dist',
      'bash .ci/run',
      'gh release create "$TAG" --draft',
      'gh release upload "$TAG"',
      'gh release edit "$TAG" --draft=false',
      'git push --force origin "refs/tags/$major"',
    ]) {
      const at = workflow.indexOf(step);
      expect(at, step).toBeGreaterThan(last); // there, and after the step before it
      last = at;
    }
  });

  // Immutable releases: once published, a release's assets cannot change, so all of them go on the draft.
  it('publishes only after every asset is attached, and never attaches one afterwards', () => {
    const published = workflow.indexOf('--draft=false');
    expect(workflow.indexOf('gh release create "$TAG" --draft')).toBeLessThan(published);
    expect(workflow.slice(0, published)).toContain('SHA256SUMS');
    expect(workflow.slice(published)).not.toMatch(/gh release (upload|create)/);
    expect(workflow.match(/gh release create/g)).toHaveLength(1);
  });
});

describe('uses: lines in README.md, docs/ and examples/ match the tags the release creates', () => {
  const major = majorTag(`v${version}`);
  const files = [
    ...docPages(),
    ...readdirSync('examples/workflows').map((name) => `examples/workflows/${name}`),
  ];
  const uses = files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/uses:\s*(compose-persist\/compose-persist[^\s'"]*)/g)].map(
      (m) => [file, m[1] as string] as const,
    ),
  );

  it('finds them', () => {
    expect(uses.length).toBeGreaterThanOrEqual(5);
  });

  it.each(uses)(`%s: %s pins ${major} (or a full commit SHA)`, (_file, line) => {
    const ref = line.split('@')[1] ?? '';
    expect(ref === major || /^[0-9a-f]{40}$/.test(ref), `${line} should end in @${major}`).toBe(true);
  });
});
