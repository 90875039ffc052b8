import { Readable } from 'node:stream';
import type { ContainerDetails, Engine, LayerChange } from '../../src/docker/engine.js';
import { COMPOSE_ONEOFF_LABEL, COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL } from '../../src/constants.js';

/** An Engine whose methods are the given ones; any other call fails the test, naming the method. */
export function fakeEngine(methods: Partial<Engine>): Engine {
  return new Proxy(methods, {
    get(target, name: string) {
      const method = (target as Record<string, unknown>)[name];
      if (method !== undefined) return method;
      return () => {
        throw new Error(`fake engine: ${name} was called but not faked`);
      };
    },
  }) as Engine;
}

/** A running, healthy service container of project `project`. */
export function serviceContainer(
  project: string,
  service: string,
  overrides: Partial<ContainerDetails> = {},
): ContainerDetails {
  return {
    id: `${service}-id`,
    name: `${project}-${service}-1`,
    image: `${service}:latest`,
    state: 'running',
    labels: {
      [COMPOSE_PROJECT_LABEL]: project,
      [COMPOSE_SERVICE_LABEL]: service,
      [COMPOSE_ONEOFF_LABEL]: 'False',
    },
    running: true,
    restarting: false,
    exitCode: 0,
    restartCount: 0,
    startedAt: '2026-12-01T10:00:00.000Z',
    mounts: [],
    ports: [],
    ...overrides,
  };
}

/** An engine holding these containers: list, inspect, layer changes and logs, nothing else. */
export function engineWith(
  containers: ContainerDetails[],
  changes: Record<string, LayerChange[]> = {},
  extra: Partial<Engine> = {},
): Engine {
  return fakeEngine({
    listContainers: async () => containers,
    inspectContainer: async (id) => {
      const found = containers.find((c) => c.id === id);
      if (!found) throw new Error(`no container ${id}`);
      return found;
    },
    layerChanges: async (id) => changes[id] ?? [],
    logStream: async () => Readable.from([Buffer.from('log line\n')]),
    systemTime: async () => Date.now(),
    ...extra,
  });
}
