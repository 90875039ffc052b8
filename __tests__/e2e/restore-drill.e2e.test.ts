// The restore drill on a real PostgreSQL: archives record the probes' answers (record-probes), a later run
// seeds them and must get the same answers within restore-time-budget; a foreign backup is held to an
// expected-probes file. Stack start-ups are shared: one user-managed stack makes both archives and the
// foreign backup, then one failing and one passing drill run each restore all three at once.
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyArchiveFile } from '../../src/archive/volume-tar.js';
import type { Report, RestoreEvidence } from '../../src/report/schema.js';
import { Cleanup, composeFile, reportOf, runAction, runnerEnv, uniqueName } from '../faults/support.js';
import { BUSYBOX_IMAGE, POSTGRES_IMAGE } from '../support/images.js';
import { runStep } from '../support/runner.js';
import { runOk } from '../volumes/fixtures.js';

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

const PG = (service: string, volume: string) => `
  ${service}:
    image: ${POSTGRES_IMAGE}
    environment:
      POSTGRES_PASSWORD: example
    stop_grace_period: 20s
    volumes:
      - ${volume}:/var/lib/postgresql/data
    healthcheck:
      test: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', 'postgres']
      interval: 1s
      timeout: 3s
      retries: 120`;

const SQL = (service: string, query: string) => `${service}: psql -U postgres -qtAc "${query}"`;
const ORDERS = "select count(*), md5(string_agg(id::text || item, ',' order by id)) from orders";
/** The rows and a fingerprint of them: the answer a restore must give again. */
const ORDERS_PROBE = SQL('db', ORDERS);
/** Differs from run to run (the project name), so it is only shown: uncompared-probes. */
const PROJECT_PROBE = 'host: echo "$COMPOSE_PROJECT_NAME"';
/**
 * Prints the row count, then adds a row: recorded at archive time it stands for a row changed between the
 * recording and the read, so the archive holds one row more than its manifest's answer says.
 */
const CHANGING_PROBE =
  'db: psql -U postgres -qtA -c "select count(*) from orders" -c "insert into orders (item) values (\'late\')"';
/** The foreign backup's database, the same query. */
const FOREIGN_PROBE = SQL('db2', ORDERS);
/** The encrypt key of the good archive. */
const KEY = 'restore-drill-e2e-key-0123456789';

let dir = '';
let drillCompose = '';
let goodArchive = '';
let changedArchive = '';
let foreignBackup = '';
/** What the foreign backup's database answers (4 rows: the changing probe added one). */
let foreignAnswer = '';
let goodDigest = '';
let schema: object = {};

beforeAll(async () => {
  dir = await cleanup.tempDir();
  schema = JSON.parse(
    await readFile(path.resolve('docs/schemas/restore-evidence.schema.json'), 'utf8'),
  ) as object;
  // The backup side: a stack the user runs, archived twice by the archive sub-action with record-probes.
  const backupCompose = await composeFile(
    dir,
    `services:${PG('db', 'pgdata')}\nvolumes:\n  pgdata:\n`,
    'backup.yml',
  );
  const project = cleanup.project(uniqueName('drill-backup'));
  const compose = ['compose', '-f', backupCompose, '-p', project];
  await runOk('docker', [...compose, 'up', '-d', '--wait']);
  await runOk('docker', [
    ...compose,
    'exec',
    '-T',
    'db',
    'psql',
    '-U',
    'postgres',
    '-qc',
    "create table orders (id serial primary key, item text); insert into orders (item) values ('a'), ('b'), ('c')",
  ]);
  const archiveWith = async (probes: string, into: string, encrypt?: string) => {
    const step = await runStep('dist/archive.js', {
      inputs: {
        'compose-file': backupCompose,
        'project-name': project,
        probes,
        'record-probes': 'true',
        'archive-to': `path:${into}`,
        'archive-format': 'tar.gz',
        'helper-image': BUSYBOX_IMAGE,
        ...(encrypt ? { encrypt } : {}),
      },
      env: runnerEnv(),
    });
    expect(step.exitCode, step.stdout).toBe(0);
    await runOk('docker', [...compose, 'up', '-d', '--wait']); // started again after the read: healthy first
    const name = `pgdata.tar.gz${encrypt ? '.enc' : ''}`;
    return { archive: path.join(into, name), report: await reportOf(step) };
  };
  // Encrypted: the recorded answers travel inside the encrypted archive, and the drill times the decryptor.
  const good = await archiveWith(`${ORDERS_PROBE}\n${PROJECT_PROBE}`, path.join(dir, 'good'), KEY);
  goodArchive = good.archive;
  goodDigest = good.report.archives[0]?.digest ?? '';
  const changed = await archiveWith(CHANGING_PROBE, path.join(dir, 'changed'));
  changedArchive = changed.archive;
  // A foreign backup of the same database (plain tar of the stopped volume, as other tools make it).
  foreignAnswer = (
    await runOk('docker', [...compose, 'exec', '-T', 'db', 'psql', '-U', 'postgres', '-qtAc', ORDERS])
  ).stdout.trimEnd();
  await runOk('docker', [...compose, 'stop', 'db']);
  await runOk('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    '-v',
    `${project}_pgdata:/data`,
    '-v',
    `${dir}:/out`,
    BUSYBOX_IMAGE,
    'tar',
    'czf',
    '/out/foreign.tar.gz',
    '-C',
    '/data',
    '.',
  ]);
  foreignBackup = path.join(dir, 'foreign.tar.gz');
  await runOk('docker', [...compose, 'down', '-v']);
  drillCompose = await composeFile(
    dir,
    `services:${PG('db', 'pgdata')}${PG('db2', 'pgdata2')}\nvolumes:\n  pgdata:\n  pgdata2:\n`,
    'drill.yml',
  );
}, 600_000);

/** One drill run of the main action on the two-database stack. */
async function drill(seed: { pgdata: string; foreign: string }, inputs: Record<string, string>) {
  const project = cleanup.project(uniqueName('drill'));
  const { main, post } = await runAction(project, {
    'compose-file': drillCompose,
    seed: `pgdata: path:${seed.pgdata}\npgdata2: path:${seed.foreign}`,
    'restart-modes': 'restart',
    ignore: '*: postmaster.pid\n*: pg_stat_tmp/**',
    ...inputs,
  });
  expect(post.exitCode, post.stdout).toBe(0);
  const report: Report = await reportOf(main);
  return { main, report };
}

async function expectedFile(name: string, answer: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify({ probes: [{ probe: FOREIGN_PROBE, output: answer }] }));
  return file;
}

describe('the restore drill (PostgreSQL, archives with recorded probes and a foreign backup)', () => {
  it('records the answers in the manifest at archive time', async () => {
    const manifest = await verifyArchiveFile(goodArchive, { encryptionKey: KEY });
    expect(manifest.digest).toBe(goodDigest);
    expect(manifest.probes?.probes).toEqual([
      { probe: ORDERS_PROBE, output: expect.stringMatching(/^3\|[0-9a-f]{32}$/) as string },
      { probe: PROJECT_PROBE, output: expect.stringMatching(/^cp-fault-drill-backup-/) as string },
    ]);
    const changed = await verifyArchiveFile(changedArchive);
    expect(changed.probes?.probes).toEqual([{ probe: CHANGING_PROBE, output: '3' }]);
  });

  it('FAILS when a restored row differs from the recorded answer, when the foreign backup does not answer what the file says, and when the restore is over budget', async () => {
    const wrong = await expectedFile('wrong.json', '3|00000000000000000000000000000000');
    const { main, report } = await drill(
      { pgdata: changedArchive, foreign: foreignBackup },
      {
        probes: `${CHANGING_PROBE}\n${FOREIGN_PROBE}`,
        'expected-probes': wrong,
        'restore-time-budget': '1s',
      },
    );
    expect(main.exitCode).toBe(1);
    expect(report.result).toBe('failed');
    expect(report.failures).toContain(
      `Restore drill: probe "${CHANGING_PROBE}" does not answer as at backup time: expected "3" (the manifest of ${changedArchive}), got "4".`,
    );
    expect(report.failures).toContain(
      `Restore drill: probe "${FOREIGN_PROBE}" does not answer as at backup time: expected "3|00000000000000000000000000000000" (expected-probes ${wrong}), got "${foreignAnswer}".`,
    );
    const budget = report.failures.find((f) => f.startsWith('Restore took '));
    expect(budget).toMatch(
      /^Restore took \d+\.\d s, over restore-time-budget 1\.0 s \(from the start of the seed until the stack was healthy and the probes answered\): download \d+\.\d s, decrypt \d+\.\d s \(within write\), write \d+\.\d s, read-back \d+\.\d s, up \d+\.\d s, probes \d+\.\d s, other \d+\.\d s\.$/,
    );
    const evidence = report.restore as RestoreEvidence;
    expect(evidence.drillVerdict).toBe('failed');
    expect(evidence.restoreTime.withinBudget).toBe(false);
    const { parts } = evidence.restoreTime;
    expect(parts.writeMs).toBeGreaterThan(0);
    expect(parts.readBackMs).toBeGreaterThan(0);
    expect(parts.upMs).toBeGreaterThan(0);
    expect(
      parts.downloadMs + parts.writeMs + parts.readBackMs + parts.upMs + parts.probesMs + parts.otherMs,
    ).toBe(evidence.restoreTime.totalMs);
    expect(main.summary).toContain('### Restore drill: ❌ restored in');
  });

  it('PASSES with the recorded answers and the right expected-probes file within budget; restore-evidence.json validates and names the digest', async () => {
    const right = await expectedFile('right.json', foreignAnswer);
    const { main, report } = await drill(
      { pgdata: goodArchive, foreign: foreignBackup },
      {
        probes: `${ORDERS_PROBE}\n${PROJECT_PROBE}\n${FOREIGN_PROBE}`,
        'uncompared-probes': PROJECT_PROBE,
        'expected-probes': right,
        encrypt: KEY,
        'restore-time-budget': '10m',
      },
    );
    expect(main.exitCode, report.failures.join('\n')).toBe(0);
    const file = main.outputs['restore-evidence'] as string;
    expect(path.basename(file)).toBe('restore-evidence.json');
    const evidence = JSON.parse(await readFile(file, 'utf8')) as RestoreEvidence;
    expect(evidence).toEqual(report.restore);
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect(validate(evidence), JSON.stringify(validate.errors)).toBe(true);
    expect(evidence).toMatchObject({
      verdict: 'passed',
      drillVerdict: 'passed',
      probesCompared: 2,
      probesSame: 2,
    });
    const ours = evidence.backups.find((b) => b.key === goodArchive);
    expect(ours).toMatchObject({
      digest: goodDigest,
      foreign: false,
      recordedProbes: 2,
      madeAtOf: 'archived',
    });
    expect(ours?.ageMs).toBeGreaterThanOrEqual(0);
    expect(evidence.backups.find((b) => b.key === foreignBackup)).toMatchObject({
      foreign: true,
      recordedProbes: 0,
    });
    expect(evidence.probes.map((p) => [p.probe, p.compared, p.same ?? null])).toEqual([
      [ORDERS_PROBE, true, true],
      [PROJECT_PROBE, false, null],
      [FOREIGN_PROBE, true, true],
    ]);
    expect(evidence.restoreTime).toMatchObject({ budgetMs: 600_000, withinBudget: true });
    // The encrypted archive streamed through the decryptor: its time is measured, within the write.
    expect(evidence.restoreTime.parts.decryptMs).toBeGreaterThan(0);
    expect(evidence.restoreTime.parts.decryptMs).toBeLessThanOrEqual(evidence.restoreTime.parts.writeMs);
    expect(main.summary).toContain('### Restore drill: ✅ restored in');
    expect(main.summary).toContain('Probes compared: 2/2 answer as at backup time.');
  });
});
