import { describe, expect, it } from 'vitest';
import { Inputs } from '../src/constants.js';
import { readSettings } from '../src/inputs.js';
import { crashTargets } from '../src/phases/crash-load.js';
import { assertServicesExist } from '../src/stack/stack.js';

const reader = (values: Partial<Record<Inputs, string>>) => (name: Inputs) => values[name] ?? '';
const LOAD = 'db: while true; do psql -qAtc "insert into t default values returning id"; done';
const ACKNOWLEDGED = 'db: psql -qAtc "select id from t"';

describe('crash under load inputs', () => {
  it('defaults: no load, 3 rounds, a random seed (drawn when the rounds start)', () => {
    const s = readSettings(reader({}));
    expect(s).toMatchObject({ load: [], acknowledged: [], crashRounds: 3 });
    expect(s.crashSeed).toBeUndefined();
    expect(readSettings(reader({ [Inputs.CrashSeed]: 'random' })).crashSeed).toBeUndefined();
  });

  it('parses load and acknowledged as command lines, crash-rounds and crash-seed as numbers', () => {
    const s = readSettings(
      reader({
        [Inputs.Load]: `${LOAD}\nhost: ./writer.sh`,
        [Inputs.Acknowledged]: ACKNOWLEDGED,
        [Inputs.CrashRounds]: '5',
        [Inputs.CrashSeed]: '4294967295',
      }),
    );
    expect(s.load).toEqual([
      { target: { service: 'db' }, command: LOAD.slice(4) },
      { target: 'host', command: './writer.sh' },
    ]);
    expect(s.acknowledged).toEqual([{ target: { service: 'db' }, command: ACKNOWLEDGED.slice(4) }]);
    expect(s.crashRounds).toBe(5);
    expect(s.crashSeed).toBe(4294967295);
  });

  it.each([
    [{ [Inputs.Load]: LOAD }, "Input 'load' needs 'acknowledged': a command printing every token"],
    [
      { [Inputs.Acknowledged]: ACKNOWLEDGED },
      "Input 'acknowledged' needs 'load': a writer printing one token",
    ],
    [
      { [Inputs.Load]: 'db:psql', [Inputs.Acknowledged]: ACKNOWLEDGED },
      'Input \'load\': line "db:psql" is not SERVICE: COMMAND',
    ],
    [
      { [Inputs.Load]: 'psql', [Inputs.Acknowledged]: ACKNOWLEDGED },
      'write "SERVICE: psql" (or "host: psql")',
    ],
    [{ [Inputs.CrashRounds]: '0' }, "Input 'crash-rounds' must be a positive whole number of rounds"],
    [
      { [Inputs.CrashSeed]: '-1' },
      "Input 'crash-seed' must be random or a whole number from 0 to 4294967295",
    ],
    [{ [Inputs.CrashSeed]: '4294967296' }, "Input 'crash-seed' must be random or a whole number"],
    [{ [Inputs.CrashSeed]: '1.5' }, "Input 'crash-seed' must be random or a whole number"],
  ])('refuses %o with one line naming the input', (values, message) => {
    expect(() => readSettings(reader(values))).toThrow(message);
  });
});

describe('crashTargets: which containers a round kills', () => {
  const specs = (...lines: string[]) =>
    lines.map((l) =>
      l.startsWith('host: ')
        ? { target: 'host' as const, command: l.slice(6) }
        : { target: { service: l.split(':')[0] as string }, command: 'x' },
    );
  const known = ['app', 'cache', 'db'];

  it('the services load names; with only host: loads, those acknowledged names; else the selection or all', () => {
    expect(
      crashTargets(
        { load: specs('db: x', 'cache: x', 'db: y'), acknowledged: specs('app: x'), services: [] },
        known,
      ),
    ).toEqual(['db', 'cache']);
    expect(
      crashTargets({ load: specs('host: w'), acknowledged: specs('db: x'), services: ['app'] }, known),
    ).toEqual(['db']);
    expect(
      crashTargets({ load: specs('host: w'), acknowledged: specs('host: r'), services: ['app'] }, known),
    ).toEqual(['app']);
    expect(
      crashTargets({ load: specs('host: w'), acknowledged: specs('host: r'), services: [] }, known),
    ).toEqual(known);
  });

  it('a service the stack does not run is refused before anything starts (assertServicesExist)', () => {
    const settings = { services: [], exec: [], probes: [], acknowledged: specs('db: x') };
    expect(() => assertServicesExist({ ...settings, load: specs('dbx: x') }, known)).toThrow(
      "Input 'load': no service named dbx in the stack; its services are: app, cache, db.",
    );
    expect(() =>
      assertServicesExist({ ...settings, load: specs('host: w'), acknowledged: specs('dbx: x') }, known),
    ).toThrow("Input 'acknowledged': no service named dbx in the stack");
  });
});
