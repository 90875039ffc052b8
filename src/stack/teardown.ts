import { RUN_LABEL } from '../constants.js';
import { Compose, type ComposeCli, type ComposeProjectSpec } from '../docker/compose.js';
import type { Engine } from '../docker/engine.js';
import { errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import { anonymousVolumesOf } from './lifecycle.js';

/** What post needs to tear the stack down; saved by main before anything is created. */
export interface TeardownPlan {
  cli: ComposeCli;
  project: ComposeProjectSpec;
  runLabel: string;
  /** Volumes this run created (seeded, or created by compose's first `up`): the only ones it may remove. */
  createdVolumes: string[];
  /** The volumes there before the run (see volumesBeforeRun): never removed, whatever their names. */
  volumesBefore: string[];
  keepVolumes: boolean;
}

export interface TeardownResult {
  removedVolumes: string[];
  keptVolumes: string[];
  problems: string[];
}

/**
 * Post-step semantics: runs whatever happened before. Removes containers and networks (compose down), the
 * anonymous volumes of the project's containers that did not exist before the run, this run's helpers,
 * and the volumes this run created unless keep-volumes. Never throws: each failure is collected and
 * reported as a warning.
 */
export async function teardownStack(
  plan: TeardownPlan,
  engine: Engine,
  log?: Pick<Log, 'warning'>,
): Promise<TeardownResult> {
  const result: TeardownResult = { removedVolumes: [], keptVolumes: [], problems: [] };
  const attempt = async (what: string, action: () => Promise<void>): Promise<void> => {
    try {
      await action();
    } catch (error) {
      result.problems.push(`${what}: ${errorMessage(error)}`);
    }
  };
  let anonymous: string[] = [];
  await attempt('listing anonymous volumes', async () => {
    const before = new Set(plan.volumesBefore);
    const created = new Set(plan.createdVolumes);
    anonymous = await anonymousVolumesOf(
      engine,
      plan.project.projectName,
      (name) => before.has(volumeMark(name)) || created.has(name),
    );
  });
  await attempt('removing helper containers', async () => {
    for (const helper of await engine.listContainers([`${RUN_LABEL}=${plan.runLabel}`])) {
      await engine.removeContainer(helper.id);
    }
  });
  await attempt('compose down', () => new Compose(plan.cli, plan.project).down());
  const removable = plan.keepVolumes ? anonymous : [...plan.createdVolumes, ...anonymous];
  for (const name of removable) {
    await attempt(`removing volume ${name}`, async () => {
      await engine.removeVolume(name);
      result.removedVolumes.push(name);
    });
  }
  result.keptVolumes = plan.createdVolumes.filter((v) => !result.removedVolumes.includes(v));
  for (const problem of result.problems) log?.warning(`Teardown: ${problem}`);
  return result;
}

/**
 * Every volume on the engine now, as marks for TeardownPlan.volumesBefore. The plan travels to post in an
 * environment variable (at most 128 KiB), and a long-lived runner can hold thousands of dangling volumes, so
 * a volume is marked by the first 12 characters of its name: a later volume sharing a mark is only kept,
 * never removed wrongly (for the engine's random 64-hex names that is a 1 in 2^48 chance per volume).
 */
export async function volumesBeforeRun(engine: Engine): Promise<string[]> {
  const marks = new Set((await engine.listVolumes([])).map((v) => volumeMark(v.name)));
  return [...marks].sort();
}

function volumeMark(name: string): string {
  return name.slice(0, 12);
}
