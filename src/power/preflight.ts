// crash-kind power-loss needs this machine to be the engine's host, root (or sudo -n), /dev/fuse, a free
// loop device and the ext4 tools. Checked before anything starts; every refusal says why and what to do.
import * as fs from 'node:fs';
import { Inputs } from '../constants.js';
import { engineOnThisHost } from '../docker/engine.js';
import { UserError } from '../errors.js';
import type { Privileged } from '../host/privileged.js';

const KIND = `${Inputs.CrashKind}: power-loss`;
const TOOLS = ['mkfs.ext4', 'losetup', 'mount', 'umount', 'findmnt', 'cp', 'du', 'sync'];

/** What the environment checks look at (injectable, so each refusal has a unit test). */
export interface PowerHost {
  dockerHost: string | undefined;
  isRoot: boolean;
  /** `sudo -n true` succeeded. */
  sudoWorks(): Promise<boolean>;
  hasFuse(): boolean;
  /** The first free loop device, or undefined. */
  freeLoop(): Promise<string | undefined>;
  missingTools(): Promise<string[]>;
}

export function realPowerHost(root: Privileged): PowerHost {
  return {
    dockerHost: process.env.DOCKER_HOST,
    isRoot: !root.viaSudo,
    sudoWorks: async () => (await root.run('true', [], { allowFailure: true })).exitCode === 0,
    hasFuse: () => {
      try {
        return fs.statSync('/dev/fuse').isCharacterDevice();
      } catch {
        return false;
      }
    },
    freeLoop: async () => {
      const found = await root.run('losetup', ['--find'], { allowFailure: true });
      return found.exitCode === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
    },
    missingTools: async () => {
      const found = await root.run(
        'sh',
        ['-c', 'for t; do command -v "$t" >/dev/null || echo "$t"; done', 'sh', ...TOOLS],
        {
          allowFailure: true,
        },
      );
      return found.stdout.split('\n').filter(Boolean);
    },
  };
}

/** Refuses with every reason at once (the first that blocks the others ends the list). */
export async function checkPowerHost(host: PowerHost): Promise<void> {
  const refusals: string[] = [];
  if (host.dockerHost && !engineOnThisHost(host.dockerHost)) {
    refusals.push(
      `the engine is remote (DOCKER_HOST=${host.dockerHost}): the power cut happens to the volumes' disk on the engine's own host; run the check on that host, or use crash-kind: process`,
    );
  }
  if (!host.isRoot && !(await host.sudoWorks())) {
    refusals.push(
      'it needs root for loop devices and mounts, and neither is this process root nor does `sudo -n true` work: run as root, or allow passwordless sudo (GitHub-hosted runners have it)',
    );
    throw refusal(refusals);
  }
  if (!host.hasFuse())
    refusals.push(
      '/dev/fuse is missing: load the fuse module, or run where FUSE exists (GitHub-hosted Linux runners have it)',
    );
  const missing = await host.missingTools();
  if (missing.length)
    refusals.push(
      `${missing.join(', ')} not found: install e2fsprogs, util-linux and coreutils (apt-get install e2fsprogs util-linux)`,
    );
  else if (!(await host.freeLoop()))
    refusals.push(
      'no free loop device (losetup --find found none): detach unused ones (losetup -D) or run where loop devices exist',
    );
  if (refusals.length) throw refusal(refusals);
}

function refusal(reasons: string[]): UserError {
  return new UserError(`${KIND} cannot run here: ${reasons.join('; ')}.`);
}

/** Free bytes where the images go (statfs of the first existing directory up the path). */
export function freeBytesAt(dir: string): number {
  let at = dir;
  while (!fs.existsSync(at)) at = at.slice(0, at.lastIndexOf('/')) || '/';
  const stats = fs.statfsSync(at);
  return stats.bavail * stats.bsize;
}

/** The image for a place holding `usedBytes`: room for the copy and what the rounds write, at least 1 GiB. */
export function imageBytesFor(usedBytes: number): number {
  const GiB = 1024 ** 3;
  return Math.max(GiB, Math.ceil((usedBytes * 3 + 256 * 1024 ** 2) / 4096) * 4096);
}

export function notEnoughDisk(needed: number, free: number, where: string): UserError {
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return new UserError(
    `${KIND} needs ${gib(needed)} free in ${where} for the copies of the protected places (sparse images of 3x their size, at least 1 GiB each) and has ${gib(free)}: free space there, or use crash-kind: process.`,
  );
}

export function sharedPlace(place: string, container: string, killed: string[]): UserError {
  return new UserError(
    `${KIND}: ${place} is also mounted by ${container}, which the rounds do not kill (they kill ${killed.join(', ')}); a power cut has no survivors: add its service to the load's targets or to 'services', or stop it.`,
  );
}

export function placeNotHere(place: string): UserError {
  return new UserError(
    `${KIND}: ${place} (a protected place) is not on this machine: the engine keeps its volumes elsewhere (a remote engine, Docker Desktop's VM, rootless Docker); run on the engine's host, or use crash-kind: process.`,
  );
}

export function nothingToProtect(services: string[]): UserError {
  return new UserError(
    `${KIND}: ${services.join(', ')} mount no writable volume or data bind, so a power cut would drop nothing: mount the data in a volume, or use crash-kind: process.`,
  );
}
