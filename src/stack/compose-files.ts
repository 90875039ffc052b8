import * as path from 'node:path';
import { parse } from 'yaml';
import { Inputs } from '../constants.js';
import { UserError } from '../errors.js';

// Compose's own lookup, in its order of preference (checked on compose 2.26: docker-compose.yml before
// docker-compose.yaml; the override may come from either family; the search goes up to the parents).
export const COMPOSE_FILE_NAMES = [
  'compose.yaml',
  'compose.yml',
  'docker-compose.yml',
  'docker-compose.yaml',
];
export const OVERRIDE_FILE_NAMES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
];

/** Where the files came from: the compose-file input, the COMPOSE_FILE variable, or compose's lookup. */
export type ComposeFilesSource = 'input' | 'COMPOSE_FILE' | 'lookup';

export interface ComposeFileChoice {
  /** Absolute paths, in merge order. */
  files: string[];
  from: ComposeFilesSource;
  /** Candidates compose would pass over (several in one directory), worded for the log. */
  notes: string[];
}

/** What the environment says about compose files (COMPOSE_FILE, COMPOSE_PATH_SEPARATOR). */
export interface ComposeFileEnv {
  composeFile?: string;
  pathSeparator?: string;
}

/** The file names in a directory, or undefined when it cannot be read. */
export type ListDir = (dir: string) => readonly string[] | undefined;

/**
 * The files `docker compose` would use: the compose-file input (like -f), else COMPOSE_FILE, else the first
 * compose file found in `cwd` or its parents plus the override file beside it. Pure over `listDir`.
 */
export function chooseComposeFiles(
  given: string[],
  env: ComposeFileEnv,
  cwd: string,
  listDir: ListDir,
): ComposeFileChoice {
  if (given.length) return { files: given.map((f) => path.resolve(cwd, f)), from: 'input', notes: [] };
  const fromEnv = (env.composeFile ?? '').split(env.pathSeparator || ':').filter((f) => f.trim() !== '');
  if (fromEnv.length)
    return { files: fromEnv.map((f) => path.resolve(cwd, f)), from: 'COMPOSE_FILE', notes: [] };
  return lookUpComposeFiles(cwd, listDir);
}

function lookUpComposeFiles(cwd: string, listDir: ListDir): ComposeFileChoice {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const names = new Set(listDir(dir) ?? []);
    const found = COMPOSE_FILE_NAMES.filter((n) => names.has(n));
    if (found.length) {
      const overrides = OVERRIDE_FILE_NAMES.filter((n) => names.has(n));
      const chosen = [found[0], overrides[0]].filter((n): n is string => n !== undefined);
      return {
        files: chosen.map((n) => path.join(dir, n)),
        from: 'lookup',
        notes: [passedOver(dir, found), passedOver(dir, overrides)].filter(
          (n): n is string => n !== undefined,
        ),
      };
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new UserError(
    `Input '${Inputs.ComposeFile}': no ${COMPOSE_FILE_NAMES.join(', ')} in ${cwd} or its parents; add one or give the path of your compose file.`,
  );
}

function passedOver(dir: string, names: string[]): string | undefined {
  if (names.length < 2) return undefined;
  return `${dir} has ${names.join(', ')}: compose uses ${names[0]} and so does this run.`;
}

/** The checked input files that do not exist, worded for the source they came from. */
export function missingFilesError(
  choice: ComposeFileChoice,
  exists: (file: string) => boolean,
): UserError | undefined {
  const missing = choice.files.filter((f) => !exists(f));
  if (!missing.length) return undefined;
  if (choice.from === 'COMPOSE_FILE') {
    return new UserError(
      `COMPOSE_FILE names ${missing.join(', ')}, which does not exist; fix the variable or give the compose-file input.`,
    );
  }
  return new UserError(
    `Input '${Inputs.ComposeFile}': ${missing.join(', ')} does not exist; give the path of your compose file.`,
  );
}

/** The top-level `name:` the files set (a later file wins, as compose merges), unless it is interpolated. */
export function topLevelName(fileTexts: string[]): string | undefined {
  let name: string | undefined;
  for (const text of fileTexts) {
    let doc: unknown;
    try {
      doc = parse(text);
    } catch {
      continue; // compose config reports a broken file in its own words
    }
    const value = doc && typeof doc === 'object' ? (doc as Record<string, unknown>).name : undefined;
    if (typeof value === 'string' && value.trim()) name = value.trim();
  }
  return name !== undefined && !name.includes('$') ? name : undefined;
}

/** Why the run's project name is not the file's `name:` — one line for the summary, or undefined. */
export function projectNameNote(
  fileName: string | undefined,
  used: string,
  why: 'input' | 'generated' | 'environment',
): string | undefined {
  if (fileName === undefined || fileName === used) return undefined;
  const reason = {
    input: `the ${Inputs.ProjectName} input wins over the file`,
    generated: `a name unique per run, so parallel jobs never share volumes; set ${Inputs.ProjectName}: ${fileName} to use the file's`,
    environment: 'COMPOSE_PROJECT_NAME wins over the file',
  }[why];
  return `The compose file sets name: ${fileName}, but this run used project ${used}: ${reason}.`;
}

/** A file's path for the report: relative to the workspace when inside it. */
export function displayPath(workspace: string, file: string): string {
  const relative = path.relative(workspace, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
