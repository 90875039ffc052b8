import { describe, expect, it } from 'vitest';
import { createProgressReporter } from '../../src/report/progress.js';
import { buildReport } from '../../src/report/build.js';
import type { StackModel } from '../../src/stack/model.js';
import { renderSummary } from '../../src/report/summary.js';
import { renderTerminalSummary } from '../../src/report/terminal.js';

const model: StackModel = {
  project: 'shop',
  services: ['app', 'db'],
  images: {},
  volumes: [
    {
      key: 'pgdata',
      name: 'shop_pgdata',
      external: false,
      mounts: [{ service: 'db', target: '/var/lib/postgresql/data', readOnly: false }],
    },
  ],
  binds: [],
  tmpfs: [],
  anonymous: [],
};

/** A run whose re-creation lost a probe's answer and a file: the report as the pipeline builds it. */
function failedReport() {
  return buildReport({
    project: 'shop',
    model,
    timings: {},
    startedAt: new Date().toISOString(),
    complete: true,
    outcomes: [
      { phase: 'up', anonymous: [] },
      {
        phase: 'layer-audit',
        audit: { mode: 'warn', findings: [{ service: 'app', path: '/appdata/orders.txt', kind: 'added' }] },
      },
      {
        phase: 'restarts',
        brokenProbes: [],
        notices: [],
        modes: [
          {
            mode: 'restart',
            effect: 'same container',
            comparedWith: 'the evidence before any restart',
            probes: [{ probe: 'db: count', before: '3', after: '3', same: true }],
            volumes: [],
          },
          {
            mode: 'recreate',
            effect: 'new container',
            comparedWith: 'the evidence before any restart',
            probes: [
              {
                probe: 'app: cat /data|x',
                before: 'order-17',
                after: '(exit 1) cat: no such file',
                same: false,
              },
            ],
            volumes: [
              {
                volume: 'shop_pgdata',
                policy: 'no-loss',
                ok: false,
                added: [],
                removed: ['base/1/2'],
                changed: [],
              },
            ],
          },
        ],
      },
    ],
  });
}

describe('renderTerminalSummary', () => {
  it('gives the verdict, each mode, what changed, and the failures', () => {
    const text = renderTerminalSummary(failedReport(), false);
    expect(text).toContain('compose-persist FAILED  project shop');
    expect(text).toContain('✔ restart: 1/1 probes unchanged, 0/0 volumes ok');
    expect(text).toContain('✘ recreate: 0/1 probes unchanged, 0/1 volumes ok');
    expect(text).toContain('        before: order-17\n        after:  (exit 1) cat: no such file');
    expect(text).toContain('volume shop_pgdata lost 1 file(s) (base/1/2)');
    expect(text).toContain('! app:/appdata/orders.txt is outside any volume');
    expect(text).not.toContain('\u001b[');
  });

  it('check-files exact: files that only changed are listed as changed, never as an empty "lost"', () => {
    const report = failedReport();
    const recreate = report.modes[1];
    if (!recreate) throw new Error('fixture has two modes');
    recreate.volumes = [
      {
        volume: 'shop_pgdata',
        policy: 'exact',
        ok: false,
        added: [],
        removed: [],
        changed: [{ path: 'PG_VERSION', fields: ['sha256'] }],
      },
    ];
    const text = renderTerminalSummary(report, false);
    expect(text).toContain('      volume shop_pgdata changed 1 (PG_VERSION)');
    expect(text).not.toMatch(/lost\s*$/m);
  });

  it('colours only when asked', () => {
    expect(renderTerminalSummary(failedReport(), true)).toContain('\u001b[1;31mFAILED\u001b[0m');
  });
});

describe('renderSummary (job summary Markdown)', () => {
  it('names binds and anonymous volumes as what they are', () => {
    const report = failedReport();
    const recreate = report.modes[1];
    if (!recreate) throw new Error('fixture has two modes');
    const diff = { policy: 'no-loss' as const, ok: true, added: [], removed: [], changed: [] };
    recreate.volumes = [
      { ...diff, volume: '/srv/appdata', kind: 'bind' },
      { ...diff, volume: 'db:/var/lib/postgresql/data', kind: 'anonymous' },
    ];
    const md = renderSummary(report);
    expect(md).toContain('Bind mount `/srv/appdata` (no-loss): ok');
    expect(md).toContain('Anonymous volume at `db:/var/lib/postgresql/data` (no-loss): ok');
  });

  it('escapes table cells and folds the volume diff', () => {
    const md = renderSummary(failedReport());
    expect(md).toContain('## compose-persist: ❌ failed');
    expect(md).toContain('`app: cat /data\\|x`');
    expect(md).toMatch(/<details><summary>Volume 'shop_pgdata' \(no-loss\): FAILED — 1 removed/);
    expect(md).toContain('- removed `base/1/2`');
  });
});

describe('createProgressReporter', () => {
  it('prints a final line only for a stream that succeeded', () => {
    const lines: string[] = [];
    const report = createProgressReporter((t) => lines.push(t), false, 60_000);
    report('archive v', { entries: 3, bytesIn: 2048 })(true);
    report('seed v', { entries: 1, bytesIn: 10 })(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^archive v: 2 KiB, 3 entries, .*\/s\n$/);
  });
});

describe('the compose files and the project name in the report', () => {
  const report = buildReport({
    project: 'cp-1-1-cli-abc',
    model,
    timings: {},
    startedAt: new Date().toISOString(),
    complete: true,
    outcomes: [{ phase: 'up', anonymous: [] }],
    composeFiles: { composeFiles: ['compose.yaml', 'compose.override.yml'], composeFilesFrom: 'lookup' },
    stackWarnings: ['The compose file sets name: shop, but this run used project cp-1-1-cli-abc: …'],
  });

  it('lists the files used and where they came from, and warns about the name', () => {
    expect(report.stack.composeFiles).toEqual(['compose.yaml', 'compose.override.yml']);
    expect(report.warnings[0]).toMatch(/^The compose file sets name: shop/);
    expect(renderSummary(report)).toContain(
      "Compose files: `compose.yaml`, `compose.override.yml` (compose's own lookup)",
    );
    expect(renderTerminalSummary(report, false)).toContain(
      "  compose files compose.yaml, compose.override.yml (compose's own lookup)",
    );
  });

  it('a record without files (a fake run) still gives the field', () => {
    const bare = buildReport({
      project: 'p',
      model,
      timings: {},
      startedAt: '',
      complete: false,
      outcomes: [],
    });
    expect(bare.stack.composeFiles).toEqual([]);
  });
});

describe('a seed from a foreign archive', () => {
  const seed = {
    volume: 'shop_pgdata',
    source: 'path:b.tar.gz',
    files: 3,
    bytes: 9,
    digest: 'sha256:ab',
    durationMs: 1,
  };
  const report = (foreign: boolean) =>
    buildReport({
      project: 'shop',
      model,
      timings: {},
      startedAt: new Date().toISOString(),
      complete: true,
      outcomes: [{ phase: 'seed', seeds: [{ ...seed, ...(foreign ? { foreign: true } : {}) }] }],
    });
  const proof = 'foreign archive: verified by read-back (no per-file manifest)';

  it('says in the summary and on the terminal that the read-back is the proof', () => {
    expect(renderSummary(report(true))).toContain(`\`shop_pgdata\`: ${proof}`);
    expect(renderTerminalSummary(report(true), false)).toContain(proof);
    expect(renderSummary(report(false))).not.toContain(proof);
  });
});

describe('known stores in the report', () => {
  /** A restart whose only evidence was a place of transient files, with the stores found before it. */
  function knownStoresReport() {
    return buildReport({
      project: 'shop',
      model,
      timings: {},
      startedAt: new Date().toISOString(),
      complete: true,
      outcomes: [
        {
          phase: 'restarts',
          brokenProbes: [],
          notices: [],
          stores: [
            {
              kind: 'volume',
              name: 'shop_pgdata',
              mountedAt: ['db:/var/lib/postgresql/data'],
              files: 900,
              bytes: 1,
              knownStores: ['PostgreSQL 15 data directory at pgdata/ — left out as pg_basebackup does: …'],
            },
            { kind: 'volume', name: 'shop_cache', mountedAt: ['app:/cache'], files: 2, bytes: 1 },
          ],
          modes: [
            {
              mode: 'restart',
              effect: 'same container',
              comparedWith: 'the evidence before any restart',
              probes: [],
              volumes: [
                {
                  volume: 'shop_pgdata',
                  policy: 'no-loss',
                  ok: false,
                  filesBefore: 900,
                  filesVerified: 880,
                  added: [],
                  removed: [],
                  changed: [{ path: 'appendonlydir/a.incr.aof', fields: ['size'] }],
                  shrunk: ['appendonlydir/a.incr.aof'],
                  counts: { added: 0, removed: 0, changed: 1, typeChanged: 0, shrunk: 1 },
                },
                {
                  volume: 'shop_cache',
                  policy: 'no-loss',
                  ok: true,
                  filesBefore: 2,
                  filesVerified: 0,
                  added: [],
                  removed: [],
                  changed: [],
                },
              ],
            },
          ],
        },
      ],
    });
  }

  it('names each place and the store found in it, in the report, the summary and the terminal', () => {
    const report = knownStoresReport();
    const line =
      'volume shop_pgdata: PostgreSQL 15 data directory at pgdata/ — left out as pg_basebackup does: …';
    expect(report.knownStores).toEqual([line]);
    expect(renderSummary(report)).toContain(
      `**Known stores** (what the check leaves out, as each store does):\n\n- ${line}`,
    );
    expect(renderTerminalSummary(report, false)).toContain(`  i ${line}`);
  });

  it('says which places had nothing to verify, and names a shrunk append-only file', () => {
    const report = knownStoresReport();
    const text = renderTerminalSummary(report, false);
    expect(text).toContain('✘ restart: 0/0 probes unchanged, 1/2 volumes ok (1 with nothing to verify)');
    expect(text).toContain(
      'volume shop_pgdata lost the tail of 1 append-only file(s) (appendonlydir/a.incr.aof: shorter than before)',
    );
    const md = renderSummary(report);
    expect(md).toContain('- shrank `appendonlydir/a.incr.aof` (append-only)');
    expect(md).toContain(
      'Volume `shop_cache` (no-loss): ok — 0 removed, 0 added, 0 changed (only transient files: nothing verified)',
    );
  });

  it('a report without known stores has no such field or section', () => {
    const report = failedReport();
    expect(report.knownStores).toBeUndefined();
    expect(renderSummary(report)).not.toContain('Known stores');
  });
});
