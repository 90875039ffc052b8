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

/** Compose commands for one project. Failures carry compose's own words. */
export class Compose {
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
    return this.ledger.compose(() =>
      runTool(this.cli.tool, [...this.cli.prefix, ...projectArgs(this.spec), ...args], {
        cwd: this.spec.cwd,
        ...options,
      }),
    );
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
