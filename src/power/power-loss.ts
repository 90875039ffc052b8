// crash-kind power-loss: the killed services' volumes and data binds run on lazy disks for the rounds, and
// each SIGKILL is followed by a power cut of those disks. The real places are never written: after the
// rounds the binds go and the services start again on the places as they were before the rounds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerDetails } from '../docker/engine.js';
import { errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import { serviceContainers, type ServiceContainer } from '../stack/lifecycle.js';
import { dataBinds } from '../stack/model.js';
import { projectDirOf, type Stack } from '../stack/stack.js';
import type { CrashStrategy } from '../types/crash-strategy.js';
import type { PowerCut, PowerLossSetup } from '../types/outcomes.js';
import type { ServerCommand } from './disk-client.js';
import { LazyDisk } from './lazy-disk.js';
import { cleanLeftovers, POWER_ROOT, PowerState } from './power-state.js';
import {
  freeBytesAt,
  imageBytesFor,
  nothingToProtect,
  notEnoughDisk,
  placeNotHere,
  sharedPlace,
} from './preflight.js';
import type { Privileged } from '../host/privileged.js';

/** Most unflushed bytes one disk holds in memory; past it the cut proves nothing (and says so). */
export const POWER_CAP_BYTES = 1024 ** 3;

/** A directory the killed services write, as the host sees it. */
export interface ProtectedPlace {
  name: string;
  path: string;
}

export interface PowerLossDeps {
  stack: Pick<Stack, 'engine' | 'compose' | 'model' | 'composeFiles'>;
  /** The services each round kills. */
  targets: string[];
  /** Starts the stopped targets and waits until the stack is healthy (the phase's own recovery). */
  startAndWait(what: string): Promise<void>;
  log: Log;
  root: Privileged;
  runId: string;
  server?: ServerCommand;
  /** Where the run's disks go (tests use their own). */
  rootDir?: string;
  /** Builds one disk (a test hands in a deliberately broken one). */
  createDisk?: typeof LazyDisk.create;
}

/** The disk server beside the bundle: dist/power-disk.js. */
export function bundledServer(): ServerCommand {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return { node: process.execPath, script: path.join(here, 'power-disk.js') };
}

export class PowerLossCrash implements CrashStrategy {
  readonly kind = 'power-loss';
  setup?: PowerLossSetup;
  private disks: LazyDisk[] = [];
  private state?: PowerState;
  private digests = new Map<string, string>();

  constructor(private readonly deps: PowerLossDeps) {}

  async setUp(): Promise<void> {
    const { deps } = this;
    const started = Date.now();
    const cleaned = await cleanLeftovers(deps.root, deps.rootDir);
    for (const line of cleaned) deps.log.warning(`Power loss: cleaned up after an earlier run: ${line}`);
    const killed = await this.killedContainers();
    const places = protectedPlaces(
      killed.map((c) => c.details),
      dataBinds(deps.stack.model, projectDirOf(deps.stack)).map((b) => b.source),
    );
    if (places.length === 0) throw nothingToProtect(deps.targets);
    await this.refuseShared(places, killed);
    const sizes = await this.sizesOf(places);
    const rootDir = deps.rootDir ?? POWER_ROOT;
    const needed = sizes.reduce((sum, used) => sum + imageBytesFor(used), 0);
    const free = freeBytesAt(rootDir);
    if (free < needed) throw notEnoughDisk(needed, free, rootDir);
    deps.log.info(
      `Power loss: stopping ${deps.targets.join(', ')} to copy ${places.map((p) => p.name).join(', ')} onto lazy disks`,
    );
    await deps.stack.compose.stop(deps.targets);
    // Once stopped: from here until the binds go, nothing may write the real places.
    for (const place of places) this.digests.set(place.path, await this.digestOf(place.path));
    this.state = PowerState.create(deps.runId, rootDir);
    this.setup = { places: [], setupMs: 0, cleaned };
    const create = deps.createDisk ?? LazyDisk.create.bind(LazyDisk);
    for (const [index, place] of places.entries()) {
      const disk = await create({
        root: deps.root,
        server: deps.server ?? bundledServer(),
        place: place.path,
        dir: this.state.diskDir(index),
        imageBytes: imageBytesFor(sizes[index] ?? 0),
        capBytes: POWER_CAP_BYTES,
        state: this.state,
      });
      this.disks.push(disk);
      this.setup.places.push({
        name: place.name,
        path: place.path,
        bytes: disk.copiedBytes,
        copyMs: disk.copyMs,
      });
    }
    await deps.startAndWait('after copying the protected places onto lazy disks');
    await this.checkServicesSeeDisks();
    this.setup.setupMs = Date.now() - started;
  }

  async beforeLoad(): Promise<void> {
    for (const disk of this.disks) await disk.beforeLoad();
  }

  async afterKill(): Promise<PowerCut> {
    const cut: PowerCut = { droppedBlocks: 0, discardedWrites: 0, overflowed: false, remountMs: 0 };
    const problems: string[] = [];
    for (const disk of this.disks) {
      const one = await disk.cut();
      cut.droppedBlocks += one.droppedBlocks;
      cut.discardedWrites += one.discardedWrites;
      cut.overflowed ||= one.overflowed;
      cut.remountMs += one.remountMs;
      if (one.canaryProblem) problems.push(`${disk.place}: ${one.canaryProblem}`);
    }
    return problems.length ? { ...cut, canaryProblem: problems.join('; ') } : cut;
  }

  async tearDown(aborted: boolean): Promise<void> {
    if (!this.state) return;
    const { deps } = this;
    const errors: string[] = [];
    await deps.stack.compose.stop(deps.targets).catch((e: unknown) => errors.push(errorMessage(e)));
    for (const disk of this.disks.splice(0).reverse()) {
      await disk.teardown().catch((e: unknown) => errors.push(`${disk.place}: ${errorMessage(e)}`));
    }
    if (errors.length === 0) this.state.remove();
    const changed: string[] = [];
    for (const [place, before] of this.digests) {
      const after = await this.digestOf(place).catch((e: unknown) => `unreadable: ${errorMessage(e)}`);
      if (after !== before) changed.push(place);
    }
    if (this.setup) {
      if (changed.length) this.setup.changed = changed;
      if (errors.length) this.setup.teardownError = errors.join('; ');
    }
    this.state = undefined;
    if (!aborted && errors.length === 0) await deps.startAndWait('after taking the lazy disks away');
  }

  private async killedContainers(): Promise<ServiceContainer[]> {
    const { engine, model } = this.deps.stack;
    return (await serviceContainers(engine, model.project)).filter((c) =>
      this.deps.targets.includes(c.service),
    );
  }

  /** No container the rounds do not kill may mount a protected place: it would outlive the power cut. */
  private async refuseShared(places: ProtectedPlace[], killed: ServiceContainer[]): Promise<void> {
    const { engine } = this.deps.stack;
    const killedIds = new Set(killed.map((c) => c.details.id));
    const paths = new Set(places.map((p) => p.path));
    for (const summary of await engine.listContainers([], false)) {
      if (killedIds.has(summary.id)) continue;
      const details = await engine.inspectContainer(summary.id).catch(() => undefined);
      const shared = details?.mounts.find((m) => paths.has(m.source));
      if (details && shared) throw sharedPlace(shared.source, details.name, this.deps.targets);
    }
  }

  private async sizesOf(places: ProtectedPlace[]): Promise<number[]> {
    const sizes: number[] = [];
    for (const place of places) {
      const found = await this.deps.root.run('du', ['-sb', '--', place.path], { allowFailure: true });
      if (found.exitCode !== 0) throw placeNotHere(place.path);
      sizes.push(Number(found.stdout.split(/\s/)[0]) || 0);
    }
    return sizes;
  }

  /** Every entry's path, type, mode, owner, size, times and link target: any write changes it. */
  private digestOf(place: string): Promise<string> {
    return this.deps.root.digestOf('find', [place, '-printf', '%P\\0%y %m %U %G %s %T@ %C@ %n %l\\0']);
  }

  /** Each killed container must see its places on the lazy disks: else the cut would drop nothing they wrote. */
  private async checkServicesSeeDisks(): Promise<void> {
    const { root } = this.deps;
    const device = async (file: string) =>
      (await root.run('stat', ['-c', '%d', '--', file], { allowFailure: true })).stdout.trim();
    const diskDevices = new Map<string, string>();
    for (const disk of this.disks) diskDevices.set(disk.place, await device(disk.fsMount));
    for (const { details } of await this.killedContainers()) {
      for (const mount of details.mounts) {
        const expected = diskDevices.get(mount.source);
        if (!expected || !details.pid) continue;
        const seen = await device(`/proc/${details.pid}/root${mount.destination}`);
        if (seen !== expected) {
          throw new Error(
            `${details.name} does not see the lazy disk at ${mount.destination} (device ${seen || '?'}, expected ${expected}): the engine does not share this host's mounts, so a power cut would test nothing`,
          );
        }
      }
    }
  }
}

/**
 * The places the killed containers write: their writable volumes (named or anonymous, by their host
 * directory) and their writable binds of data directories (`dataSources`, dataBinds' rule). Each once.
 */
export function protectedPlaces(containers: ContainerDetails[], dataSources: string[]): ProtectedPlace[] {
  const places = new Map<string, ProtectedPlace>();
  for (const container of containers) {
    for (const mount of container.mounts) {
      if (!mount.rw || places.has(mount.source)) continue;
      if (mount.type === 'volume') {
        const service = container.labels['com.docker.compose.service'] ?? container.name;
        const name =
          mount.name && !/^[0-9a-f]{64}$/.test(mount.name)
            ? `volume ${mount.name}`
            : `anonymous volume at ${service}:${mount.destination}`;
        places.set(mount.source, { name, path: mount.source });
      } else if (
        mount.type === 'bind' &&
        dataSources.includes(mount.source.replace(/\/+$/, '')) &&
        isDirectory(mount.source)
      ) {
        places.set(mount.source, { name: `bind ${mount.source}`, path: mount.source });
      }
    }
  }
  return [...places.values()];
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}
