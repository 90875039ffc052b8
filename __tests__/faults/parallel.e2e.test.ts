import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import {
  Cleanup,
  NOTHING_LEFT,
  composeFile,
  createUserVolume,
  digestOf,
  reportOf,
  runAction,
  uniqueName,
} from './support.js';

// Three runs of the action at once on one engine, on the SAME compose file, told apart only by their
// project names (parallel jobs on one self-hosted runner). Nothing may cross over.
const cleanup = new Cleanup();
let dir: string;
let userVolume: string;
let userDigest: string;

beforeAll(async () => {
  dir = await cleanup.tempDir();
  userVolume = await createUserVolume(cleanup);
  userDigest = await digestOf(userVolume);
});

afterAll(() => cleanup.run());

describe('3 stacks in parallel on one engine', () => {
  it('all pass, each report names only its own volume and data, all are torn down', async () => {
    const file = await composeFile(
      dir,
      [
        'services:',
        '  app:',
        `    image: ${BUSYBOX_IMAGE}`,
        `    command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']`,
        '    stop_grace_period: 2s',
        '    volumes: [data:/data]',
        'volumes:',
        '  data:',
        '',
      ].join('\n'),
    );
    const projects = [1, 2, 3].map((i) => cleanup.project(uniqueName(`par${i}`)));
    const runs = await Promise.all(
      projects.map((project) =>
        runAction(project, {
          'compose-file': file,
          exec: `app: echo ${project} > /data/owner`,
          probes: 'app: cat /data/owner',
          'restart-modes': 'restart, recreate, down-up',
          'archive-to': `path:${path.join(dir, project)}`,
          'archive-format': 'tar.gz',
        }),
      ),
    );

    for (const [i, project] of projects.entries()) {
      const { main, post, leftovers } = runs[i] as (typeof runs)[number];
      expect(main.exitCode, main.stdout).toBe(0);
      expect(main.outputs.result).toBe('passed');
      const report = await reportOf(main);
      expect(report.project).toBe(project);
      expect(report.stack.volumes.map((v) => v.name)).toEqual([`${project}_data`]);
      expect((JSON.parse(main.outputs.volumes as string) as { name: string }[]).map((v) => v.name)).toEqual([
        `${project}_data`,
      ]);
      expect(report.modes.map((m) => [m.mode, m.passed])).toEqual([
        ['restart', true],
        ['recreate', true],
        ['down-up', true],
      ]);
      for (const mode of report.modes) {
        expect(mode.probes.map((p) => [p.before, p.after])).toEqual([[project, project]]);
      }
      const others = projects.filter((p) => p !== project);
      const text = JSON.stringify(report) + main.stdout + main.summary;
      for (const other of others) expect(text).not.toContain(other);
      expect(await readdir(path.join(dir, project))).toEqual(['data.tar.gz', 'report.json']);
      expect(post.exitCode, post.stdout).toBe(0);
      expect(leftovers).toEqual(NOTHING_LEFT);
    }
    expect(await digestOf(userVolume)).toBe(userDigest);
  });
});
