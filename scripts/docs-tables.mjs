// Writes the inputs and outputs tables of docs/inputs.md from action.yml, between the markers
// <!-- inputs:start --> / <!-- inputs:end --> and <!-- outputs:start --> / <!-- outputs:end -->.
// `npm run docs` rewrites docs/inputs.md; __tests__/docs.test.ts fails when it is not what this writes.
// `npm run docs -- --bench bench/out/volumes-<stamp>.json` also writes the table of docs/performance.md
// (between <!-- bench:start --> / <!-- bench:end -->) from that run of `npm run bench:volumes`.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { parse } from 'yaml';

const INPUTS_PAGE = 'docs/inputs.md';
const PERFORMANCE_PAGE = 'docs/performance.md';

/** A table cell: one line, pipes escaped, `<key>` shown rather than taken for an HTML tag. */
function cell(text) {
  return String(text)
    .trim()
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** A default in a code span (where `<` needs no escaping), or nothing. */
function code(text) {
  if (text === undefined || text === '') return '';
  return `\`${String(text).trim().replace(/\|/g, '\\|')}\``;
}

/** The two tables, as Markdown, from the text of action.yml. */
export function renderTables(actionYml) {
  const action = parse(actionYml);
  const inputs = Object.entries(action.inputs ?? {}).map(
    ([name, input]) => `| \`${name}\` | ${cell(input.description ?? '')} | ${code(input.default)} |`,
  );
  const outputs = Object.entries(action.outputs ?? {}).map(
    ([name, output]) => `| \`${name}\` | ${cell(output.description ?? '')} |`,
  );
  return {
    inputs: ['| name | description | default |', '| --- | --- | --- |', ...inputs].join('\n'),
    outputs: ['| name | description |', '| --- | --- |', ...outputs].join('\n'),
  };
}

function replaceBetween(text, section, body, page = INPUTS_PAGE) {
  const start = `<!-- ${section}:start -->`;
  const end = `<!-- ${section}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${page} lacks the markers ${start} ... ${end}.`);
  return `${text.slice(0, from + start.length)}\n\n${body}\n\n${text.slice(to)}`;
}

/** Markdown formatted the way `prettier --check` expects of that page. */
async function formatted(text, pagePath) {
  const options = (await prettier.resolveConfig(pagePath)) ?? {};
  return prettier.format(text, { ...options, filepath: pagePath });
}

/** docs/inputs.md as it should be: the tables replaced, then formatted. */
export async function renderInputsPage(page, actionYml, pagePath = INPUTS_PAGE) {
  const tables = renderTables(actionYml);
  return formatted(
    replaceBetween(replaceBetween(page, 'inputs', tables.inputs), 'outputs', tables.outputs),
    pagePath,
  );
}

/** Short names of bench/volumes.mjs's shapes, by key. */
const SHAPE_NAMES = { '1g': '1 GiB, 20k files', tiny200k: '200k tiny files', tiny1m: '1M tiny files' };

/**
 * What the performance table shows per shape: our archive and our verified seed on each data path (the
 * action's sub-actions take the default, the host path), each beside the floor of its path with no Node in
 * it: the host's GNU tar alone, or the engine's archive API alone.
 */
const BENCH_OPERATIONS = [
  [
    'archive → `.tar.zst`',
    'host',
    'oursArchive_tar.zst',
    'actionArchive',
    'hostTarZstd',
    'tar c \\| zstd -1',
  ],
  ['archive → `.tar.zst`', 'engine API', 'oursArchiveEngine', null, 'engineGetZstd', 'GET \\| zstd -1'],
  [
    'seed ← `.tar.zst` (reads back)',
    'host',
    'oursSeed_tar.zst',
    'actionSeed',
    'hostExtractRead',
    'tar x + tar c',
  ],
  ['seed ← `.tar.zst` (reads back)', 'engine API', 'oursSeedEngine', null, 'enginePutGet', 'PUT + GET'],
];

/**
 * The performance table from the JSON a run of bench/volumes.mjs writes: per shape, our archive and our
 * verified seed on both data paths (CLI, and the sub-action on the default path) beside classic tar, raw and
 * that path's floor, then a line naming the run. A run without the engine-path rows leaves them out.
 */
export function renderBenchTable(bench) {
  const fixed = (x, digits) => (typeof x === 'number' ? x.toFixed(digits) : '—');
  const rows = bench.shapes.flatMap((shape) => {
    const row = (key) => (key ? shape.rows.find((r) => r.key === key) : undefined);
    const name = SHAPE_NAMES[shape.key] ?? shape.title;
    return BENCH_OPERATIONS.flatMap(([operation, dataPath, oursKey, actionKey, floorKey, floorName]) => {
      const ours = row(oursKey);
      const action = row(actionKey);
      const floor = row(floorKey);
      if (!ours && dataPath === 'host')
        throw new Error(`The bench run has no ${oursKey} row for ${shape.title}.`);
      if (!ours) return [];
      return [
        [
          name,
          operation,
          dataPath,
          fixed(ours.seconds, 1) + (action ? ` / ${fixed(action.seconds, 1)}` : ''),
          `${fixed(ours.speedupVsClassic, 2)}×` + (action ? ` (${fixed(action.speedupVsClassic, 2)}×)` : ''),
          `${fixed(ours.timeVsRaw, 2)}×`,
          floor ? `${floorName} ${fixed(floor.seconds, 1)} s, ${fixed(floor.speedupVsClassic, 2)}×` : '—',
          fixed(ours.peakRssMiB, 0) + (action ? ` / ${fixed(action.peakRssMiB, 0)}` : '') + ' MiB',
        ],
      ];
    });
  });
  const header = [
    'volume',
    'operation (ours, verified seed)',
    'data path',
    's (CLI / action)',
    'vs classic (action)',
    'vs raw',
    'the path alone: s, vs classic',
    'peak RSS CLI / action',
  ];
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const load = bench.loadAvg1m ?? {};
  return [
    line(header),
    line(header.map(() => '---')),
    ...rows.map(line),
    '',
    `From the run of ${String(bench.date).slice(0, 10)} (build ${bench.distIndexSha256}, ${bench.cpus} CPUs, load ` +
      `average ${fixed(load.start, 1)} → ${fixed(load.end, 1)}, ${fixed(bench.totalSeconds, 0)} s in all), ` +
      `written by \`npm run docs -- --bench FILE\`.`,
  ].join('\n');
}

/** docs/performance.md with its table replaced by the one of this bench run, then formatted. */
export async function renderPerformancePage(page, bench, pagePath = PERFORMANCE_PAGE) {
  return formatted(replaceBetween(page, 'bench', renderBenchTable(bench), pagePath), pagePath);
}

function rewrite(page, after, what) {
  if (after === readFileSync(page, 'utf8')) {
    console.log(`${page} is up to date.`);
  } else {
    writeFileSync(page, after);
    console.log(`${page}: ${what}.`);
  }
}

async function main(args) {
  const inputs = await renderInputsPage(
    readFileSync(INPUTS_PAGE, 'utf8'),
    readFileSync('action.yml', 'utf8'),
  );
  rewrite(INPUTS_PAGE, inputs, 'inputs and outputs tables rewritten from action.yml');
  const benchAt = args.indexOf('--bench');
  if (benchAt >= 0) {
    const file = args[benchAt + 1];
    if (!file)
      throw new Error('--bench needs the JSON file a run of npm run bench:volumes wrote (bench/out/).');
    const bench = JSON.parse(readFileSync(file, 'utf8'));
    const page = await renderPerformancePage(readFileSync(PERFORMANCE_PAGE, 'utf8'), bench);
    rewrite(PERFORMANCE_PAGE, page, `table rewritten from ${file}`);
  }
}

// Run only as a script, not when a test imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2).map(
    (arg, i, all) => (all[i - 1] === '--bench' ? resolve(arg) : arg), // a path given relative to where npm was run
  );
  process.chdir(dirname(dirname(fileURLToPath(import.meta.url))));
  await main(args);
}
