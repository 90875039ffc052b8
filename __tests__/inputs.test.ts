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
    expect(s.knownStores).toBe('auto');
    expect(s.archiveConsistency).toBe('stop');
    expect(s.waitTimeoutSeconds).toBe(120);
    expect(s.keepVolumes).toBe(false);
  });

  it('known-stores is auto or off, and nothing else', () => {
    expect(readSettings(reader({ [Inputs.KnownStores]: 'off' })).knownStores).toBe('off');
    expect(() => readSettings(reader({ [Inputs.KnownStores]: 'no' }))).toThrow(
      new UserError(`Input 'known-stores' must be one of auto, off; got "no".`),
    );
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

  it('seed SOURCE#PATH names the directory of a foreign backup that holds the volume', () => {
    const s = readSettings(reader({ [Inputs.Seed]: 'pgdata: path:backups/db.tar.gz#backup/pgdata' }));
    expect(s.seeds).toEqual([{ volume: 'pgdata', source: 'path:backups/db.tar.gz', from: 'backup/pgdata' }]);
    for (const bad of ['pg: path:x.tar.gz#', 'pg: path:x.tar.gz#/abs', 'pg: path:x.tar.gz#a/../b']) {
      expect(() => readSettings(reader({ [Inputs.Seed]: bad }))).toThrow(
        /after # give the directory inside the archive/,
      );
    }
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
    [Inputs.Exec, 'npm test', /exec': line "npm test" is not SERVICE: COMMAND/],
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

describe('command lines: SERVICE: COMMAND is the one syntax (issue 11, point 13)', () => {
  it.each([
    ['db: psql -c "select 1"', { target: { service: 'db' }, command: 'psql -c "select 1"' }],
    ['host: echo a:b', { target: 'host', command: 'echo a:b' }],
    ['host:\techo tab', { target: 'host', command: 'echo tab' }],
    // A line with no `NAME:` in front stays a host probe, as before (nothing else can be meant).
    [
      'curl -s http://localhost:8080/health',
      { target: 'host', command: 'curl -s http://localhost:8080/health' },
    ],
    ['PGPASSWORD=x psql -h 127.0.0.1', { target: 'host', command: 'PGPASSWORD=x psql -h 127.0.0.1' }],
  ])('probe %j is read as %j', (line, spec) => {
    expect(readSettings(reader({ [Inputs.Probes]: line })).probes).toEqual([spec]);
  });

  it.each([
    [Inputs.Probes, 'db:psql -tAc "select 1"', 'write "db: psql -tAc "select 1""'],
    [Inputs.Probes, 'host:echo hi', 'write "host: echo hi"'],
    [Inputs.Probes, 'db :psql', 'write "db: psql"'],
    [Inputs.Probes, 'db:', 'write "db: COMMAND"'],
    [Inputs.Exec, 'app:npm test', 'write "app: npm test"'],
    [Inputs.Exec, 'npm test', 'write "SERVICE: npm test" (or "host: npm test")'],
  ])('refuses %s line %j, showing the right form', (input, line, fix) => {
    const read = reader({ [input]: line });
    expect(() => readSettings(read)).toThrow(UserError);
    expect(() => readSettings(read)).toThrow(`Input '${input}': line "${line}" is not SERVICE: COMMAND`);
    expect(() => readSettings(read)).toThrow(fix);
  });
});

describe('early input checks (issue 11, points 5 and 13)', () => {
  it('refuses an encrypt key under 16 characters, naming the input', () => {
    const read = reader({ [Inputs.Encrypt]: 'short-key' });
    expect(() => readSettings(read)).toThrow(UserError);
    expect(() => readSettings(read)).toThrow(/^Input 'encrypt' is too short \(9 characters\)/);
    expect(readSettings(reader({ [Inputs.Encrypt]: 'sixteen-chars-ok' })).encryptKey).toBe(
      'sixteen-chars-ok',
    );
  });

  it.each(['a/b:c', 'vol"umes', 'a<b', 'a>b', 'a|b', 'a*b', 'a?b', 'a\\b'])(
    'refuses artifact-name %j (GitHub refuses it only at upload, after the whole check)',
    (name) => {
      const read = reader({ [Inputs.ArtifactName]: name });
      expect(() => readSettings(read)).toThrow(UserError);
      expect(() => readSettings(read)).toThrow(
        `Input 'artifact-name': "${name}" is not a valid artifact name`,
      );
    },
  );

  it('checks artifact names in archive-to and seed sources too', () => {
    expect(() => readSettings(reader({ [Inputs.ArchiveTo]: 'artifact:a/b' }))).toThrow(
      `Input 'archive-to': "a/b" is not a valid artifact name`,
    );
    expect(() => readSettings(reader({ [Inputs.Seed]: 'pgdata: artifact:x:y' }))).toThrow(
      `Input 'seed': "x:y" is not a valid artifact name`,
    );
    const ok = readSettings(
      reader({
        [Inputs.ArtifactName]: 'volumes-shop_1.2',
        [Inputs.ArchiveTo]: 'artifact:v-1\npath:/tmp/x:y',
      }),
    );
    expect(ok.artifactName).toBe('volumes-shop_1.2');
    expect(ok.archiveTo).toEqual(['artifact:v-1', 'path:/tmp/x:y']);
  });
});

describe('restore drill inputs', () => {
  const PROBES = 'db:  psql -tAc "select count(*) from t"\nhost: date\nhostname';

  it('are off by default', () => {
    const s = readSettings(reader({}));
    expect(s.recordProbes).toBe(false);
    expect(s.uncomparedProbes).toEqual([]);
    expect(s.expectedProbes).toBeUndefined();
    expect(s.restoreTimeBudgetMs).toBeUndefined();
  });

  it('reads the budget as a duration and uncompared-probes as probe lines, however they were spaced', () => {
    const s = readSettings(
      reader({
        [Inputs.Probes]: PROBES,
        [Inputs.RecordProbes]: 'true',
        [Inputs.UncomparedProbes]: 'host:   date\nhostname',
        [Inputs.ExpectedProbes]: 'drill/expected.json',
        [Inputs.RestoreTimeBudget]: '10m',
      }),
    );
    expect(s.recordProbes).toBe(true);
    expect(s.uncomparedProbes).toEqual(['host: date', 'host: hostname']);
    expect(s.expectedProbes).toBe('drill/expected.json');
    expect(s.restoreTimeBudgetMs).toBe(600_000);
    expect(readSettings(reader({ [Inputs.RestoreTimeBudget]: '90s' })).restoreTimeBudgetMs).toBe(90_000);
  });

  it('refuses an uncompared probe that is not one of the probes, naming it', () => {
    const read = reader({
      [Inputs.Probes]: PROBES,
      [Inputs.UncomparedProbes]: 'db: psql -tAc "select now()"',
    });
    expect(() => readSettings(read)).toThrow(UserError);
    expect(() => readSettings(read)).toThrow(
      `Input 'uncompared-probes': "db: psql -tAc "select now()"" is not one of the probes`,
    );
  });

  it('refuses record-probes without probes, and a budget that is not a duration', () => {
    expect(() => readSettings(reader({ [Inputs.RecordProbes]: 'true' }))).toThrow(
      "Input 'record-probes: true' needs 'probes'",
    );
    expect(() => readSettings(reader({ [Inputs.RestoreTimeBudget]: '10 minutes' }))).toThrow(
      "Input 'restore-time-budget' must be a duration",
    );
  });
});
