import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { seedVolume } from '../../src/volumes/seed-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { RUN_ID, Resources, engine, inVolume, run, runOk, uniqueName } from './fixtures.js';

const example = path.resolve('examples/postgres/compose.yml');
const resources = new Resources();
const QUERY = 'select count(*), md5(string_agg(id::text, chr(44) order by id)) from orders';

afterAll(() => resources.cleanup());

function compose(project: string, args: string[]) {
  return runOk('docker', ['compose', '-p', project, '-f', example, ...args]);
}

async function up(project: string) {
  resources.projects.push({ name: project, file: example });
  resources.volumes.add(`${project}_pgdata`);
  return compose(project, ['up', '-d', '--wait', '--wait-timeout', '120']);
}

async function psql(project: string, sql: string): Promise<string> {
  const result = await compose(project, [
    'exec',
    '-T',
    'db',
    'psql',
    '-U',
    'postgres',
    '-d',
    'shop',
    '-tAc',
    sql,
  ]);
  return result.stdout.trim();
}

async function dbContainer(project: string) {
  const [container] = await engine.listContainers([
    `com.docker.compose.project=${project}`,
    'com.docker.compose.service=db',
  ]);
  if (!container) throw new Error(`no db container in ${project}`);
  return container.id;
}

async function startedAt(id: string): Promise<string> {
  return (await runOk('docker', ['inspect', '-f', '{{.State.StartedAt}}', id])).stdout.trim();
}

describe('PostgreSQL data archived from a running stack and seeded into a second one', () => {
  it('comes back with the same rows, and the first stack is running again', async () => {
    const first = uniqueName('pg1');
    const second = uniqueName('pg2');
    await up(first);
    // Rows beyond what the init script creates, so the second stack's data cannot come from init.
    await psql(
      first,
      "insert into orders (item, qty) select 'extra-' || g, 2 from generate_series(1, 234) g",
    );
    await psql(first, 'delete from orders where id % 97 = 0');
    const rows = await psql(first, QUERY);
    expect(rows).toMatch(/^1222\|[0-9a-f]{32}$/);

    const id = await dbContainer(first);
    const before = await startedAt(id);
    const file = path.join(await resources.tempDir(), 'pgdata.tar.zst');
    const archived = await archiveVolume(`${first}_pgdata`, file, {
      engine,
      helperImage: BUSYBOX_IMAGE,
      runLabel: RUN_ID,
      consistency: 'stop',
    });
    expect(archived.manifest.files).toBeGreaterThan(100);
    // It was stopped for the read (a new start time) and is running again.
    const details = await engine.inspectContainer(id);
    expect(details.running).toBe(true);
    expect(await startedAt(id)).not.toBe(before);
    await compose(first, ['up', '-d', '--wait', '--wait-timeout', '120']);
    expect(await psql(first, QUERY)).toBe(rows);

    const volume = `${second}_pgdata`;
    resources.volumes.add(volume);
    const seeded = await seedVolume(volume, file, {
      engine,
      helperImage: BUSYBOX_IMAGE,
      runLabel: RUN_ID,
      overwrite: false,
      compose: { project: second, key: 'pgdata' },
    });
    expect(seeded.manifest.digest).toBe(archived.manifest.digest);
    // PostgreSQL refuses a data directory it does not own or that others can read.
    expect(await inVolume(volume, "stat -c '%u %a' /v", true)).toBe(
      await inVolume(`${first}_pgdata`, "stat -c '%u %a' /v", true),
    );

    const started = await up(second);
    expect(started.stderr).not.toMatch(/already exists but was not created by Docker Compose/);
    expect(await psql(second, QUERY)).toBe(rows);
    expect(await psql(second, "select count(*) from orders where item like 'extra-%'")).toBe('232');

    for (const project of [first, second]) {
      const down = await run('docker', ['compose', '-p', project, '-f', example, 'down', '-v', '-t', '5']);
      expect(down.code, down.stderr).toBe(0);
      expect(await engine.inspectVolume(`${project}_pgdata`)).toBeUndefined();
    }
  });
});
