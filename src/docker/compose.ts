import { UserError } from '../errors.js';
import { TimeLedger } from '../types/time-ledger.js';
import { runTool, ToolError, type ToolResult } from './exec.js';

/** How compose is invoked here: the `docker compose` plugin, or a standalone v2 `docker-compose`. */
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

/** Decides once whether compose is the docker plugin or a standalone binary. */
export async function detectComposeCli(): Promise<ComposeCli> {
  const plugin = await runTool('docker', ['compose', 'version', '--short'], { allowFailure: true }).catch(
    () => undefined,
  );
  if (plugin?.exitCode === 0) return { tool: 'docker', prefix: ['compose'] };
  const standalone = await runTool('docker-compose', ['version', '--short'], { allowFailure: true }).catch(
    () => undefined,
  );
  if (standalone?.exitCode === 0 && /^v?2\./.test(standalone.stdout.trim()))
    return { tool: 'docker-compose', prefix: [] };
  throw new UserError(
    'Docker Compose v2 was not found: install the compose plugin (docker compose version must work) or a v2 docker-compose binary.',
  );
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
