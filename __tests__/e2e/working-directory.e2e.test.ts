import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.js';
import type { Report } from '../../src/report/schema.js';
import { runStep } from '../support/runner.js';
import '../support/images.js';

// A checkout whose stack lives in db/ (the golden-cache layout): db/compose.yml, db/load-fixtures.sh.
const engine = new DockerEngine();
let workspace: string;
const projects: string[] = [];

const COMPOSE = `services:
  app:
    image: \${CP_BUSYBOX_IMAGE:-local/busybox:latest}
    command: ['sh', '-c', 'exec sleep 1000000']
    stop_grace_period: 1s
    volumes:
      - appdata:/data
volumes:
  appdata:
`;
// Runs on the runner: records where it ran, and writes into the volume through compose.
const LOAD_FIXTURES = `#!/usr/bin/env bash
set -e
pwd > ran-in.txt
docker compose exec -T app sh -c 'echo "$1" > /data/fixture' sh "fixture from $(pwd)"
`;
const PROBE = 'app: cat /data/fixture';

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'cp-wd-'));
  await mkdir(path.join(workspace, 'db'));
  await writeFile(path.join(workspace, 'db/compose.yml'), COMPOSE);
  await writeFile(path.join(workspace, 'db/load-fixtures.sh'), LOAD_FIXTURES);
  await chmod(path.join(workspace, 'db/load-fixtures.sh'), 0o755);
});

afterAll(async () => {
  for (const project of projects) {
    for (const volume of await engine.listVolumes([`com.docker.compose.project=${project}`]))
      await engine.removeVolume(volume.name).catch(() => undefined);
  }
  await rm(workspace, { recursive: true, force: true });
});

/** main, then post (teardown), in the workspace; the report. */
async function runAction(project: string, inputs: Record<string, string>) {
  projects.push(project);
  const main = await runStep('dist/main.js', {
    cwd: workspace,
    inputs: { 'project-name': project, 'restart-modes': 'recreate', ...inputs },
  });
  await runStep('dist/post.js', { cwd: workspace, state: main.state });
  expect(main.exitCode, main.stdout).toBe(0);
  return {
    main,
    report: JSON.parse(await readFile(main.outputs.report as string, 'utf8')) as Report,
  };
}

describe('working-directory: where host commands run and relative paths resolve', () => {
  it('defaults to the workspace: run ./db/load-fixtures.sh with compose-file db/compose.yml', async () => {
    const project = `cp-e2e-wd-default-${process.pid}`;
    const { main, report } = await runAction(project, {
      'compose-file': 'db/compose.yml',
      run: './db/load-fixtures.sh',
      probes: `${PROBE}\nhost: cat ran-in.txt`,
      'archive-to': 'path:archives',
      'archive-format': 'tar.gz',
    });
    expect(report.result).toBe('passed');
    expect(report.schemaVersion).toBe(1);
    expect(main.outputs['project-name']).toBe(project);
    expect((await readFile(path.join(workspace, 'ran-in.txt'), 'utf8')).trim()).toBe(workspace);
    expect(await readdir(path.join(workspace, 'archives'))).toContain('appdata.tar.gz');
  });

  it('working-directory: db runs ./load-fixtures.sh there, and seeds from a path relative to it', async () => {
    const project = `cp-e2e-wd-db-${process.pid}`;
    const { report } = await runAction(project, {
      'working-directory': 'db',
      'compose-file': 'compose.yml',
      seed: 'appdata: path:../archives/appdata.tar.gz',
      probes: PROBE,
      run: './load-fixtures.sh',
      'archive-to': 'path:archives',
      'archive-format': 'tar.gz',
    });
    expect(report.result).toBe('passed');
    expect(report.seeds.map((s) => s.volume)).toEqual([`${project}_appdata`]);
    const db = path.join(workspace, 'db');
    expect((await readFile(path.join(db, 'ran-in.txt'), 'utf8')).trim()).toBe(db);
    expect(await readdir(path.join(db, 'archives'))).toContain('appdata.tar.gz');
  });

  it('a working-directory that is not a directory fails before anything starts', async () => {
    const main = await runStep('dist/main.js', {
      cwd: workspace,
      inputs: { 'working-directory': 'nowhere', 'compose-file': 'db/compose.yml' },
    });
    expect(main.exitCode).toBe(1);
    expect(main.stdout).toContain(
      `::error::Input 'working-directory': ${path.join(workspace, 'nowhere')} is not a directory`,
    );
  });
});
