import { describe, expect, it } from 'vitest';
import type { ContainerDetails } from '../../src/docker/engine.js';
import { UserError } from '../../src/errors.js';
import { protectedPlaces } from '../../src/power/power-loss.js';
import { checkPowerHost, imageBytesFor, type PowerHost } from '../../src/power/preflight.js';

function host(overrides: Partial<PowerHost> = {}): PowerHost {
  return {
    dockerHost: undefined,
    isRoot: false,
    sudoWorks: async () => true,
    hasFuse: () => true,
    freeLoop: async () => '/dev/loop3',
    missingTools: async () => [],
    ...overrides,
  };
}

async function refusal(overrides: Partial<PowerHost>): Promise<string> {
  const error = await checkPowerHost(host(overrides)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return (error as UserError).message;
}

describe('power-loss preflight: each refusal says why and what to do', () => {
  it('a host with sudo, FUSE, the tools and a free loop device passes; so does root without sudo', async () => {
    await expect(checkPowerHost(host())).resolves.toBeUndefined();
    await expect(
      checkPowerHost(host({ isRoot: true, sudoWorks: async () => false })),
    ).resolves.toBeUndefined();
    await expect(
      checkPowerHost(host({ dockerHost: 'unix:///run/user/docker.sock' })),
    ).resolves.toBeUndefined();
  });

  it('a remote engine', async () => {
    expect(await refusal({ dockerHost: 'tcp://10.0.0.5:2376' })).toMatch(
      /^crash-kind: power-loss cannot run here: the engine is remote \(DOCKER_HOST=tcp:\/\/10\.0\.0\.5:2376\).*use crash-kind: process\.$/,
    );
  });

  it('neither root nor sudo -n', async () => {
    expect(await refusal({ sudoWorks: async () => false })).toMatch(
      /neither is this process root nor does `sudo -n true` work: run as root, or allow passwordless sudo/,
    );
  });

  it('no /dev/fuse', async () => {
    expect(await refusal({ hasFuse: () => false })).toMatch(/\/dev\/fuse is missing: load the fuse module/);
  });

  it('no free loop device', async () => {
    expect(await refusal({ freeLoop: async () => undefined })).toMatch(
      /no free loop device \(losetup --find found none\)/,
    );
  });

  it('missing tools, named, with the packages to install', async () => {
    expect(await refusal({ missingTools: async () => ['mkfs.ext4'] })).toMatch(
      /mkfs\.ext4 not found: install e2fsprogs, util-linux and coreutils/,
    );
  });

  it('every reason at once', async () => {
    const message = await refusal({ dockerHost: 'ssh://ci@box', hasFuse: () => false });
    expect(message).toContain('the engine is remote');
    expect(message).toContain('/dev/fuse is missing');
  });

  it('images: 3x the data plus room, at least 1 GiB, whole 4 KiB blocks', () => {
    expect(imageBytesFor(0)).toBe(1024 ** 3);
    expect(imageBytesFor(2 * 1024 ** 3)).toBe(6 * 1024 ** 3 + 256 * 1024 ** 2);
    expect(imageBytesFor(1024 ** 3 + 1) % 4096).toBe(0);
  });
});

function container(mounts: ContainerDetails['mounts'], service = 'db'): ContainerDetails {
  return {
    id: service,
    name: `p-${service}-1`,
    image: 'x',
    state: 'running',
    labels: { 'com.docker.compose.service': service },
    running: true,
    restarting: false,
    exitCode: 0,
    restartCount: 0,
    startedAt: '',
    mounts,
    ports: [],
  };
}

describe('protectedPlaces: what a power cut covers', () => {
  it('writable named and anonymous volumes and data binds, each once; read-only mounts and other binds are left out', () => {
    const anon = 'a'.repeat(64);
    const places = protectedPlaces(
      [
        container([
          {
            type: 'volume',
            name: 'p_pgdata',
            source: '/var/lib/docker/volumes/p_pgdata/_data',
            destination: '/data',
            rw: true,
          },
          {
            type: 'volume',
            name: anon,
            source: `/var/lib/docker/volumes/${anon}/_data`,
            destination: '/scratch',
            rw: true,
          },
          {
            type: 'volume',
            name: 'p_conf',
            source: '/var/lib/docker/volumes/p_conf/_data',
            destination: '/conf',
            rw: false,
          },
          { type: 'bind', source: '/tmp', destination: '/uploads', rw: true },
          { type: 'bind', source: '/var/run/docker.sock', destination: '/var/run/docker.sock', rw: true },
        ]),
        container(
          [
            {
              type: 'volume',
              name: 'p_pgdata',
              source: '/var/lib/docker/volumes/p_pgdata/_data',
              destination: '/d',
              rw: true,
            },
          ],
          'worker',
        ),
      ],
      ['/tmp'],
    );
    expect(places).toEqual([
      { name: 'volume p_pgdata', path: '/var/lib/docker/volumes/p_pgdata/_data' },
      { name: 'anonymous volume at db:/scratch', path: `/var/lib/docker/volumes/${anon}/_data` },
      { name: 'bind /tmp', path: '/tmp' },
    ]);
  });
});
