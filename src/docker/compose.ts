import { UserError } from '../errors.js';
import { TimeLedger } from '../types/time-ledger.js';
import { runTool, ToolError, type ToolResult } from './exec.js';

/** How compose is invoked here: the `docker compose` plugin, or a standalone `docker-compose` (v2 or later). */
export interface ComposeCli {
  tool: string;
  prefix: string[];
}

/** Which compose files, project and profiles: every compose command gets exactly these. */
export interface ComposeProjectSpec {
  files: string[];
  projectName: string;
  profiles: string[];
  envFile?: string;
  cwd: string;
}

/** The parts of `docker compose config --format json` that we use. */
export interface ComposeModel {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, { name?: string; external?: boolean }>;
}

export interface ComposeService {
  image?: string;
  volumes?: ComposeMount[];
  /** The short `tmpfs:` key: `PATH` or `PATH:OPTIONS` (compose's config lists it apart from `volumes`). */
  tmpfs?: string[] | string;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: { target: number; published?: string; host_ip?: string; protocol?: string }[];
}

export interface ComposeMount {
  type: 'volume' | 'bind' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  source?: string;
  target: string;
  read_only?: boolean;
}

export interface UpOptions {
  services?: string[];
  waitTimeoutSeconds: number;
  forceRecreate?: boolean;
  pull?: string;
}

/** Decides once whether compose is the docker plugin or a standalone binary (`version --short` of each). */
export async function detectComposeCli(): Promise<ComposeCli> {
  const plugin = await shortVersion('docker', ['compose', 'version', '--short']);
  // The standalone binary is only asked when there is no plugin.
  const standalone = plugin ? undefined : await shortVersion('docker-compose', ['version', '--short']);
  return chooseComposeCli(plugin, standalone);
}

/** The first compose major this project runs on: v1 (Python) lacks `--wait`, `config --format json`... */
const MIN_COMPOSE_MAJOR = 2;

const INSTALL_COMPOSE =
  'install the Docker Compose plugin (`docker compose version` must work) or a standalone docker-compose v2 or later';

/**
 * The plugin when `docker compose version` answered; else a standalone `docker-compose` of any major from
 * MIN_COMPOSE_MAJOR on (v5 is current). An older one is refused with the version found.
 */
export function chooseComposeCli(plugin?: string, standalone?: string): ComposeCli {
  if (plugin !== undefined) return { tool: 'docker', prefix: ['compose'] };
  if (standalone === undefined) throw new UserError(`Docker Compose was not found: ${INSTALL_COMPOSE}.`);
  const major = Number(/^v?(\d+)\./.exec(standalone)?.[1] ?? NaN);
  if (major >= MIN_COMPOSE_MAJOR) return { tool: 'docker-compose', prefix: [] };
  const found = Number.isNaN(major)
    ? `docker-compose answered "${standalone.slice(0, 80)}" to \`version --short\` (not a version)`
    : `docker-compose ${standalone} is Compose v${major}${major === 1 ? ' (the Python one, end of life)' : ''}`;
  throw new UserError(`${found}, which compose-persist cannot use: ${INSTALL_COMPOSE}.`);
}

/** The first line a tool prints for its version, or undefined when it is missing or fails. */
async function shortVersion(tool: string, args: string[]): Promise<string | undefined> {
  const result = await runTool(tool, args, { allowFailure: true }).catch(() => undefined);
  if (result?.exitCode !== 0) return undefined;
  return result.stdout.trim().split('\n')[0]?.trim() || undefined;
}

/** The -f/-p/--profile/--env-file arguments shared by every command, so config and up see the same stack. */
export function projectArgs(spec: ComposeProjectSpec): string[] {
  const args: string[] = [];
  for (const file of spec.files) args.push('-f', file);
  if (spec.projectName) args.push('-p', spec.projectName);
  for (const profile of spec.profiles) args.push('--profile', profile);
  if (spec.envFile) args.push('--env-file', spec.envFile);
  return args;
}

export function upArgs(options: UpOptions): string[] {
  const args = [
    'up',
    '-d',
    '--wait',
    '--wait-timeout',
    String(options.waitTimeoutSeconds),
    '--remove-orphans',
  ];
  if (options.forceRecreate) args.push('--force-recreate');
  if (options.pull) args.push('--pull', options.pull);
  return [...args, ...(options.services ?? [])];
}

/**
 * A question compose asked on stdin (compose 2.32+ asks before recreating a volume whose definition changed).
 * Our compose children read an empty, closed stdin, so compose took its default answer: no.
 */
export interface ComposeQuestion {
  /** Compose's own words, e.g. `Volume "p_db" exists but doesn't match configuration in compose file. Recreate (data will be lost)?` */
  question: string;
  /** The volume it asked about, when it named one. */
  volume?: string;
}

/** Compose's question about a resource it would recreate; the first `?` ends it (names cannot hold one). */
const RECREATE_QUESTION = /(Volume|Network) "([^"]+)" [^?\n]*\?/g;
/** Any other prompt: compose's TTY form ends in `(y/N)`. */
const OTHER_PROMPT = /\(y\/N\)|\(data will be lost\)/;

/**
 * The questions in a compose command's output. Compose prints a prompt to stdout without a newline, so
 * several can share a line, glued to whatever compose printed next.
 */
export function composeQuestions(output: string): ComposeQuestion[] {
  const asked: ComposeQuestion[] = [];
  for (const line of output.split('\n')) {
    const recreate = [...line.matchAll(RECREATE_QUESTION)];
    for (const [question, kind, name] of recreate) {
      asked.push(kind === 'Volume' ? { question, volume: name } : { question });
    }
    if (!recreate.length && OTHER_PROMPT.test(line)) asked.push({ question: line.trim() });
  }
  return asked;
}

/**
 * A warning that says what compose asked and what came of it. Never answer yes for the user: the volume's
 * data would be lost, and it may be the only copy.
 */
export function describeComposeQuestion(asked: ComposeQuestion): string {
  const what = `Compose asked: ${asked.question} It read no on its closed stdin (compose-persist never answers yes: the data would be lost)`;
  if (asked.volume === undefined) return `${what}.`;
  const volume = asked.volume;
  return (
    `${what}, so volume ${volume} was kept as it was and this run used it with its old definition, not the one the compose file gives now. ` +
    `Another compose file or an earlier run with this project name made it: remove it (docker volume rm ${volume}) if its data is not needed, or give the run a project name of its own.`
  );
}

/** Compose commands for one project. Failures carry compose's own words. */
export class Compose {
  /** Every question compose asked (see ComposeQuestion), and how many newQuestions() has returned. */
  private readonly asked: ComposeQuestion[] = [];
  private reported = 0;

  constructor(
    private readonly cli: ComposeCli,
    readonly spec: ComposeProjectSpec,
    /** Where the time of every compose command (and of the user's commands run beside it) is booked. */
    readonly ledger: TimeLedger = new TimeLedger(),
  ) {}

  get projectName(): string {
    return this.spec.projectName;
  }

  async run(args: string[], options: { stream?: boolean; allowFailure?: boolean } = {}): Promise<ToolResult> {
    try {
      const result = await this.ledger.compose(() =>
        runTool(this.cli.tool, [...this.cli.prefix, ...projectArgs(this.spec), ...args], {
          cwd: this.spec.cwd,
          ...options,
        }),
      );
      this.noteQuestions(result);
      return result;
    } catch (error) {
      if (error instanceof ToolError) this.noteQuestions(error.result);
      throw error;
    }
  }

  /** The questions compose asked that this has not returned before (each question once a run). */
  newQuestions(): ComposeQuestion[] {
    const fresh = this.asked.slice(this.reported);
    this.reported = this.asked.length;
    return fresh;
  }

  private noteQuestions(result: ToolResult): void {
    for (const found of composeQuestions(`${result.stdout}\n${result.stderr}`)) {
      if (!this.asked.some((q) => q.question === found.question)) this.asked.push(found);
    }
  }

  /** The resolved model; a broken compose file becomes a UserError quoting compose. */
  async config(): Promise<ComposeModel> {
    try {
      const result = await this.run(['config', '--format', 'json']);
      return JSON.parse(result.stdout) as ComposeModel;
    } catch (error) {
      if (error instanceof ToolError) {
        throw new UserError(`compose-file is not a valid compose project: ${error.result.stderr.trim()}`);
      }
      throw error;
    }
  }

  async up(options: UpOptions): Promise<void> {
    await this.run(upArgs(options), { stream: true });
  }

  /** Removes containers and networks; never volumes (the caller removes only what it created). */
  async down(): Promise<void> {
    await this.run(['down', '--remove-orphans', '--timeout', '10'], { stream: true });
  }

  async stop(services: string[] = []): Promise<void> {
    await this.run(['stop', ...services], { stream: true });
  }

  async start(services: string[] = []): Promise<void> {
    await this.run(['start', ...services], { stream: true });
  }

  async restart(services: string[] = []): Promise<void> {
    await this.run(['restart', ...services], { stream: true });
  }

  async kill(services: string[] = []): Promise<void> {
    await this.run(['kill', '-s', 'SIGKILL', ...services], { stream: true });
  }

  /** The command line that runs `command` with sh inside a service's running container. */
  /** `exec -T SERVICE sh -c COMMAND`; `env` names host variables passed into the container (`-e NAME`). */
  execInvocation(service: string, command: string, env: string[] = []): { tool: string; args: string[] } {
    const passed = env.flatMap((name) => ['-e', name]);
    return {
      tool: this.cli.tool,
      args: [
        ...this.cli.prefix,
        ...projectArgs(this.spec),
        'exec',
        '-T',
        ...passed,
        service,
        'sh',
        '-c',
        command,
      ],
    };
  }
}
