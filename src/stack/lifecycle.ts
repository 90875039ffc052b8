import { COMPOSE_ONEOFF_LABEL, COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL } from '../constants.js';
import type { Compose, UpOptions } from '../docker/compose.js';
import type { ContainerDetails, Engine } from '../docker/engine.js';
import { ToolError } from '../docker/exec.js';
import { UserError } from '../errors.js';
import type { ServiceLogTail } from '../types/outcomes.js';
import { EngineClock, Wait, type ContainerRun, type WaitStrategy } from './wait.js';

export type { ServiceLogTail };

/** The stack did not come up (or back) healthy; carries the failing services' last log lines. */
export class StackError extends UserError {
  constructor(
    message: string,
    readonly serviceLogs: ServiceLogTail[],
  ) {
    super(message);
  }
}

export interface ServiceContainer {
  service: string;
  details: ContainerDetails;
}

/** The project's service containers (one-off `run` containers excluded), inspected. */
export async function serviceContainers(engine: Engine, project: string): Promise<ServiceContainer[]> {
  const list = await engine.listContainers([
    `${COMPOSE_PROJECT_LABEL}=${project}`,
    `${COMPOSE_ONEOFF_LABEL}=False`,
  ]);
  const containers = await Promise.all(list.map((c) => engine.inspectContainer(c.id)));
  return containers
    .map((details) => ({ service: details.labels[COMPOSE_SERVICE_LABEL] ?? details.name, details }))
    .sort((a, b) => a.service.localeCompare(b.service));
}

/** A container that is not running, restarting, or has a healthcheck that is not healthy. */
export function isUnwell(details: ContainerDetails): boolean {
  return (
    !details.running || details.restarting || (details.health !== undefined && details.health !== 'healthy')
  );
}

/** A container as last seen healthy: its restart count, and when it was started. */
export interface ContainerMark {
  restartCount: number;
  startedAt: string;
}

/**
 * Each container as last seen healthy. A restart count that grows means a crash loop; a new start time
 * without one means something outside the check started it again (most often the engine restarting).
 */
export type RestartBaseline = Map<string, ContainerMark>;

/**
 * `up -d --wait`, then looks until the stack is steady (see SteadyRunWait): --wait can report a container
 * healthy just before it exits, and a restart policy can hide a crash loop, so state and restart counts are
 * looked at again until every container has run a while since its start (longer after an earlier crash).
 */
export async function upAndWait(
  compose: Compose,
  engine: Engine,
  options: UpOptions,
  what: string,
  wait: WaitStrategy = Wait.forSteadyRun(),
): Promise<RestartBaseline> {
  try {
    await compose.up(options);
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    // Compose's own words ("application not healthy after 10s"), then which service and how.
    const containers = await serviceContainers(engine, compose.projectName).catch(() => []);
    const unwell = containers.filter((c) => isUnwell(c.details) || c.details.restartCount > 0);
    const names = (unwell.length ? unwell : containers).map(
      (c) => `${c.service} (${describeState(c.details)})`,
    );
    const detail = names.length ? `; not healthy: ${names.join(', ')}` : '';
    await failWithLogs(
      engine,
      compose.projectName,
      `${what}: compose up failed (${firstLine(error.result.stderr)})${detail}`,
    );
  }
  const justUp = marksOf(await serviceContainers(engine, compose.projectName));
  return wait.waitUntilReady({
    look: async () => {
      const { marks, selected } = await checkStackHealthy(
        engine,
        compose.projectName,
        what,
        options.services,
        justUp,
      );
      return { result: marks, running: selected.map(runOf) };
    },
    engineNow: () => clockOf(engine).now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
}

function runOf(c: ServiceContainer): ContainerRun {
  return { service: c.service, startedAt: c.details.startedAt, restartCount: c.details.restartCount };
}

/** One clock per engine: its offset from ours is measured once. */
const engineClocks = new WeakMap<Engine, EngineClock>();

function clockOf(engine: Engine): EngineClock {
  let clock = engineClocks.get(engine);
  if (!clock) {
    clock = new EngineClock(() => engine.systemTime());
    engineClocks.set(engine, clock);
  }
  return clock;
}

/** Each container as seen now: the baseline for the next look. */
function marksOf(containers: ServiceContainer[]): RestartBaseline {
  return new Map(
    containers.map((c) => [
      c.details.id,
      { restartCount: c.details.restartCount, startedAt: c.details.startedAt },
    ]),
  );
}

/**
 * Containers started again since `baseline` by neither the check nor their restart policy after a crash:
 * the engine restarted (and brought back those with a restart policy), or someone restarted them.
 */
function startedOutside(containers: ServiceContainer[], baseline: RestartBaseline): ServiceContainer[] {
  return containers.filter((c) => {
    const mark = baseline.get(c.details.id);
    return (
      mark !== undefined &&
      c.details.startedAt !== mark.startedAt &&
      c.details.restartCount <= mark.restartCount
    );
  });
}

/** Containers that were running at `baseline` and have stopped since, with no start after it. */
function stoppedSince(containers: ServiceContainer[], baseline: RestartBaseline): ServiceContainer[] {
  return containers.filter((c) => {
    const mark = baseline.get(c.details.id);
    return mark !== undefined && !c.details.running && c.details.startedAt === mark.startedAt;
  });
}

/** One sentence on what happened to the stack behind the check's back; '' when nothing did. */
function outsideRestartNote(containers: ServiceContainer[], baseline: RestartBaseline): string {
  const started = startedOutside(containers, baseline);
  if (started.length === 0) return '';
  const names = (list: ServiceContainer[]) => list.map((c) => c.service).join(', ');
  const stopped = stoppedSince(containers, baseline);
  const stayedDown = stopped.length
    ? `; ${names(stopped)} stopped at the same time and stayed down (no restart policy)`
    : '';
  return (
    `${names(started)} ${started.length === 1 ? 'was' : 'were'} started again at ${clockTime(started[0]?.details.startedAt)} ` +
    `by neither the check nor a crash: the Docker engine was restarted, or someone restarted ${started.length === 1 ? 'it' : 'them'}${stayedDown}`
  );
}

function clockTime(iso: string | undefined): string {
  return iso ? `${iso.slice(11, 19)} UTC` : 'an unknown time';
}

/**
 * Fails (with the failing services' logs) unless every selected container is running, healthy where it
 * has a healthcheck, and has not been restarted by its restart policy since `baseline`. Containers
 * started again from outside (an engine restart) are passed to `warn`, or named in the failure. Returns
 * the marks now, the baseline for the next look.
 */
export async function assertStackHealthy(
  ...look: Parameters<typeof checkStackHealthy>
): Promise<RestartBaseline> {
  return (await checkStackHealthy(...look)).marks;
}

/** assertStackHealthy, also returning the selected containers it looked at. */
async function checkStackHealthy(
  engine: Engine,
  project: string,
  what: string,
  services: string[] = [],
  baseline: RestartBaseline = new Map(),
  warn?: (message: string) => void,
): Promise<{ marks: RestartBaseline; selected: ServiceContainer[] }> {
  const containers = await serviceContainers(engine, project);
  const selected = containers.filter((c) => services.length === 0 || services.includes(c.service));
  if (selected.length === 0) {
    throw new StackError(
      `${what}: project ${project} has no containers; start it first (docker compose up) or check project-name.`,
      [],
    );
  }
  const countBefore = (c: ServiceContainer) => baseline.get(c.details.id)?.restartCount;
  const restarted = (c: ServiceContainer) => c.details.restartCount > (countBefore(c) ?? Infinity);
  const unwell = selected.filter((c) => isUnwell(c.details) || restarted(c));
  const outside = outsideRestartNote(selected, baseline);
  if (unwell.length > 0) {
    const names = unwell
      .map(
        (c) =>
          `${c.service} (${restarted(c) ? `crash loop: restarted ${c.details.restartCount - (countBefore(c) ?? 0)} time(s), ` : ''}${describeState(c.details)})`,
      )
      .join(', ');
    await failWithLogs(engine, project, `${what}: not healthy: ${names}${outside ? ` (${outside})` : ''}`);
  }
  if (outside) warn?.(`${what}: ${outside}.`);
  return { marks: marksOf(containers), selected };
}

async function failWithLogs(engine: Engine, project: string, message: string): Promise<never> {
  const containers = await serviceContainers(engine, project).catch(() => []);
  const unwell = containers.filter((c) => isUnwell(c.details));
  const tails = await Promise.all(
    (unwell.length ? unwell : containers).map(async (c) => ({
      service: c.service,
      container: c.details.name,
      state: describeState(c.details),
      tail: await logTail(engine, c.details.id, 40),
    })),
  );
  throw new StackError(message, tails);
}

export function describeState(details: ContainerDetails): string {
  if (details.restarting) return `restarting, ${details.restartCount} restarts`;
  if (!details.running) return `${details.state}, exit code ${details.exitCode}`;
  const restarts = details.restartCount > 0 ? `, ${details.restartCount} restarts` : '';
  return `running${details.health ? `, ${details.health}` : ''}${restarts}`;
}

export async function logTail(engine: Engine, containerId: string, lines: number): Promise<string> {
  try {
    const stream = await engine.logStream(containerId, lines);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8').trimEnd();
  } catch (error) {
    return `(logs unavailable: ${error instanceof Error ? error.message : String(error)})`;
  }
}

function firstLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines.find((l) => /error|unhealthy|exited/i.test(l)) ?? lines[lines.length - 1] ?? '';
}

/**
 * Anonymous volumes mounted by the project's containers: unlabelled by compose, named by the engine (64 hex),
 * and not `known` — the caller says which volumes are someone's (declared in the stack, or there before the
 * run), since a user's volume can carry such a name too.
 */
export async function anonymousVolumesOf(
  engine: Engine,
  project: string,
  known: (name: string) => boolean,
): Promise<string[]> {
  const names = new Set<string>();
  for (const container of await engine.listContainers([`${COMPOSE_PROJECT_LABEL}=${project}`])) {
    const details = await engine.inspectContainer(container.id);
    for (const mount of details.mounts) {
      if (mount.type !== 'volume' || !mount.name || !ENGINE_VOLUME_NAME.test(mount.name)) continue;
      if (known(mount.name)) continue;
      const volume = await engine.inspectVolume(mount.name);
      if (volume && !volume.labels[COMPOSE_PROJECT_LABEL]) names.add(volume.name);
    }
  }
  return [...names];
}

/** The names the engine gives anonymous volumes; a name of this shape alone proves nothing. */
const ENGINE_VOLUME_NAME = /^[0-9a-f]{64}$/;
