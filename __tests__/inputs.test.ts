import { describe, expect, it } from 'vitest';
import { Inputs } from '../src/constants.js';
import { UserError } from '../src/errors.js';
import { parseByteSize, readSettings } from '../src/inputs.js';

const reader = (values: Partial<Record<Inputs, string>>) => (name: Inputs) => values[name] ?? '';

describe('readSettings', () => {
  it('applies the documented defaults', () => {
    const s = readSettings(reader({}));
    expect(s.composeFiles).toEqual([]);
    expect(s.restartModes).toEqual(['recreate']);
    expect(s.checkFiles).toBe('no-loss');
    expect(s.layerAudit).toBe('warn');
    expect(s.archiveConsistency).toBe('stop');
    expect(s.waitTimeoutSeconds).toBe(120);
    expect(s.keepVolumes).toBe(false);
  });

  it('parses lists, multi-line inputs and command lines', () => {
    const s = readSettings(
      reader({
        [Inputs.ComposeFile]: 'a.yml\n# comment\n  b.yml  \n',
        [Inputs.RestartModes]: 'restart, kill\ndown-up',
        [Inputs.Probes]: 'db: psql -tAc "select 1: 2"\nhost: curl -s localhost:80\nls -l',
        [Inputs.Exec]: 'app: npm test',
        [Inputs.Seed]: 'pgdata: path:backups/pg.tar.zst',
        [Inputs.Ignore]: 'pgdata: pg_stat_tmp/**\n*: *.pid',
      }),
    );
    expect(s.composeFiles).toEqual(['a.yml', 'b.yml']);
    expect(s.restartModes).toEqual(['restart', 'kill', 'down-up']);
    expect(s.probes).toEqual([
      { target: { service: 'db' }, command: 'psql -tAc "select 1: 2"' },
      { target: 'host', command: 'curl -s localhost:80' },
      { target: 'host', command: 'ls -l' },
    ]);
    expect(s.exec).toEqual([{ target: { service: 'app' }, command: 'npm test' }]);
    expect(s.seeds).toEqual([{ volume: 'pgdata', source: 'path:backups/pg.tar.zst' }]);
    expect(s.ignore).toEqual([
      { volume: 'pgdata', glob: 'pg_stat_tmp/**' },
      { volume: '*', glob: '*.pid' },
    ]);
  });

  it.each([
    [
      Inputs.RestartModes,
      'reboot',
      /restart-modes': unknown value reboot; valid values are restart, stop-start/,
    ],
    [Inputs.CheckFiles, 'some', /check-files' must be one of no-loss, exact, off/],
    [Inputs.WaitTimeout, '-3', /wait-timeout' must be a positive whole number/],
    [Inputs.KeepVolumes, 'yes', /keep-volumes' must be true or false/],
    [Inputs.Exec, 'npm test', /exec': line "npm test" is not of the form SERVICE: COMMAND/],
    [Inputs.Seed, 'pgdata path:x', /seed': line "pgdata path:x" is not of the form VOLUME: SOURCE/],
  ])('rejects %s=%s with an error naming the input', (input, value, message) => {
    const read = reader({ [input]: value });
    expect(() => readSettings(read)).toThrow(UserError);
    expect(() => readSettings(read)).toThrow(message);
  });
});

describe('parseByteSize', () => {
  it.each([
    ['1024', 1024],
    ['512M', 512 * 1024 ** 2],
    ['20G', 20 * 1024 ** 3],
    ['1.5T', 1.5 * 1024 ** 4],
    ['8MiB', 8 * 1024 ** 2],
    ['64kb', 64 * 1024],
    ['lots', undefined],
    ['-1G', undefined],
  ])('%s → %s', (raw, bytes) => {
    expect(parseByteSize(raw)).toBe(bytes);
  });

  it('max-archive-size and test-timeout reject nonsense naming the input', () => {
    expect(() => readSettings(reader({ [Inputs.MaxArchiveSize]: 'huge' }))).toThrow(
      /'max-archive-size' must be a size such as 512M/,
    );
    expect(() => readSettings(reader({ [Inputs.TestTimeout]: '0' }))).toThrow(
      /'test-timeout' must be a positive whole number/,
    );
    expect(readSettings(reader({})).maxArchiveBytes).toBe(20 * 1024 ** 3);
  });
});
