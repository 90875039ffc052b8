import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadme, renderTables } from '../scripts/readme-tables.mjs';

describe('README.md', () => {
  it('holds the inputs and outputs tables generated from action.yml', async () => {
    const readme = readFileSync('README.md', 'utf8');
    const expected = await renderReadme(readme, readFileSync('action.yml', 'utf8'));
    expect(readme === expected, 'README.md differs from the tables of action.yml: run npm run docs').toBe(
      true,
    );
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
