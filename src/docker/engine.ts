import { PassThrough, Readable, finished } from 'node:stream';
import Docker from 'dockerode';
import { UserError, errorMessage } from '../errors.js';

export interface VolumeInfo {
  name: string;
  driver: string;
  labels: Record<string, string>;
  mountpoint: string;
  /** Driver options (`device` for a bind-backed local volume). */
  options: Record<string, string>;
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: string;
  labels: Record<string, string>;
}

export interface ContainerDetails extends ContainerSummary {
  running: boolean;
  restarting: boolean;
  exitCode: number;
  health?: string;
  restartCount: number;
  /** ISO time of the last start, as the engine reports it. */
  startedAt: string;
  /** Its main process on the engine's host (0 when not running). */
  pid?: number;
  mounts: { type: string; name?: string; source: string; destination: string; rw: boolean }[];
  ports: { containerPort: string; hostIp: string; hostPort: string }[];
}

/** One change in a container's writable layer (GET /containers/{id}/changes). */
export interface LayerChange {
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

/** A volume (by name) or a bind mount (a path on the engine's host), at an absolute path in the helper. */
/** `createSource`: a missing bind source directory is created on the engine's host (as the legacy Binds do). */
export type HelperMount = ({ volume: string } | { bind: string; createSource?: boolean }) & {
  target: string;
  readOnly?: boolean;
};

/** A created, never-started container that mounts volumes so their contents can be read and written. */
export interface HelperSpec {
  image: string;
  /** A fixed container name: creating a second container of that name fails with 409 (a lease). */
  name?: string;
  mounts: HelperMount[];
  labels: Record<string, string>;
  /** Command for helpers that are started (emptying a volume); omitted for archive-only helpers. */
  cmd?: string[];
}

/**
 * What the rest of the code may ask of the engine: DockerEngine's public methods. Phases and checks take an
 * Engine, so unit tests hand them a fake; only the entry points construct a DockerEngine.
 */
export type Engine = { [Method in keyof DockerEngine]: DockerEngine[Method] };

/**
 * The one client of the Docker Engine API. Honours DOCKER_HOST (unix, tcp, ssh) through docker-modem, so
 * everything that streams volume data also works against a remote engine.
 */
export class DockerEngine {
  constructor(private readonly docker: Docker = new Docker()) {}

  /** Fails with one actionable line when the daemon cannot be reached. */
  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw new UserError(
        `Docker daemon unreachable at ${engineAddress()} (${errorMessage(error)}): start dockerd or set DOCKER_HOST to a reachable engine.`,
      );
    }
  }

  /** The engine's clock (its SystemTime), in milliseconds since the epoch. */
  async systemTime(): Promise<number> {
    const info = (await this.docker.info()) as { SystemTime?: string };
    const time = Date.parse(info.SystemTime ?? '');
    if (!Number.isFinite(time))
      throw new Error(`the engine reported no usable SystemTime (${info.SystemTime})`);
    return time;
  }

  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    try {
      const v = await this.docker.getVolume(name).inspect();
      return volumeInfoOf(v);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await this.docker.createVolume({ Name: name, Labels: labels });
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async listVolumes(labelFilters: string[]): Promise<VolumeInfo[]> {
    const result = await this.docker.listVolumes({ filters: { label: labelFilters } });
    return (result.Volumes ?? []).map(volumeInfoOf);
  }

  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** Pulls an image and waits for the pull to finish. */
  async pullImage(ref: string): Promise<void> {
    const stream = (await this.docker.pull(ref)) as Readable;
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
    );
  }

  /** Containers (running or not) that mount the volume. */
  async containersUsingVolume(volume: string): Promise<ContainerSummary[]> {
    const list = await this.docker.listContainers({ all: true, filters: { volume: [volume] } });
    return list.map(summarizeContainer);
  }

  async pauseContainer(id: string): Promise<void> {
    await this.docker.getContainer(id).pause();
  }

  async unpauseContainer(id: string): Promise<void> {
    await this.docker.getContainer(id).unpause();
  }

  async listContainers(labelFilters: string[], all = true): Promise<ContainerSummary[]> {
    const list = await this.docker.listContainers({ all, filters: { label: labelFilters } });
    return list.map(summarizeContainer);
  }

  async inspectContainer(id: string): Promise<ContainerDetails> {
    const c = await this.docker.getContainer(id).inspect();
    const ports = Object.entries(c.NetworkSettings?.Ports ?? {}).flatMap(([containerPort, bindings]) =>
      (bindings ?? []).map((b) => ({ containerPort, hostIp: b.HostIp, hostPort: b.HostPort })),
    );
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      image: c.Config.Image,
      state: c.State.Status,
      labels: c.Config.Labels ?? {},
      running: c.State.Running,
      restarting: c.State.Restarting,
      exitCode: c.State.ExitCode,
      health: c.State.Health?.Status,
      restartCount: c.RestartCount,
      startedAt: c.State.StartedAt,
      pid: c.State.Pid,
      mounts: c.Mounts.map((m) => ({
        type: m.Type ?? 'volume',
        name: m.Name,
        source: m.Source,
        destination: m.Destination,
        rw: m.RW,
      })),
      ports,
    };
  }

  /** Files written to the container's writable layer; never lists files inside volumes or bind mounts. */
  async layerChanges(id: string): Promise<LayerChange[]> {
    // An unchanged layer is the JSON `null`, which dockerode hands back as the raw Buffer "null".
    const raw: unknown = await this.docker.getContainer(id).changes();
    const changes = (Array.isArray(raw) ? raw : []) as { Path: string; Kind: number }[];
    const kinds = ['modified', 'added', 'deleted'] as const;
    return changes.map((c) => ({ path: c.Path, kind: kinds[c.Kind] ?? 'modified' }));
  }

  /**
   * The command lines of exec processes (docker exec, compose exec) still running in the container, but
   * its healthcheck's (the engine runs those as execs too).
   */
  async runningExecs(id: string): Promise<string[]> {
    const { ExecIDs, Config } = await this.docker.getContainer(id).inspect();
    const health = healthcheckCommand(Config.Healthcheck?.Test);
    const execs = await Promise.all(
      (ExecIDs ?? []).map(
        (exec) =>
          this.docker
            .getExec(exec)
            .inspect()
            .catch(() => undefined), // ended and removed between the two calls
      ),
    );
    return execs
      .filter((exec) => exec?.Running === true)
      .map((exec) => [exec?.ProcessConfig.entrypoint, ...(exec?.ProcessConfig.arguments ?? [])].join(' '))
      .filter((command) => command !== health);
  }

  /** The container's log (stdout and stderr, demultiplexed), as a stream: logs can be gigabytes. */
  async logStream(id: string, tail?: number): Promise<Readable> {
    const info = await this.docker.getContainer(id).inspect();
    // dockerode only streams with follow=true, which never ends for a running container: dial directly.
    const source = await new Promise<Readable>((resolve, reject) =>
      this.docker.modem.dial(
        {
          path: `/containers/${id}/logs?`,
          method: 'GET',
          isStream: true,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
          options: { stdout: true, stderr: true, follow: false, tail: tail ?? 'all' },
        },
        (error, stream) => (error ? reject(error) : resolve(stream as Readable)),
      ),
    );
    if (info.Config.Tty) return source;
    const out = new PassThrough();
    this.docker.modem.demuxStream(source, out, out);
    source.on('end', () => out.end());
    source.on('error', (error: Error) => out.destroy(error));
    return out;
  }

  async createHelper(spec: HelperSpec): Promise<HelperContainer> {
    const container = await this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: spec.cmd ?? ['true'],
      Entrypoint: spec.cmd ? [] : undefined,
      Labels: spec.labels,
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        Mounts: spec.mounts.filter((m) => !createsSource(m)).map(helperMountSettings),
        Binds: spec.mounts
          .filter(createsSource)
          .map((m) => `${m.bind}:${m.target}${m.readOnly ? ':ro' : ''}`),
      },
    });
    return new HelperContainer(container);
  }

  async removeContainer(id: string): Promise<void> {
    await removeWithAnonymousVolumes(this.docker.getContainer(id));
  }

  async stopContainer(id: string, timeoutSeconds = 10): Promise<void> {
    await this.docker.getContainer(id).stop({ t: timeoutSeconds });
  }

  async startContainer(id: string): Promise<void> {
    await this.docker.getContainer(id).start();
  }
}

/** A helper container; remove() it in a finally. */
export class HelperContainer {
  constructor(private readonly container: Docker.Container) {}

  get id(): string {
    return this.container.id;
  }

  /** A tar stream of `path` (entries named `<basename>/...`), straight from the engine. */
  async getArchive(path: string): Promise<Readable> {
    return (await this.container.getArchive({ path })) as unknown as Readable;
  }

  /**
   * Writes a tar stream into `path` (which must exist); resolves when the engine has extracted it all. A tar
   * that fails or closes early aborts the request: piped into it, it would leave the engine waiting for the
   * rest of the body, and the caller waiting for the engine, for ever.
   */
  async putArchive(tar: Readable, path: string): Promise<void> {
    if (tar.destroyed) throw tar.errored ?? new Error('the tar stream was closed before it was sent');
    const abort = new AbortController();
    const stopWatching = finished(tar, (error) => {
      if (error) abort.abort(error);
    });
    try {
      await this.container.putArchive(tar, { path, abortSignal: abort.signal });
    } catch (error) {
      throw abort.signal.aborted ? abort.signal.reason : error;
    } finally {
      stopWatching();
    }
  }

  /** Runs the helper to completion (for commands such as emptying a volume) and returns its exit code. */
  async runToCompletion(): Promise<{ exitCode: number; output: string }> {
    await this.container.start();
    const result = (await this.container.wait()) as { StatusCode: number };
    const logs = (await this.container.logs({
      stdout: true,
      stderr: true,
      follow: false,
    })) as unknown as Buffer;
    return { exitCode: result.StatusCode, output: stripLogFraming(logs) };
  }

  async remove(): Promise<void> {
    await removeWithAnonymousVolumes(this.container);
  }
}

function volumeInfoOf(v: Docker.VolumeInspectInfo): VolumeInfo {
  const options = (v as { Options?: Record<string, string> | null }).Options ?? {};
  return { name: v.Name, driver: v.Driver, labels: v.Labels ?? {}, mountpoint: v.Mountpoint, options };
}

function createsSource(
  m: HelperMount,
): m is { bind: string; createSource: true; target: string; readOnly?: boolean } {
  return 'bind' in m && m.createSource === true;
}

function helperMountSettings(m: HelperMount): Docker.MountSettings {
  const common = { Target: m.target, ReadOnly: m.readOnly ?? false };
  // A bind source must exist already (Mounts, unlike Binds, never creates it on the engine's host).
  if ('bind' in m) return { ...common, Type: 'bind', Source: m.bind };
  // Never copy the helper image's files into an empty volume.
  return {
    ...common,
    Type: 'volume',
    Source: m.volume,
    VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'],
  };
}

function summarizeContainer(c: Docker.ContainerInfo): ContainerSummary {
  return {
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    image: c.Image,
    state: c.State,
    labels: c.Labels ?? {},
  };
}

/**
 * Removes a container (gone already is fine) with its anonymous volumes: a helper made from a service image
 * (postgres has `VOLUME /var/lib/postgresql/data`) gets one. Named volumes are never removed by `v`.
 */
async function removeWithAnonymousVolumes(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
}

/** The HTTP status of a dockerode error, if any. */
export function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error
    ? Number((error as { statusCode: unknown }).statusCode)
    : undefined;
}

/** What the engine answered to a failed request (dockerode keeps its JSON body), without dockerode's wrapping. */
export function engineRefusal(error: unknown): { status: number; message: string } | undefined {
  const status = statusOf(error);
  if (status === undefined || Number.isNaN(status)) return undefined;
  const json = (error as { json?: unknown }).json;
  const body =
    typeof json === 'object' && json !== null && 'message' in json
      ? String((json as { message: unknown }).message)
      : errorMessage(error).replace(/^\(HTTP code \d+\) [^-]*- /, '');
  return { status, message: body.trim() };
}

/** Docker's multiplexed log frames have an 8-byte header; keep the text only. */
function stripLogFraming(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Where the engine API is, as messages name it. */
export function engineAddress(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** Whether the engine is on this machine (a unix socket): its volumes' directories and disks are here. */
export function engineOnThisHost(address = engineAddress()): boolean {
  return address.startsWith('unix://');
}

/**
 * The engine refusing connections after the run has started (it stopped, or is restarting): a Node
 * connect error on the engine's own socket or port, worded as one actionable line. Anything else,
 * including resets on other hosts' connections (stores), is left as it is.
 */
export function engineLostError(error: unknown): UserError | undefined {
  if (error instanceof UserError || typeof error !== 'object' || error === null) return undefined;
  const { code, syscall, address, port } = error as {
    code?: unknown;
    syscall?: unknown;
    address?: unknown;
    port?: unknown;
  };
  if (syscall !== 'connect' || (code !== 'ECONNREFUSED' && code !== 'ENOENT')) return undefined;
  const host = engineAddress();
  const target = typeof port === 'number' ? `:${port}` : String(address ?? '');
  if (target === '' || !host.includes(target)) return undefined;
  return new UserError(
    `Lost the Docker engine at ${host} during the run (${errorMessage(error)}): it stopped or is restarting. Start it again; the post step then tears the stack down.`,
    { cause: error },
  );
}

/** The command line the engine execs for a healthcheck test (CMD-SHELL runs through /bin/sh -c). */
function healthcheckCommand(test: string[] | undefined): string | undefined {
  if (!test || test.length < 2) return undefined;
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')].join(' ');
  return test[0] === 'CMD' ? test.slice(1).join(' ') : undefined;
}
