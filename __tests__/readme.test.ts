import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadme, renderTables } from '../scripts/readme-tables.mjs';

describe('README.md', () => {
  it('opens with one sentence, a five-line example, then the two set-up commands', () => {
    const readme = readFileSync('README.md', 'utf8');
    const beforeFirstSection = readme.slice(0, readme.indexOf('\n## '));
    const [title, sentence, example, lead, commands] = beforeFirstSection.split(/\n\n/);
    expect(title).toBe('# compose-persist');
    // One sentence: a single full stop, at the end.
    expect(sentence?.replace(/\n/g, ' ')).toMatch(/^compose-persist is a GitHub Action that [^.]+\.$/);
    const exampleLines = (example ?? '').split('\n');
    expect(exampleLines[0]).toBe('```yaml');
    expect(exampleLines.at(-1)).toBe('```');
    expect(exampleLines.slice(1, -1)).toHaveLength(5);
    expect(example).toContain('uses: compose-persist/compose-persist@v0');
    expect(lead).toMatch(/:$/);
    const commandLines = (commands ?? '').split('\n').slice(1, -1);
    expect(commandLines.map((line) => line.replace(/\s+#.*$/, ''))).toEqual([
      'bash scripts/setup.sh && npm run example',
      'bash scripts/setup.sh && npm test',
    ]);
  });

  it('never tells anyone to fetch the CLI by a package name this project does not own', () => {
    const texts = ['README.md', 'docs/faults.md', 'src/volumes/volume-backup.ts'].map((file) =>
      readFileSync(file, 'utf8'),
    );
    for (const text of texts)
      expect(text).not.toMatch(/npx (-y )?compose-persist|npm (i|install) -g compose-persist/);
    expect(readFileSync('README.md', 'utf8')).toContain('node ~/compose-persist/dist/cli.js check');
  });

  it('the example command exists and runs the CLI on the example stack', () => {
    const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.example).toMatch(/^node dist\/cli\.js check -f examples\/postgres\/compose\.yml /);
    expect(scripts.test).toBe('vitest run');
  });

  it('holds the inputs and outputs tables generated from action.yml', async () => {
    const readme = readFileSync('README.md', 'utf8');
    const expected = await renderReadme(readme, readFileSync('action.yml', 'utf8'));
    expect(readme === expected, 'README.md differs from the tables of action.yml: run npm run docs').toBe(
      true,
    );
  }, 30_000); // prettier formats the whole README: seconds on a loaded 2-core machine

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
