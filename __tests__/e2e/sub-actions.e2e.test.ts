import type { Report } from '../../src/report/schema.js';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.js';
import { runStep } from '../support/runner.js';
import '../support/images.js';

const run = promisify(execFile);
const engine = new DockerEngine();
const compose = path.resolve('examples/postgres/compose.yml');
const project = `cp-e2e-sub-${process.pid}`;
const COUNT = 'db: psql -U postgres -d shop -tAc "select count(*) from orders"';
const dc = (...args: string[]) => run('docker', ['compose', '-f', compose, '-p', project, ...args]);
let work = '';

afterAll(async () => {
  await dc('down', '-v').catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the seed/, check/ and archive/ sub-actions around the user’s own compose steps', () => {
  it('archives a running stack, seeds a fresh stack from it, and checks it', async () => {
    work = await mkdtemp(path.join(tmpdir(), 'cp-sub-'));
    const inputs = { 'compose-file': compose, 'project-name': project };
    await dc('up', '-d', '--wait');
    await dc(
      'exec',
      '-T',
      'db',
      'psql',
      '-U',
      'postgres',
      '-d',
      'shop',
      '-c',
      "insert into orders (item, qty) values ('sub', 1)",
    );

    const archived = await runStep('dist/archive.js', {
      inputs: { ...inputs, 'archive-to': `path:${work}/store`, 'archive-format': 'tar.gz' },
    });
    expect(archived.exitCode, archived.stdout).toBe(0);
    expect((await readdir(path.join(work, 'store'))).sort()).toEqual(['pgdata.tar.gz', 'report.json']);
    const [archive] = JSON.parse(archived.outputs.archives as string) as { digest: string }[];
    // The archive stopped the database for a consistent copy and started it again.
    expect((await dc('ps', '--format', '{{.State}}')).stdout.trim()).toBe('running');

    await dc('down', '-v');
    const seeded = await runStep('dist/seed.js', {
      inputs: { ...inputs, seed: `pgdata: path:${work}/store/pgdata.tar.gz` },
    });
    expect(seeded.exitCode, seeded.stdout).toBe(0);
    const volume = await engine.inspectVolume(`${project}_pgdata`);
    expect(volume?.labels).toMatchObject({
      'com.docker.compose.project': project,
      'com.docker.compose.volume': 'pgdata',
    });
    expect(volume?.labels['com.docker.compose.config-hash']).toBeUndefined();
    const { stderr } = await dc('up', '-d', '--wait');
    expect(stderr).not.toMatch(/already exists but was not created by Docker Compose/);

    const checked = await runStep('dist/check.js', {
      inputs: {
        ...inputs,
        probes: COUNT,
        'restart-modes': 'kill, recreate',
        ignore: '*: postmaster.pid\n*: pg_stat_tmp/**\n*: pg_internal.init',
      },
    });
    expect(checked.exitCode, checked.stdout).toBe(0);
    const report = JSON.parse(await readFile(checked.outputs.report as string, 'utf8')) as Report;
    expect(report.modes.map((m) => [m.mode, m.passed, m.probes[0]?.before])).toEqual([
      ['kill', true, '1001'],
      ['recreate', true, '1001'],
    ]);
    const volumes = JSON.parse(checked.outputs.volumes as string) as { digest: string }[];
    expect(volumes[0]?.digest).toMatch(/^sha256:/);
    expect(archive?.digest).toMatch(/^sha256:/);
    // Sub-actions leave the stack to the user: it is still up.
    expect((await dc('ps', '--format', '{{.State}}')).stdout.trim()).toBe('running');
  });

  it('check fails clearly when the stack is not up', async () => {
    const file = path.join(work || tmpdir(), 'down.yml');
    await writeFile(
      file,
      `services:\n  app:\n    image: ${process.env.CP_BUSYBOX_IMAGE}\n    command: ['sleep', '1000']\n`,
    );
    const checked = await runStep('dist/check.js', {
      inputs: { 'compose-file': file, 'project-name': `${project}-never-up`, probes: 'app: true' },
    });
    expect(checked.exitCode).not.toBe(0);
    expect(checked.stdout).toMatch(
      /::error::the stack \(it must be up already\): project cp-e2e-sub-\d+-never-up has no containers; start it first/,
    );
  });
});
