import type { Report } from '../../src/report/schema.js';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { SshEngine } from '../support/ssh-engine.js';
import { cli, runOk } from '../volumes/fixtures.js';
import {
  Cleanup,
  composeFile,
  createUserVolume,
  digestOf,
  engine,
  projectVolumes,
  uniqueName,
} from './support.js';

// A remote engine over ssh (DOCKER_HOST=ssh://root@127.0.0.1:PORT), stood in for by an SSH server that
// runs `docker system dial-stdio` against the local socket: the CLI must archive, seed and digest through
// it (dockerode over ssh2, key from ssh-agent), and run a whole check (compose and the docker CLI over the
// system ssh client) exactly as through the socket.
const cleanup = new Cleanup();
const ssh = new SshEngine();
let dir: string;
let source: string;
let socketDigest: string;

function sshEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ssh.env };
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CONTEXT;
  return env;
}

beforeAll(async () => {
  await ssh.start();
  dir = await cleanup.tempDir();
  source = await createUserVolume(cleanup, 'sshsrc');
  socketDigest = await digestOf(source);
}, 60_000);

afterAll(async () => {
  await ssh.stop();
  await cleanup.run();
});

describe('DOCKER_HOST=ssh://root@127.0.0.1:PORT (a remote engine over ssh)', () => {
  it('archive, seed and digest give the same digest as through the socket', async () => {
    const env = sshEnv();
    const image = ['--helper-image', BUSYBOX_IMAGE];
    const file = path.join(dir, 'over-ssh.tar.zst');
    const before = { ...ssh.traffic };

    const archived = await cli(['archive', source, file, ...image], env);
    expect(archived.code, archived.stderr).toBe(0);
    expect(archived.stdout.trim().split('\n').at(-1)).toBe(socketDigest);

    const target = cleanup.volume(uniqueName('sshdst'));
    const seeded = await cli(['seed', target, file, ...image], env);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout.trim().split('\n').at(-1)).toBe(socketDigest);
    expect(await digestOf(target, env)).toBe(socketDigest);
    expect(await digestOf(target)).toBe(socketDigest);
    // Every command above logged in over ssh and dialled the engine through it.
    expect(ssh.traffic.logins - before.logins).toBeGreaterThanOrEqual(4);
    expect(ssh.traffic.dials - before.dials).toBeGreaterThanOrEqual(4);
  });

  it('a whole check (compose up, restarts, probes, fingerprints, teardown) runs over ssh', async () => {
    const project = cleanup.project(uniqueName('sshcheck'));
    const file = await composeFile(
      dir,
      [
        'services:',
        '  app:',
        `    image: ${BUSYBOX_IMAGE}`,
        "    command: ['sh', '-c', 'test -e /data/id || date +%s%N > /data/id; exec sleep 1000000']",
        '    stop_grace_period: 1s',
        '    volumes: [data:/data]',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
      'ssh-stack.yml',
    );
    const before = { ...ssh.traffic };
    const result = await cli(
      [
        'check',
        '-f',
        file,
        '--project-name',
        project,
        '--restart-modes',
        'restart,recreate',
        '--probes',
        'app: cat /data/id',
        '--helper-image',
        BUSYBOX_IMAGE,
        '--archive-to',
        'none',
        '--json',
      ],
      sshEnv(),
    );
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.result).toBe('passed');
    expect(report.modes.map((m) => [m.mode, m.passed])).toEqual([
      ['restart', true],
      ['recreate', true],
    ]);
    expect(ssh.traffic.dials - before.dials).toBeGreaterThan(5);
    // Torn down through ssh as well: nothing of the project is left on the engine.
    expect(await engine.listContainers([`com.docker.compose.project=${project}`])).toEqual([]);
    expect(await projectVolumes(project)).toEqual([]);
    await runOk('docker', ['info']);
  });
});
