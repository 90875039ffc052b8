import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, POSTGRES_IMAGE } from '../support/images.js';
import {
  Cleanup,
  NOTHING_LEFT,
  composeFile,
  reportOf,
  runAction,
  uniqueName,
  type ActionRun,
} from '../faults/support.js';

// Every place a stack keeps data is verified across the restart modes or named in the verdict: bind-mount
// sources, anonymous volumes (image VOLUMEs), tmpfs in both syntaxes. A mode that verified nothing fails.
const cleanup = new Cleanup();
let root: string;

beforeAll(async () => {
  root = await cleanup.tempDir();
});

afterAll(() => cleanup.run());

const PG_HEALTH = [
  '    healthcheck:',
  "      test: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', 'postgres', '-d', 'shop']",
  '      interval: 1s',
  '      timeout: 3s',
  '      retries: 60',
];
const COUNT_PROBE =
  'db: psql -U postgres -d shop -tAc "select count(*), md5(string_agg(id::text, chr(44) order by id)) from orders"';

/** A project directory of its own (binds are relative to it), with the compose file written into it. */
async function runStack(what: string, lines: string[], inputs: Record<string, string>) {
  const dir = path.join(root, what);
  await mkdir(dir, { recursive: true });
  const file = await composeFile(dir, [...lines, ''].join('\n'));
  const project = cleanup.project(uniqueName(what));
  const run = await runAction(project, { 'compose-file': file, ...inputs });
  return { ...run, dir, project, report: await reportOf(run.main) };
}

function expectFailedCleanly(run: ActionRun): void {
  expect(run.main.exitCode, run.main.stdout).not.toBe(0);
  expect(run.main.outputs.result).toBe('failed');
  expect(run.post.exitCode, run.post.stdout).toBe(0);
  expect(run.leftovers).toEqual(NOTHING_LEFT);
}

describe('anonymous volumes are fingerprinted and matched by service and path', () => {
  it('PostgreSQL with its named volume at the wrong path and no probes fails down-up, naming the anonymous volume and the fix', async () => {
    const run = await runStack(
      'pg-wrong-path',
      [
        'services:',
        '  db:',
        `    image: ${POSTGRES_IMAGE}`,
        '    environment: { POSTGRES_PASSWORD: example, POSTGRES_DB: shop }',
        '    volumes:',
        // The image's VOLUME is /var/lib/postgresql/data: the database lands in an anonymous volume.
        '      - pgdata:/var/lib/postgresql',
        ...PG_HEALTH,
        'volumes:',
        '  pgdata:',
      ],
      { 'restart-modes': 'restart, down-up' },
    );
    expectFailedCleanly(run);
    expect(run.report.modes.map((m) => [m.mode, m.passed])).toEqual([
      ['restart', true],
      ['down-up', false],
    ]);
    expect(run.report.failures).toEqual([
      expect.stringMatching(
        /^Data did not survive down-up: anonymous volume at db:\/var\/lib\/postgresql\/data was replaced by a new one: its \d+ file\(s\) are gone: map a named volume at \/var\/lib\/postgresql\/data$/,
      ),
    ]);
    // The named volume holds nothing: its archive would be empty, and the warning says where the data went.
    expect(run.report.warnings).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^Volume ${run.project}_pgdata is empty after the tests .* anonymous volume db:/var/lib/postgresql/data \\(\\d+ file\\(s\\)\\)`,
        ),
      ),
    );
  });
});

describe('tmpfs in both syntaxes', () => {
  it('data on tmpfs without probes fails as "nothing verified"; both mounts are listed and not in the layer audit', async () => {
    const run = await runStack(
      'tmpfs',
      [
        'services:',
        '  app:',
        `    image: ${BUSYBOX_IMAGE}`,
        "    command: ['sh', '-c', 'exec sleep 1000000']",
        '    stop_grace_period: 1s',
        '    tmpfs: /cache',
        '    volumes:',
        '      - type: tmpfs',
        '        target: /scratch',
      ],
      {
        exec: 'app: echo order-17 > /cache/orders.txt && echo order-18 > /scratch/orders.txt',
        'restart-modes': 'restart',
      },
    );
    expectFailedCleanly(run);
    expect(run.report.failures).toEqual([
      'restart: nothing was verified (no probe, and no volume or bind mount was read): add a probe, or keep the data in a named volume.',
    ]);
    expect(run.report.stack.tmpfs).toEqual([
      'app:/scratch (tmpfs: not persisted by design)',
      'app:/cache (tmpfs: not persisted by design)',
    ]);
    expect(run.report.warnings).toContain(
      'Not verified by any restart: app:/scratch (tmpfs: emptied by every restart); app:/cache (tmpfs: emptied by every restart).',
    );
    expect(run.report.layer.map((f) => f.path)).toEqual([]);
  });
});

describe('bind mounts are fingerprinted through a helper that binds the same source', () => {
  it('a file deleted from the bind source during a mode fails that mode, naming the bind and the file', async () => {
    await mkdir(path.join(root, 'bind-delete'), { recursive: true });
    await writeFile(path.join(root, 'bind-delete', 'conf.txt'), 'setting=1\n');
    const run = await runStack(
      'bind-delete',
      [
        'services:',
        '  app:',
        `    image: ${BUSYBOX_IMAGE}`,
        // Deletes victim.txt each time it starts again: the restart loses a file the stack wrote.
        "    command: ['sh', '-c', 'if [ -f /data/started ]; then rm -f /data/victim.txt; fi; touch /data/started; exec sleep 1000000']",
        '    stop_grace_period: 1s',
        '    volumes:',
        '      - ./appdata:/data',
        '      - ./conf.txt:/etc/app.conf:ro',
      ],
      {
        exec: 'app: echo order-17 > /data/victim.txt && echo kept > /data/keep.txt',
        'restart-modes': 'restart',
      },
    );
    expectFailedCleanly(run);
    const source = path.join(run.dir, 'appdata');
    expect(run.report.failures).toEqual([
      `Data did not survive restart: bind mount ${source} (app:/data) lost 1 file(s) (victim.txt)`,
    ]);
    expect(run.report.modes[0]?.volumes).toMatchObject([
      { volume: source, kind: 'bind', ok: false, removed: ['victim.txt'], filesBefore: 3 },
    ]);
    expect(run.report.stack.binds).toContain(
      `app:/etc/app.conf (bind ${path.join(run.dir, 'conf.txt')}, read-only: not checked)`,
    );
    expect(run.main.stdout).toContain(`bind mount ${source} (app:/data) lost 1 file(s) (victim.txt)`);
  });

  it('PostgreSQL with ./pgdata bind-mounted passes restart, kill and down-up with its data fingerprinted (no false alarm)', async () => {
    const dir = path.join(root, 'pg-bind');
    await mkdir(dir, { recursive: true });
    await cp(path.resolve('examples/postgres/init'), path.join(dir, 'init'), { recursive: true });
    const run = await runStack(
      'pg-bind',
      [
        'services:',
        '  db:',
        `    image: ${POSTGRES_IMAGE}`,
        '    environment: { POSTGRES_PASSWORD: example, POSTGRES_DB: shop }',
        '    volumes:',
        '      - ./pgdata:/var/lib/postgresql/data',
        '      - ./init:/docker-entrypoint-initdb.d:ro',
        ...PG_HEALTH,
      ],
      {
        exec: 'db: psql -U postgres -d shop -c "insert into orders (item, qty) values (\'bind\', 1)"',
        probes: COUNT_PROBE,
        'restart-modes': 'restart, kill, down-up',
      },
    );
    expect(run.main.exitCode, run.main.stdout).toBe(0);
    expect(run.report.result).toBe('passed');
    expect(run.report.failures).toEqual([]);
    const source = path.join(dir, 'pgdata');
    for (const mode of run.report.modes) {
      expect(mode.passed, mode.mode).toBe(true);
      expect(mode.volumes).toMatchObject([{ volume: source, kind: 'bind', ok: true }]);
      expect(mode.volumes[0]?.filesBefore).toBeGreaterThan(100);
    }
    expect(run.post.exitCode, run.post.stdout).toBe(0);
    expect(run.leftovers).toEqual(NOTHING_LEFT);
    // The data stays where the user keeps it: the check only read it.
    await rm(path.join(dir, 'pgdata'), { recursive: true, force: true });
  });
});
