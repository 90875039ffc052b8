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
