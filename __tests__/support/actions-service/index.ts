import * as fs from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAzurite, type BlobStorage } from './azurite.js';
import { REST_ROUTES, checkToken, notFound, type TokenAccess } from './rest.js';
import { ServiceState, type Run, type StoredArtifact } from './state.js';
import { ARTIFACTS, CACHES, Reply, TWIRP_METHODS, twirpError } from './twirp.js';

export type { Run, StoredArtifact } from './state.js';

/**
 * A local stand-in for GitHub's Actions results service (Twirp), its REST API and its blob storage (Azurite),
 * so the unmodified @actions/artifact and @actions/cache clients can be tested end to end on 127.0.0.1.
 */
export interface ActionsService {
  /** Origin of the Twirp and REST endpoints. */
  readonly url: string;
  /** owner/name the REST API answers for. */
  readonly repository: string;
  /** A REST token with `actions: read`; `tokenWithoutActionsRead` gets 403, anything else 401. */
  readonly githubToken: string;
  readonly tokenWithoutActionsRead: string;
  /** GITHUB_WORKSPACE and RUNNER_TEMP, laid out like a runner's (work/REPO/REPO and work/_temp). */
  readonly workspace: string;
  readonly runnerTemp: string;
  createRun(options?: Partial<Pick<Run, 'workflow' | 'branch' | 'conclusion' | 'cacheAccess'>>): Run;
  /** The env vars the clients read, for a job of this run. GITHUB_API_URL is read when they are imported. */
  env(runId: number): Record<string, string>;
  /** Sets env(runId) in process.env; returns a function putting the previous values back. */
  applyEnv(runId: number): () => void;
  /** Fails the next `count` calls of an endpoint (a Twirp method name, or ListRunArtifacts, DownloadArtifact, ListWorkflowRuns). */
  failNext(endpoint: string, count?: number, status?: number): void;
  /** How many calls an endpoint received, failed ones included. */
  calls(endpoint: string): number;
  /** The repository's cache budget in bytes: CreateCacheEntry is refused once the entries fill it. */
  setCacheQuota(bytes: number): void;
  expireArtifact(runId: number, name: string): void;
  /** Blob storage faults: cut the next block upload mid-body; what went through so far. */
  readonly blobs: Pick<BlobStorage, 'cutNextBlockUpload' | 'traffic'>;
  artifacts(runId: number): StoredArtifact[];
  stop(): Promise<void>;
}

const REPOSITORY = 'octo-org/compose-persist';

export async function startActionsService(): Promise<ActionsService> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'actions-service-'));
  const workspace = path.join(root, 'work', 'compose-persist', 'compose-persist');
  const runnerTemp = path.join(root, 'work', '_temp');
  const azuriteDir = path.join(root, 'azurite');
  await Promise.all([workspace, runnerTemp, azuriteDir].map((dir) => fs.mkdir(dir, { recursive: true })));
  const blobs = await startAzurite(azuriteDir, [ARTIFACTS, CACHES]);
  const state = new ServiceState();
  const tokens = new Map<string, TokenAccess>([
    ['ghs_standin_actions_read', 'actions-read'],
    ['ghs_standin_no_actions', 'no-actions'],
  ]);
  const server = createServer((req, res) => void serve(state, blobs, tokens, req, res));
  const url = await listen(server);

  const env = (runId: number): Record<string, string> => {
    const run = state.runById(runId);
    if (!run) throw new Error(`No run ${runId} in the stand-in`);
    return {
      ACTIONS_RUNTIME_TOKEN: run.runtimeToken,
      ACTIONS_RESULTS_URL: `${url}/`,
      ACTIONS_CACHE_SERVICE_V2: 'True',
      GITHUB_SERVER_URL: 'https://github.com', // any other host makes the clients refuse (GHES)
      GITHUB_API_URL: url,
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_RUN_ID: String(run.id),
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: runnerTemp,
    };
  };

  return {
    url,
    repository: REPOSITORY,
    githubToken: 'ghs_standin_actions_read',
    tokenWithoutActionsRead: 'ghs_standin_no_actions',
    workspace,
    runnerTemp,
    createRun: (options) => state.addRun(options),
    env,
    applyEnv: (runId) => applyEnv(env(runId)),
    failNext: (endpoint, count = 1, status = 500) => state.faults.set(endpoint, { remaining: count, status }),
    calls: (endpoint) => state.calls.get(endpoint) ?? 0,
    setCacheQuota: (bytes) => (state.cacheQuotaBytes = bytes),
    expireArtifact: (runId, name) => {
      for (const artifact of state.artifacts) {
        if (artifact.runId === runId && artifact.name === name) artifact.expired = true;
      }
    },
    artifacts: (runId) => state.artifacts.filter((artifact) => artifact.runId === runId),
    blobs: { cutNextBlockUpload: (bytes) => blobs.cutNextBlockUpload(bytes), traffic: () => blobs.traffic() },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await blobs.stop();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

async function serve(
  state: ServiceState,
  blobs: BlobStorage,
  tokens: Map<string, TokenAccess>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let reply: Reply;
  try {
    reply = await route(state, blobs, tokens, req);
  } catch (error) {
    reply =
      error instanceof Reply
        ? error
        : twirpError(500, error instanceof Error ? error.message : String(error));
  }
  const json = reply.body === undefined ? undefined : JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...(json ? { 'content-type': 'application/json' } : {}), ...reply.headers });
  res.end(json);
}

async function route(
  state: ServiceState,
  blobs: BlobStorage,
  tokens: Map<string, TokenAccess>,
  req: IncomingMessage,
): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const twirp = /^\/twirp\/github\.actions\.results\.api\.v1\.(\w+\/(\w+))$/.exec(url.pathname);
  if (twirp?.[1] && twirp[2] && req.method === 'POST') {
    return callTwirp(state, blobs, twirp[1], twirp[2], req);
  }
  const repo = /^\/repos\/([^/]+\/[^/]+)(\/.+)$/.exec(url.pathname);
  if (repo?.[1] && repo[2] && req.method === 'GET') {
    if (repo[1] !== REPOSITORY) return notFound();
    for (const restRoute of REST_ROUTES) {
      const match = restRoute.pattern.exec(repo[2]);
      if (!match) continue;
      const status = state.takeFault(restRoute.endpoint);
      if (status) return new Reply(status, { message: 'injected fault', status: String(status) });
      const denied = checkToken(tokens, req.headers.authorization);
      if (denied) return denied;
      return restRoute.handle(state, blobs, match.slice(1), url.searchParams);
    }
  }
  return notFound();
}

async function callTwirp(
  state: ServiceState,
  blobs: BlobStorage,
  method: string,
  endpoint: string,
  req: IncomingMessage,
): Promise<Reply> {
  const handler = TWIRP_METHODS[method];
  if (!handler) return twirpError(404, `no such method: ${method}`);
  const body = JSON.parse(await readBody(req)) as Record<string, unknown>;
  const status = state.takeFault(endpoint);
  if (status) return twirpError(status, `injected fault in ${endpoint}`);
  const run = state.runByToken(req.headers.authorization?.replace(/^Bearer\s+/i, '') ?? '');
  if (!run) return twirpError(401, 'invalid runtime token');
  const claimed = body.workflow_run_backend_id;
  if (claimed !== undefined && claimed !== run.backendId) {
    return twirpError(403, 'the runtime token belongs to another workflow run');
  }
  return new Reply(200, await handler(state, blobs, run, body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8') || '{}';
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

function applyEnv(values: Record<string, string>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  return () => {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
