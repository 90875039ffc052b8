import { randomUUID } from 'node:crypto';

export interface Run {
  id: number;
  backendId: string;
  jobBackendId: string;
  /** Workflow file name, for the "latest successful run" listing. */
  workflow: string;
  branch: string;
  conclusion: 'success' | 'failure';
  runtimeToken: string;
  /**
   * What this run's token may do with the cache: GitHub issues a read-only one to runs it does not trust
   * (a pull request from a fork), and one without cache scopes where the cache is off.
   */
  cacheAccess: CacheAccess;
}

export type CacheAccess = 'read-write' | 'read-only' | 'none';

export interface StoredArtifact {
  id: number;
  runId: number;
  name: string;
  blob: string;
  size: number;
  digest?: string;
  finalized: boolean;
  expired: boolean;
  createdAt: string;
  expiresAt?: string;
}

export interface CacheEntry {
  id: number;
  key: string;
  version: string;
  blob: string;
  size: number;
  finalized: boolean;
}

export interface Fault {
  remaining: number;
  status: number;
}

/** Everything the stand-in remembers: runs, artifacts, cache entries and the faults still to inject. */
export class ServiceState {
  readonly runs: Run[] = [];
  readonly artifacts: StoredArtifact[] = [];
  readonly caches: CacheEntry[] = [];
  readonly faults = new Map<string, Fault>();
  readonly calls = new Map<string, number>();
  /** Bytes of cache the repository may keep; a new entry beyond it is refused (the budget). */
  cacheQuotaBytes = Infinity;
  private nextId = 1000;

  newId(): number {
    return this.nextId++;
  }

  addRun(options: Partial<Pick<Run, 'workflow' | 'branch' | 'conclusion' | 'cacheAccess'>> = {}): Run {
    const backendId = randomUUID();
    const jobBackendId = randomUUID();
    const run: Run = {
      id: this.newId(),
      backendId,
      jobBackendId,
      workflow: options.workflow ?? 'ci.yml',
      branch: options.branch ?? 'main',
      conclusion: options.conclusion ?? 'success',
      runtimeToken: runtimeToken(backendId, jobBackendId),
      cacheAccess: options.cacheAccess ?? 'read-write',
    };
    this.runs.push(run);
    return run;
  }

  runById(id: number): Run | undefined {
    return this.runs.find((run) => run.id === id);
  }

  runByBackendId(backendId: unknown): Run | undefined {
    return this.runs.find((run) => run.backendId === backendId);
  }

  runByToken(token: string): Run | undefined {
    return this.runs.find((run) => run.runtimeToken === token);
  }

  /** Counts the call; returns the status to fail it with while a fault for this endpoint remains. */
  takeFault(endpoint: string): number | undefined {
    this.calls.set(endpoint, (this.calls.get(endpoint) ?? 0) + 1);
    const fault = this.faults.get(endpoint);
    if (!fault || fault.remaining <= 0) return undefined;
    fault.remaining--;
    return fault.status;
  }
}

/**
 * An unsigned JWT like the runner's ACTIONS_RUNTIME_TOKEN: the clients decode the `scp` claim
 * (Actions.Results:<runBackendId>:<jobBackendId>) without verifying it.
 */
function runtimeToken(backendId: string, jobBackendId: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    scp: `Actions.GenericRead:${randomUUID()} Actions.Results:${backendId}:${jobBackendId}`,
    iat: now,
    exp: now + 6 * 60 * 60,
  };
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}
