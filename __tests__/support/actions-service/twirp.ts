import type { BlobStorage } from './azurite.js';
import type { CacheEntry, Run, ServiceState, StoredArtifact } from './state.js';

export const ARTIFACTS = 'artifacts';
export const CACHES = 'caches';

/** A JSON reply; Twirp and REST errors are replies too, so a handler can simply throw one. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const TWIRP_CODES: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  409: 'already_exists',
  500: 'internal',
};

export function twirpError(status: number, msg: string): Reply {
  return new Reply(status, { code: TWIRP_CODES[status] ?? 'unknown', msg });
}

type Body = Record<string, unknown>;
type Handler = (state: ServiceState, blobs: BlobStorage, run: Run, body: Body) => Promise<Body>;

/** Twirp JSON methods (snake_case fields, int64 as strings) of the results service. */
export const TWIRP_METHODS: Record<string, Handler> = {
  'ArtifactService/CreateArtifact': async (state, blobs, run, body) => {
    const name = String(body.name);
    if (findArtifact(state, run, name)) {
      throw twirpError(409, `an artifact with this name already exists on the workflow run: ${name}`);
    }
    removeUnfinished(state, run, name); // an earlier, interrupted attempt
    const id = state.newId();
    const artifact: StoredArtifact = {
      id,
      runId: run.id,
      name,
      blob: `${run.id}/${id}.zip`,
      size: 0,
      finalized: false,
      expired: false,
      createdAt: new Date().toISOString(),
      expiresAt: typeof body.expires_at === 'string' ? body.expires_at : undefined,
    };
    state.artifacts.push(artifact);
    return { ok: true, signed_upload_url: await blobs.signedUrl(ARTIFACTS, artifact.blob, 'cw') };
  },
  'ArtifactService/FinalizeArtifact': async (state, blobs, run, body) => {
    const artifact = state.artifacts.find((a) => a.runId === run.id && a.name === body.name && !a.finalized);
    if (!artifact) throw twirpError(404, `no upload in progress for artifact ${String(body.name)}`);
    if (!(await blobs.exists(ARTIFACTS, artifact.blob))) throw twirpError(400, 'no content was uploaded');
    Object.assign(artifact, { finalized: true, size: Number(body.size ?? 0), digest: body.hash });
    return { ok: true, artifact_id: String(artifact.id) };
  },
  'ArtifactService/ListArtifacts': (state, _blobs, run, body) => {
    const artifacts = state.artifacts.filter(
      (a) =>
        a.runId === run.id &&
        a.finalized &&
        !a.expired &&
        (body.name_filter === undefined || a.name === body.name_filter) &&
        (body.id_filter === undefined || String(a.id) === String(body.id_filter)),
    );
    return Promise.resolve({ artifacts: artifacts.map((a) => monolithArtifact(run, a)) });
  },
  'ArtifactService/GetSignedArtifactURL': async (state, blobs, run, body) => {
    const artifact = findArtifact(state, run, String(body.name));
    if (!artifact) throw twirpError(404, `artifact not found: ${String(body.name)}`);
    return { signed_url: await blobs.signedUrl(ARTIFACTS, artifact.blob, 'r') };
  },
  'ArtifactService/DeleteArtifact': (state, _blobs, run, body) => {
    const artifact = findArtifact(state, run, String(body.name));
    if (!artifact) throw twirpError(404, `artifact not found: ${String(body.name)}`);
    state.artifacts.splice(state.artifacts.indexOf(artifact), 1);
    return Promise.resolve({ ok: true, artifact_id: String(artifact.id) });
  },
  'CacheService/CreateCacheEntry': async (state, blobs, run, body) => {
    const { key, version } = cacheIdentity(body);
    // The words @actions/cache 6.3 keys on: an `ok: false` reply whose message starts "cache write denied:"
    // (the service's policy denial), and "insufficient usage" in an error body (the budget; its status is not
    // documented, the client looks only at the words).
    if (run.cacheAccess !== 'read-write') {
      return { ok: false, message: 'cache write denied: the token of this run is scoped read-only' };
    }
    const used = state.caches.filter((c) => c.finalized).reduce((sum, c) => sum + c.size, 0);
    if (used >= state.cacheQuotaBytes) {
      throw twirpError(403, 'insufficient usage to create cache entry: the cache storage budget is used up');
    }
    if (state.caches.some((c) => c.key === key && c.version === version)) {
      throw twirpError(409, 'cache entry with the same key, version, and scope already exists');
    }
    const id = state.newId();
    const entry: CacheEntry = { id, key, version, blob: `${id}.tar`, size: 0, finalized: false };
    state.caches.push(entry);
    return { ok: true, signed_upload_url: await blobs.signedUrl(CACHES, entry.blob, 'cw') };
  },
  'CacheService/FinalizeCacheEntryUpload': async (state, blobs, _run, body) => {
    const { key, version } = cacheIdentity(body);
    const entry = state.caches.find((c) => c.key === key && c.version === version && !c.finalized);
    if (!entry) throw twirpError(404, `no upload in progress for cache key ${key}`);
    if (!(await blobs.exists(CACHES, entry.blob))) throw twirpError(400, 'no content was uploaded');
    Object.assign(entry, { finalized: true, size: Number(body.size_bytes ?? 0) });
    return { ok: true, entry_id: String(entry.id) };
  },
  'CacheService/GetCacheEntryDownloadURL': async (state, blobs, run, body) => {
    const { key, version } = cacheIdentity(body);
    if (run.cacheAccess === 'none') {
      throw twirpError(403, 'cache read denied: the token of this run has no readable cache scope');
    }
    const restoreKeys = Array.isArray(body.restore_keys) ? body.restore_keys.map(String) : [];
    const entry = matchCache(state.caches, key, restoreKeys, version);
    if (!entry) return { ok: false };
    const signed_download_url = await blobs.signedUrl(CACHES, entry.blob, 'r');
    return { ok: true, signed_download_url, matched_key: entry.key };
  },
};

/** GitHub's rule: the exact key; then each restore key, exactly, then as the prefix of the newest entry. */
function matchCache(
  caches: CacheEntry[],
  key: string,
  restoreKeys: string[],
  version: string,
): CacheEntry | undefined {
  const candidates = caches.filter((c) => c.finalized && c.version === version).sort((a, b) => b.id - a.id);
  const exact = candidates.find((c) => c.key === key);
  if (exact) return exact;
  for (const restoreKey of restoreKeys) {
    const match =
      candidates.find((c) => c.key === restoreKey) ?? candidates.find((c) => c.key.startsWith(restoreKey));
    if (match) return match;
  }
  return undefined;
}

function cacheIdentity(body: Body): { key: string; version: string } {
  if (typeof body.key !== 'string' || typeof body.version !== 'string') {
    throw twirpError(400, 'key and version are required');
  }
  return { key: body.key, version: body.version };
}

export function findArtifact(state: ServiceState, run: Run, name: string): StoredArtifact | undefined {
  return state.artifacts.find((a) => a.runId === run.id && a.name === name && a.finalized && !a.expired);
}

function removeUnfinished(state: ServiceState, run: Run, name: string): void {
  const index = state.artifacts.findIndex((a) => a.runId === run.id && a.name === name && !a.finalized);
  if (index >= 0) state.artifacts.splice(index, 1);
}

function monolithArtifact(run: Run, artifact: StoredArtifact): Body {
  return {
    workflow_run_backend_id: run.backendId,
    workflow_job_run_backend_id: run.jobBackendId,
    database_id: String(artifact.id),
    name: artifact.name,
    size: String(artifact.size),
    created_at: artifact.createdAt,
    ...(artifact.digest ? { digest: artifact.digest } : {}),
  };
}
