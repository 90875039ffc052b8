import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/schema.js';
import { runStep } from '../support/runner.js';
import { BUSYBOX_IMAGE } from '../support/images.js';

const run = promisify(execFile);
const project = `cp-e2e-foreign-${process.pid}`;
let work = '';
let compose = '';

afterAll(async () => {
  if (compose)
    await run('docker', ['compose', '-f', compose, '-p', project, 'down', '-v']).catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the seed action with an offen-style encrypted backup (VOLUME: SOURCE#PATH)', () => {
  it('seeds the volume from backup/appdata of a gpg-encrypted tar.gz and says how it was verified', async () => {
    work = await mkdtemp(path.join(tmpdir(), 'cp-foreign-e2e-'));
    compose = path.join(work, 'compose.yml');
    await writeFile(
      compose,
      `services:\n  app:\n    image: ${BUSYBOX_IMAGE}\n    command: ['sleep', '1000']\n    volumes: ['appdata:/data']\nvolumes:\n  appdata: {}\n`,
    );
    // What offen/docker-volume-backup writes: the volumes under backup/<name>/, then gpg -c.
    const script =
      'mkdir -p /b/backup/appdata/sub /b/backup/other && echo order-17 > /b/backup/appdata/sub/orders && ' +
      'chown -R 70:70 /b/backup/appdata && echo no > /b/backup/other/x && tar czf /out/offen.tar.gz -C /b backup';
    await run('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${work}:/out`,
      BUSYBOX_IMAGE,
      'sh',
      '-c',
      script,
    ]);
    await writeFile(path.join(work, 'pass'), 'nightly secret\n');
    const home = path.join(work, 'gnupg');
    await run('mkdir', ['-m', '700', home]);
    const gpg = ['--homedir', home, '--batch', '--pinentry-mode', 'loopback'];
    await run('gpg', [
      ...gpg,
      '--passphrase-file',
      path.join(work, 'pass'),
      '-c',
      path.join(work, 'offen.tar.gz'),
    ]);
    await run('gpgconf', ['--homedir', home, '--kill', 'all']);

    const seeded = await runStep('dist/seed.js', {
      inputs: {
        'compose-file': compose,
        'project-name': project,
        seed: `appdata: path:${work}/offen.tar.gz.gpg#backup/appdata`,
        'decrypt-passphrase': 'nightly secret',
        'helper-image': BUSYBOX_IMAGE,
      },
    });
    expect(seeded.exitCode, seeded.stdout).toBe(0);
    expect(seeded.stdout).not.toContain('nightly secret');
    expect(seeded.summary).toContain('foreign archive: verified by read-back (no per-file manifest)');
    const report = JSON.parse(await readFile(seeded.outputs.report as string, 'utf8')) as Report;
    expect(report.seeds.map((s) => [s.volume, s.files, s.foreign])).toEqual([
      [`${project}_appdata`, 1, true],
    ]);
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      '-v',
      `${project}_appdata:/v`,
      BUSYBOX_IMAGE,
      'sh',
      '-c',
      'stat -c "%u %n" /v /v/sub/orders; cat /v/sub/orders; ls /v',
    ]);
    expect(stdout).toBe('70 /v\n70 /v/sub/orders\norder-17\nsub\n');
  });
});
