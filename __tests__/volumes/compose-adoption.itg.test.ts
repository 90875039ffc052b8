import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveVolume } from '../../src/volumes/archive-volume.js';
import { seedVolume } from '../../src/volumes/seed-volume.js';
import { BUSYBOX_IMAGE } from '../support/images.js';
import {
  RUN_ID,
  Resources,
  cli,
  createVolume,
  engine,
  inVolume,
  run,
  runOk,
  uniqueName,
} from './fixtures.js';

const resources = new Resources();
const NOT_CREATED_BY_COMPOSE = /already exists but was not created by Docker Compose/;
let archive: string;
let composeFile: string;

beforeAll(async () => {
  const dir = await resources.tempDir();
  const source = await createVolume(resources);
  await inVolume(source, "printf 'seeded-marker\\n' > /v/marker && chown 999:999 /v/marker /v");
  archive = path.join(dir, 'data.tar.gz');
  await archiveVolume(source, archive, {
    engine,
    helperImage: BUSYBOX_IMAGE,
    runLabel: RUN_ID,
    consistency: 'live',
  });
  composeFile = path.join(dir, 'compose.yml');
  await writeFile(
    composeFile,
    [
      'services:',
      '  app:',
      `    image: ${BUSYBOX_IMAGE}`,
      "    command: ['sleep', '600']",
      '    stop_signal: SIGKILL',
      '    volumes:',
      '      - data:/data',
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'),
  );
});

afterAll(() => resources.cleanup());

/** Seeds `<project>_data`, then `compose up`; returns compose's stderr and what the container sees. */
async function seedAndUp(compose: boolean) {
  const project = uniqueName(compose ? 'adopt' : 'nolabel');
  const volume = `${project}_data`;
  resources.projects.push({ name: project, file: composeFile });
  resources.volumes.add(volume);
  await seedVolume(volume, archive, {
    engine,
    helperImage: BUSYBOX_IMAGE,
    runLabel: RUN_ID,
    overwrite: false,
    compose: compose ? { project, key: 'data' } : undefined,
  });
  const up = await runOk('docker', ['compose', '-p', project, '-f', composeFile, 'up', '-d']);
  const exec = ['compose', '-p', project, '-f', composeFile, 'exec', '-T', 'app'];
  const seen = await runOk('docker', [...exec, 'sh', '-c', "cat /data/marker && stat -c '%u %a' /data"]);
  const info = await engine.inspectVolume(volume);
  return { project, volume, up, seen: seen.stdout, labels: info?.labels ?? {} };
}

describe('a seeded volume and docker compose up', () => {
  it('is adopted silently when it carries the compose labels, and the container sees its data', async () => {
    const { project, up, seen, labels } = await seedAndUp(true);
    expect(up.stderr).not.toMatch(NOT_CREATED_BY_COMPOSE);
    expect(up.stderr).not.toMatch(/warn/i);
    expect(seen).toBe('seeded-marker\n999 755\n');
    expect(labels['com.docker.compose.project']).toBe(project);
    expect(labels['com.docker.compose.volume']).toBe('data');
    expect(labels['com.docker.compose.config-hash']).toBeUndefined();
  });

  it('without the labels compose warns (the check above can fail), yet still uses the data', async () => {
    const { up, seen } = await seedAndUp(false);
    expect(up.stderr).toMatch(NOT_CREATED_BY_COMPOSE);
    expect(seen).toBe('seeded-marker\n999 755\n');
  });

  it('compose down -v removes the adopted volume like one compose created', async () => {
    const { project, volume } = await seedAndUp(true);
    const down = await run('docker', ['compose', '-p', project, 'down', '-v', '-t', '1']);
    expect(down.code, down.stderr).toBe(0);
    expect(await engine.inspectVolume(volume)).toBeUndefined();
  });
});

describe('the CLI: seed --project P --key K', () => {
  it('labels the volume for compose: up adopts it silently and the container sees the data', async () => {
    const project = uniqueName('cliadopt');
    const volume = `${project}_data`;
    resources.projects.push({ name: project, file: composeFile });
    resources.volumes.add(volume);
    const seeded = await cli([
      'seed',
      volume,
      archive,
      '--project',
      project,
      '--key',
      'data',
      '--helper-image',
      BUSYBOX_IMAGE,
    ]);
    expect(seeded.code, seeded.stderr).toBe(0);
    const labels = (await engine.inspectVolume(volume))?.labels ?? {};
    expect(labels['com.docker.compose.project']).toBe(project);
    expect(labels['com.docker.compose.volume']).toBe('data');
    const up = await runOk('docker', ['compose', '-p', project, '-f', composeFile, 'up', '-d']);
    expect(up.stderr).not.toMatch(NOT_CREATED_BY_COMPOSE);
    const seen = await runOk('docker', [
      'compose',
      '-p',
      project,
      '-f',
      composeFile,
      'exec',
      '-T',
      'app',
      'cat',
      '/data/marker',
    ]);
    expect(seen.stdout).toBe('seeded-marker\n');
  });

  it('one without the other is a usage error, and nothing is created', async () => {
    const volume = uniqueName('halfflags');
    resources.volumes.add(volume);
    const result = await cli(['seed', volume, archive, '--project', 'shop']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--project and --key go together');
    expect(await engine.inspectVolume(volume)).toBeUndefined();
  });

  it('a project name compose would refuse is refused with the name it would take', async () => {
    const result = await cli([
      'seed',
      uniqueName('badproj'),
      archive,
      '--project',
      'My Shop',
      '--key',
      'data',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--project "My Shop" is not a compose project name');
  });
});
