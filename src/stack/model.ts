import type { ComposeModel } from '../docker/compose.js';

export interface VolumeMount {
  service: string;
  target: string;
  readOnly: boolean;
}

/** A named volume of the stack: `key` as written in the compose file, `name` as the engine knows it. */
export interface NamedVolume {
  key: string;
  name: string;
  external: boolean;
  mounts: VolumeMount[];
}

/** What the stack keeps where: named volumes persist; binds live on the host; tmpfs never persists. */
export interface StackModel {
  project: string;
  services: string[];
  /** Service → image, as compose resolved it (for helper containers that need an image already present). */
  images: Record<string, string>;
  volumes: NamedVolume[];
  /** Bind mounts: `source` is a path on the engine's host. */
  binds: { service: string; source: string; target: string; readOnly: boolean }[];
  tmpfs: { service: string; target: string }[];
  /** Anonymous volumes declared in the compose file (image VOLUMEs are found on the containers after up). */
  anonymous: { service: string; target: string }[];
}

/**
 * Builds the model from `compose config --format json`. A mount `{type: volume, source: KEY}` maps to the
 * real name `volumes[KEY].name` (which honours `name:` overrides and the project prefix).
 */
export function stackModelFrom(config: ComposeModel, selected: string[] = []): StackModel {
  const services = Object.keys(config.services).filter((s) => selected.length === 0 || selected.includes(s));
  const declared = config.volumes ?? {};
  const volumes = new Map<string, NamedVolume>();
  for (const [key, spec] of Object.entries(declared)) {
    volumes.set(key, {
      key,
      name: spec.name ?? `${config.name}_${key}`,
      external: spec.external === true,
      mounts: [],
    });
  }
  const images: Record<string, string> = {};
  for (const service of services)
    images[service] = config.services[service]?.image ?? `${config.name}-${service}`;
  const model: StackModel = {
    project: config.name,
    services,
    images,
    volumes: [],
    binds: [],
    tmpfs: [],
    anonymous: [],
  };
  for (const service of services) {
    for (const mount of config.services[service]?.volumes ?? []) {
      if (mount.type === 'volume' && mount.source) {
        volumes
          .get(mount.source)
          ?.mounts.push({ service, target: mount.target, readOnly: mount.read_only === true });
      } else if (mount.type === 'volume') {
        model.anonymous.push({ service, target: mount.target });
      } else if (mount.type === 'bind') {
        model.binds.push({
          service,
          source: mount.source ?? '',
          target: mount.target,
          readOnly: mount.read_only === true,
        });
      } else if (mount.type === 'tmpfs') {
        model.tmpfs.push({ service, target: mount.target });
      }
    }
    for (const target of shortTmpfsTargets(config.services[service]?.tmpfs))
      model.tmpfs.push({ service, target });
  }
  // Volumes no selected service mounts are left out: profiles and `services` narrow the stack.
  model.volumes = [...volumes.values()].filter((v) => v.mounts.length > 0 || selected.length === 0);
  return model;
}

/** The paths of the short `tmpfs:` key (`/data` or `/data:size=1m`; a single string or a list). */
function shortTmpfsTargets(tmpfs: string[] | string | undefined): string[] {
  const entries = typeof tmpfs === 'string' ? [tmpfs] : (tmpfs ?? []);
  return entries.map((entry) => entry.split(':')[0] ?? entry).filter(Boolean);
}

/** Finds a volume by compose key or by full name; undefined when the stack has no such volume. */
export function findVolume(model: StackModel, keyOrName: string): NamedVolume | undefined {
  return model.volumes.find((v) => v.key === keyOrName) ?? model.volumes.find((v) => v.name === keyOrName);
}

/** Images of the services that mount a volume: candidates for its helper container. */
export function imagesMounting(model: StackModel, volume: NamedVolume): string[] {
  return [
    ...new Set(volume.mounts.map((m) => model.images[m.service]).filter((i): i is string => Boolean(i))),
  ];
}

/** A bind mount the stack keeps data in: archived beside the named volumes as `<name>.<ext>`. */
export interface DataBind {
  /** `bind-<service>-<target, / as ->`: the archive's base name (e.g. bind-app-var-lib-app). */
  name: string;
  /** The directory on the engine's host. */
  source: string;
  service: string;
  target: string;
}

/** Never data, whatever is mounted: the host's own directories (or what lies under them). */
const SYSTEM_TREES = ['/etc', '/proc', '/sys', '/dev', '/run', '/var/run', '/boot', '/usr', '/bin', '/sbin'];
const SYSTEM_TREES_MORE = ['/lib', '/lib32', '/lib64', '/var/lib/docker', '/var/log'];
/** Never data as a whole (a data directory below them is fine). */
const SYSTEM_ROOTS = ['/', '/home', '/root', '/tmp', '/var', '/opt', '/srv', '/mnt', '/media', '/var/lib'];

/**
 * The binds that hold data: writable ones (a service can write, so can lose, what is there — the same rule
 * the check reads them by), minus the host's system directories, sockets, and the compose project's own
 * directory or any folder above it (the project's source). Mount code read-only (`:ro`) to keep it out.
 * Each source once, named after its first mount.
 */
export function dataBinds(model: StackModel, projectDir: string): DataBind[] {
  const seen = new Set<string>();
  const binds: DataBind[] = [];
  for (const bind of model.binds) {
    const source = bind.source.replace(/\/+$/, '') || '/';
    if (bind.readOnly || !source.startsWith('/') || seen.has(source)) continue;
    if (isSystemPath(source) || isSameOrAbove(source, projectDir)) continue;
    seen.add(source);
    binds.push({
      name: bindArchiveName(bind.service, bind.target),
      source,
      service: bind.service,
      target: bind.target,
    });
  }
  return binds;
}

export function bindArchiveName(service: string, target: string): string {
  const path = target.replace(/^\/+|\/+$/g, '').replace(/[^A-Za-z0-9_.-]+/g, '-');
  return `bind-${service}-${path || 'root'}`;
}

function isSystemPath(source: string): boolean {
  if (SYSTEM_ROOTS.includes(source) || source.endsWith('.sock')) return true;
  return [...SYSTEM_TREES, ...SYSTEM_TREES_MORE].some(
    (tree) => source === tree || source.startsWith(`${tree}/`),
  );
}

/** `dir` is `projectDir` or one of its parents. */
function isSameOrAbove(dir: string, projectDir: string): boolean {
  const project = projectDir.replace(/\/+$/, '');
  return project === dir || project.startsWith(`${dir}/`);
}
