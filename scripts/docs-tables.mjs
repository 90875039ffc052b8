// Writes the inputs and outputs tables of docs/inputs.md from action.yml, between the markers
// <!-- inputs:start --> / <!-- inputs:end --> and <!-- outputs:start --> / <!-- outputs:end -->.
// `npm run docs` rewrites docs/inputs.md; __tests__/docs.test.ts fails when it is not what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { parse } from 'yaml';

const INPUTS_PAGE = 'docs/inputs.md';

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

function replaceBetween(text, section, body) {
  const start = `<!-- ${section}:start -->`;
  const end = `<!-- ${section}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${INPUTS_PAGE} lacks the markers ${start} ... ${end}.`);
  return `${text.slice(0, from + start.length)}\n\n${body}\n\n${text.slice(to)}`;
}

/** docs/inputs.md as it should be: the tables replaced, then formatted the way `prettier --check` expects. */
export async function renderInputsPage(page, actionYml, pagePath = INPUTS_PAGE) {
  const tables = renderTables(actionYml);
  const text = replaceBetween(replaceBetween(page, 'inputs', tables.inputs), 'outputs', tables.outputs);
  const options = (await prettier.resolveConfig(pagePath)) ?? {};
  return prettier.format(text, { ...options, filepath: pagePath });
}

async function main() {
  const before = readFileSync(INPUTS_PAGE, 'utf8');
  const after = await renderInputsPage(before, readFileSync('action.yml', 'utf8'));
  if (after === before) {
    console.log(`${INPUTS_PAGE} is up to date.`);
  } else {
    writeFileSync(INPUTS_PAGE, after);
    console.log(`${INPUTS_PAGE}: inputs and outputs tables rewritten from action.yml.`);
  }
}

// Run only as a script, not when a test imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.chdir(dirname(dirname(fileURLToPath(import.meta.url))));
  await main();
}
