import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Inputs } from '../constants.js';
import { resolveIn, toProjectName, workingDirOf, type RunnerContext } from '../context.js';
import { Compose, detectComposeCli, type ComposeCli, type ComposeProjectSpec } from '../docker/compose.js';
import type { Engine } from '../docker/engine.js';
import { UserError } from '../errors.js';
import type { CommandSpec, Settings } from '../inputs.js';
import { TimeLedger } from '../types/time-ledger.js';
import {
  chooseComposeFiles,
  missingFilesError,
  projectNameNote,
  topLevelName,
  type ComposeFileChoice,
} from './compose-files.js';
import { stackModelFrom, type StackModel } from './model.js';
import { volumesBeforeRun, type TeardownPlan } from './teardown.js';

/** The stack a run works on, resolved once from the inputs and `compose config`. */
export interface Stack {
  engine: Engine;
  cli: ComposeCli;
  compose: Compose;
  model: StackModel;
  runLabel: string;
  /** The compose files used, and why these. */
  composeFiles: ComposeFileChoice;
  /** Why the project name is not the file's own `name:` (one line), when it is not. */
  projectNote?: string;
  /** Where host commands run (workingDirOf): `run`, `host:` probes and writes. */
  workingDir: string;
}

/**
 * Resolves the stack. With `generateProject` (the main action) a missing project-name gets a name unique
 * per run and job; otherwise (sub-actions on a stack that is already up) compose's own default applies.
 */
export async function openStack(
  settings: Settings,
  ctx: RunnerContext,
  engine: Engine,
  generateProject: boolean,
): Promise<Stack> {
  await engine.ping();
  const workingDir = workingDirOf(ctx);
  const choice = chooseComposeFiles(settings.composeFiles, ctx.composeEnv ?? {}, workingDir, listDir);
  const missing = missingFilesError(choice, existsSync);
  if (missing) throw missing;
  const files = choice.files;
  if (settings.projectName && settings.projectName !== toProjectName(settings.projectName)) {
    throw new UserError(
      `Input '${Inputs.ProjectName}': "${settings.projectName}" is not a valid compose project name; use lowercase letters, digits, - and _ (e.g. "${toProjectName(settings.projectName)}").`,
    );
  }
  const spec: ComposeProjectSpec = {
    files,
    // '' lets compose pick its default (top-level name:, COMPOSE_PROJECT_NAME, or the directory).
    projectName: settings.projectName ?? (generateProject ? toProjectName(`cp-${ctx.uniqueId}`) : ''),
    profiles: settings.profiles,
    envFile: settings.envFile ? resolveIn(workingDir, settings.envFile) : undefined,
    cwd: path.dirname(files[0] as string),
  };
  const ledger = new TimeLedger();
  const cli = await ledger.compose(() => detectComposeCli());
  const config = await new Compose(cli, spec, ledger).config();
  const compose = new Compose(cli, { ...spec, projectName: config.name }, ledger);
  const model = stackModelFrom(config, settings.services);
  assertServicesExist(settings, Object.keys(config.services));
  const why = settings.projectName ? 'input' : spec.projectName ? 'generated' : 'environment';
  const projectNote = projectNameNote(topLevelName(files.map(readText)), config.name, why);
  return {
    engine,
    cli,
    compose,
    model,
    runLabel: ctx.uniqueId,
    composeFiles: choice,
    projectNote,
    workingDir,
  };
}

function listDir(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Every service the inputs name (`services`, and the targets of `exec`, `probes`, `load` and `acknowledged`) is one of the stack's
 * (`inStack`, from `compose config`), and the commands' services are among those started: checked before `up`,
 * so a typo costs nothing.
 */
export function assertServicesExist(
  settings: Pick<Settings, 'services' | 'exec' | 'probes'> & Partial<Pick<Settings, 'load' | 'acknowledged'>>,
  inStack: string[],
): void {
  const started = settings.services.length ? settings.services : inStack;
  const named: [Inputs, string[]][] = [
    [Inputs.Services, settings.services],
    [Inputs.Exec, serviceTargets(settings.exec)],
    [Inputs.Probes, serviceTargets(settings.probes)],
    [Inputs.Load, serviceTargets(settings.load ?? [])],
    [Inputs.Acknowledged, serviceTargets(settings.acknowledged ?? [])],
  ];
  for (const [input, services] of named) {
    const unknown = [...new Set(services.filter((s) => !inStack.includes(s)))];
    if (unknown.length) {
      throw new UserError(
        `Input '${input}': no service named ${unknown.join(', ')} in the stack; its services are: ${inStack.join(', ')}.`,
      );
    }
    const notStarted = [...new Set(services.filter((s) => !started.includes(s)))];
    if (notStarted.length) {
      throw new UserError(
        `Input '${input}': service ${notStarted.join(', ')} is not started (input '${Inputs.Services}': ${started.join(', ')}); add it there.`,
      );
    }
  }
}

function serviceTargets(commands: CommandSpec[]): string[] {
  return commands.flatMap((c) => (c.target === 'host' ? [] : [c.target.service]));
}

/** What post needs to remove: only volumes that do not exist yet are this run's to remove. */
export async function teardownPlanFor(stack: Stack, settings: Settings): Promise<TeardownPlan> {
  return {
    cli: stack.cli,
    project: stack.compose.spec,
    runLabel: stack.runLabel,
    createdVolumes: await volumesToBeCreated(stack.engine, stack.model, settings),
    volumesBefore: await volumesBeforeRun(stack.engine),
    keepVolumes: settings.keepVolumes,
  };
}

/** Named volumes that do not exist yet: this run creates them, so only these may be removed later. */
async function volumesToBeCreated(engine: Engine, model: StackModel, settings: Settings): Promise<string[]> {
  const seeded = new Set(settings.seeds.map((s) => s.volume));
  const created: string[] = [];
  for (const volume of model.volumes) {
    const exists = (await engine.inspectVolume(volume.name)) !== undefined;
    if (volume.external && !exists && !seeded.has(volume.key) && !seeded.has(volume.name)) {
      throw new UserError(
        `External volume ${volume.name} (${volume.key}) does not exist: create it (docker volume create ${volume.name}) or seed it.`,
      );
    }
    if (!exists) created.push(volume.name);
  }
  return created;
}

/** Compose's project directory: the folder of the first compose file (relative binds are resolved from it). */
export function projectDirOf(stack: Pick<Stack, 'composeFiles'>): string {
  const [first] = stack.composeFiles.files;
  return first ? path.dirname(first) : process.cwd();
}
