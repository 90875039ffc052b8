import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  renderBenchTable,
  renderInputsPage,
  renderPerformancePage,
  renderTables,
  type BenchRun,
} from '../scripts/docs-tables.mjs';
import { anchors, brokenLinks, docPages, links, slug } from './support/markdown.js';

const pages = docPages();
const read = (page: string) => readFileSync(page, 'utf8');

describe('the docs pages', () => {
  it('are the README and one page per topic', () => {
    expect(pages).toEqual(
      expect.arrayContaining(
        [
          'README.md',
          'architecture',
          'faults',
          'how-the-check-decides',
          'crash-and-power-loss',
          'archives-and-seeding',
          'stores',
          'restore-drills',
          'reusable-workflow',
          'cli',
          'inputs',
          'performance',
          'security-and-limits',
          'development',
        ].map((name) => (name.endsWith('.md') ? name : `docs/${name}.md`)),
      ),
    );
  });

  it('are each linked from the README', () => {
    const linked = new Set(links(read('README.md')).map(({ target }) => target.split('#')[0]));
    expect(pages.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });

  it.each(pages)('%s links only to files and headings that exist', (page) => {
    expect(brokenLinks(page, read(page))).toEqual([]);
  });
});

describe('the link check', () => {
  const readme = read('README.md');

  it('reports a link to a page that is not there', () => {
    const mutant = readme.replace('(docs/stores.md)', '(docs/store.md)');
    expect(mutant).not.toBe(readme);
    expect(brokenLinks('README.md', mutant)).toEqual([
      expect.stringMatching(/^README\.md:\d+: docs\/store\.md \(no such file\)$/),
    ]);
  });

  it('reports an anchor that no heading of the target page gives', () => {
    const mutant = readme.replace(
      '(docs/archives-and-seeding.md#restoring-our-archives-without-compose-persist)',
      '(docs/archives-and-seeding.md#restoring-our-archives)',
    );
    expect(mutant).not.toBe(readme);
    expect(brokenLinks('README.md', mutant)).toEqual([
      expect.stringMatching(/#restoring-our-archives \(no heading #restoring-our-archives in docs\//),
    ]);
  });

  it('reports a broken anchor within the page, and one outside the repository', () => {
    const text = '# Top\n\n## A `b`: c, d!\n\n[ok](#a-b-c-d) [bad](#a-b) [out](../../etc/passwd)\n';
    expect(brokenLinks('docs/x.md', text)).toEqual([
      'docs/x.md:5: #a-b (no heading #a-b in docs/x.md)',
      'docs/x.md:5: ../../etc/passwd (outside the repository)',
    ]);
  });

  it('skips code: a link inside a fenced block or a code span is not a link', () => {
    const text = '# T\n\n```md\n[x](missing.md)\n```\n\n`[y](missing.md)` and [`z`](#t)\n';
    expect(links(text).map((link) => link.target)).toEqual(['#t']);
  });

  it('slugs headings the way GitHub does, numbering repeats', () => {
    expect(slug("Artifacts: seed a pull request from main's newest archive")).toBe(
      'artifacts-seed-a-pull-request-from-mains-newest-archive',
    );
    expect(slug('The `seed/`, `check/` and [archive](x.md) sub-actions')).toBe(
      'the-seed-check-and-archive-sub-actions',
    );
    expect(slug('Stores: artifact, cache, S3, path')).toBe('stores-artifact-cache-s3-path');
    expect(slug('Crash → power — loss (v2.0)')).toBe('crash--power--loss-v20');
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\n## A\n')]).toEqual(['a', 'a-1', 'a-2']);
  });
});

describe('docs/inputs.md', () => {
  it('holds the inputs and outputs tables generated from action.yml', async () => {
    const page = read('docs/inputs.md');
    const expected = await renderInputsPage(page, read('action.yml'));
    expect(page === expected, 'docs/inputs.md differs from the tables of action.yml: run npm run docs').toBe(
      true,
    );
  }, 30_000); // prettier formats the whole page: seconds on a loaded 2-core machine

  it('names every input and output of action.yml', () => {
    const page = read('docs/inputs.md');
    const action = read('action.yml');
    const names = [...action.matchAll(/^ {2}([a-z][a-z0-9-]*):\s*$/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(page, name).toContain(`| \`${name}\``);
  });

  it('renders one row per input and output, escaping what Markdown would eat', () => {
    const tables = renderTables(
      [
        'inputs:',
        '  a:',
        "    description: 'x | <key>'",
        "    default: '1'",
        '  b:',
        '    description: no default',
        'outputs:',
        '  o:',
        '    description: out',
      ].join('\n'),
    );
    expect(tables.inputs.split('\n').slice(2)).toEqual([
      '| `a` | x \\| &lt;key&gt; | `1` |',
      '| `b` | no default |  |',
    ]);
    expect(tables.outputs.split('\n').slice(2)).toEqual(['| `o` | out |']);
  });
});

describe('docs/performance.md', () => {
  const row = (
    key: string,
    seconds: number,
    rest: Partial<BenchRun['shapes'][number]['rows'][number]> = {},
  ) => ({
    key,
    seconds,
    speedupVsClassic: null,
    timeVsRaw: seconds / 2,
    peakRssMiB: null,
    ...rest,
  });
  const bench: BenchRun = {
    date: '2027-01-02T03:04:05.000Z',
    distIndexSha256: 'abcdef0123456789',
    cpus: 2,
    loadAvg1m: { start: 0.25, end: 1.04 },
    totalSeconds: 812.4,
    shapes: [
      {
        key: 'tiny200k',
        title: '200k tiny files',
        rows: [
          row('raw', 2),
          row('oursArchive_tar.zst', 3.04, { speedupVsClassic: 0.554, peakRssMiB: 98.2 }),
          row('actionArchive', 3.1, { speedupVsClassic: 0.55, peakRssMiB: 99.4 }),
          row('engineGetZstd', 1.93, { speedupVsClassic: 0.891 }),
          row('hostTarZstd', 1.5, { speedupVsClassic: 1.12 }),
          row('oursArchiveEngine', 3.9, { speedupVsClassic: 0.43, peakRssMiB: 97 }),
          row('oursSeed_tar.zst', 10.7, { speedupVsClassic: 0.38, peakRssMiB: 102 }),
          row('actionSeed', 10.94, { speedupVsClassic: 0.376, peakRssMiB: 101.6 }),
          row('hostExtractRead', 6.2, { speedupVsClassic: 0.66 }),
        ],
      },
    ],
  };

  it('renders a bench run as the table: archive and seed per shape and path, each beside its floor', () => {
    expect(renderBenchTable(bench).split('\n').slice(2)).toEqual([
      '| 200k tiny files | archive → `.tar.zst` | host | 3.0 / 3.1 | 0.55× (0.55×) | 1.52× | tar c \\| zstd -1 1.5 s, 1.12× | 98 / 99 MiB |',
      '| 200k tiny files | archive → `.tar.zst` | engine API | 3.9 | 0.43× | 1.95× | GET \\| zstd -1 1.9 s, 0.89× | 97 MiB |',
      '| 200k tiny files | seed ← `.tar.zst` (reads back) | host | 10.7 / 10.9 | 0.38× (0.38×) | 5.35× | tar x + tar c 6.2 s, 0.66× | 102 / 102 MiB |',
      '',
      'From the run of 2027-01-02 (build abcdef0123456789, 2 CPUs, load average 0.3 → 1.0, 812 s in all), ' +
        'written by `npm run docs -- --bench FILE`.',
    ]);
  });

  it('holds the table between its markers, and a bench run replaces only that', async () => {
    const page = read('docs/performance.md');
    const between = /<!-- bench:start -->\n([\s\S]*)\n<!-- bench:end -->/.exec(page)?.[1] ?? '';
    expect(between).toMatch(/^\| volume +\| operation/m);
    const rewritten = await renderPerformancePage(page, bench);
    expect(rewritten).toMatch(
      /^\| 200k tiny files +\| seed ← `\.tar\.zst` \(reads back\) +\| host +\| 10\.7 \/ 10\.9 +\|/m,
    );
    expect(rewritten).not.toContain(between);
    const outside = (text: string) => text.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, '');
    expect(outside(rewritten)).toBe(outside(page));
  }, 30_000);
});

describe('the CLI docs', () => {
  it('never tell anyone to fetch the CLI by a package name this project does not own', () => {
    const texts = [...pages, 'src/volumes/volume-backup.ts'].map((file) => read(file));
    for (const text of texts)
      expect(text).not.toMatch(/npx (-y )?compose-persist|npm (i|install) -g compose-persist/);
    expect(read('docs/cli.md')).toContain('node ~/compose-persist/dist/cli.js check');
  });
});
