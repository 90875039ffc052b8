import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

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

  it('the example command exists and runs the CLI on the example stack', () => {
    const { scripts } = JSON.parse(readFileSync('package.json', 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.example).toMatch(/^node dist\/cli\.js check -f examples\/postgres\/compose\.yml /);
    expect(scripts.test).toBe('vitest run');
  });

  it('stays short: at most 300 lines, the rest one click away in docs/', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  it('says what a PASS proves: each restart mode, crash rounds and power loss', () => {
    const section = sectionOf('What a PASS proves');
    const rows = section.split('\n').filter((line) => line.startsWith('| '));
    for (const mode of ['restart', 'stop-start', 'kill', 'recreate', 'down-up'])
      expect(
        rows.some((row) => row.includes(`\`restart-modes: ${mode}\``) || row.includes(`\`${mode}\``)),
        mode,
      ).toBe(true);
    expect(rows.some((row) => /`load`.*`acknowledged`/.test(row))).toBe(true);
    expect(rows.some((row) => row.includes('`crash-kind: power-loss`'))).toBe(true);
  });

  it('shows the three use cases, each as a workflow snippet', () => {
    const section = sectionOf('Use cases');
    const cases = section.split(/^### /m).slice(1);
    expect(cases.map((text) => text.split('\n')[0])).toEqual([
      "Pull request check: migrations and tests on main's data",
      'Nightly backup verification',
      'Volume backups known to restore',
    ]);
    for (const text of cases) expect(text).toMatch(/^```yaml\n[\s\S]*^jobs:$/m);
  });
});

const readme = readFileSync('README.md', 'utf8');

/** The text of the README's `## TITLE` section, up to the next `## `. */
function sectionOf(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README.md has a "## ${title}" section`).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}
