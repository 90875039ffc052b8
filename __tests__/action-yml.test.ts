import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Inputs, Outputs } from '../src/constants.js';

interface ActionYml {
  description: string;
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string; post: string };
}

const action = parse(readFileSync('action.yml', 'utf8')) as ActionYml;

describe('action.yml', () => {
  it('declares exactly the inputs the code reads, each described', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.values(Inputs).sort());
    for (const [name, input] of Object.entries(action.inputs))
      expect(input.description, name).toMatch(/\w{3,}/);
  });

  it('declares exactly the outputs the code sets', () => {
    expect(Object.keys(action.outputs).sort()).toEqual(Object.values(Outputs).sort());
  });

  // The marketplace cuts a longer description off.
  it.each(['action.yml', 'seed/action.yml', 'check/action.yml', 'archive/action.yml'])(
    '%s has a description of at most 125 characters',
    (file) => {
      const { description } = parse(readFileSync(file, 'utf8')) as ActionYml;
      expect(description.length, description).toBeLessThanOrEqual(125);
      expect(description.length).toBeGreaterThan(20);
    },
  );

  it('runs the bundled entry points on node24 with a post step', () => {
    expect(action.runs).toMatchObject({ using: 'node24', main: 'dist/main.js', post: 'dist/post.js' });
  });
});

describe('sub-actions (seed/, check/, archive/)', () => {
  it.each(['seed', 'check', 'archive'])(
    '%s/action.yml is generated from action.yml and runs the shared bundle',
    async (name) => {
      // @ts-expect-error: a plain .mjs build script without types
      const { renderSubAction } = (await import('../scripts/sub-actions.mjs')) as {
        renderSubAction: (main: unknown, name: string) => string;
      };
      expect(readFileSync(`${name}/action.yml`, 'utf8')).toBe(renderSubAction(action, name));
      const sub = parse(readFileSync(`${name}/action.yml`, 'utf8')) as ActionYml;
      expect(sub.runs).toEqual({ using: 'node24', main: `../dist/${name}.js` });
      for (const input of Object.keys(sub.inputs)) expect(Object.values(Inputs)).toContain(input);
    },
  );
});
