import type { BlobStorage } from './azurite.js';
import type { ServiceState, StoredArtifact } from './state.js';
import { ARTIFACTS, Reply } from './twirp.js';

export type TokenAccess = 'actions-read' | 'no-actions';

interface RestRoute {
  endpoint: string;
  pattern: RegExp;
  handle(state: ServiceState, blobs: BlobStorage, match: string[], query: URLSearchParams): Promise<Reply>;
}

/** The REST endpoints the artifact client (other runs) and the 'latest' lookup call, under /repos/OWNER/REPO. */
export const REST_ROUTES: RestRoute[] = [
  {
    endpoint: 'ListRunArtifacts',
    pattern: /^\/actions\/runs\/(\d+)\/artifacts$/,
    handle: (state, _blobs, [runId], query) => {
      const run = state.runById(Number(runId));
      if (!run) return Promise.resolve(notFound());
      const name = query.get('name');
      const all = state.artifacts.filter(
        (a) => a.runId === run.id && a.finalized && (!name || a.name === name),
      );
      const perPage = Number(query.get('per_page') ?? 30);
      const page = Number(query.get('page') ?? 1);
      const artifacts = all.slice((page - 1) * perPage, page * perPage).map(restArtifact);
      return Promise.resolve(new Reply(200, { total_count: all.length, artifacts }));
    },
  },
  {
    endpoint: 'DownloadArtifact',
    pattern: /^\/actions\/artifacts\/(\d+)\/zip$/,
    handle: async (state, blobs, [artifactId]) => {
      const artifact = state.artifacts.find((a) => a.id === Number(artifactId) && a.finalized);
      if (!artifact) return notFound();
      if (artifact.expired) return new Reply(410, { message: 'Artifact has expired', status: '410' });
      return new Reply(302, undefined, { location: await blobs.signedUrl(ARTIFACTS, artifact.blob, 'r') });
    },
  },
  {
    endpoint: 'ListWorkflowRuns',
    pattern: /^\/actions\/workflows\/([^/]+)\/runs$/,
    handle: (state, _blobs, [workflow], query) => {
      const branch = query.get('branch');
      const status = query.get('status');
      const runs = state.runs
        .filter((run) => run.workflow === decodeURIComponent(workflow ?? ''))
        .filter((run) => !branch || run.branch === branch)
        .filter((run) => !status || run.conclusion === status)
        .sort((a, b) => b.id - a.id);
      const perPage = Number(query.get('per_page') ?? 30);
      const workflow_runs = runs.slice(0, perPage).map((run) => ({
        id: run.id,
        head_branch: run.branch,
        path: `.github/workflows/${run.workflow}`,
        status: 'completed',
        conclusion: run.conclusion,
      }));
      return Promise.resolve(new Reply(200, { total_count: runs.length, workflow_runs }));
    },
  },
];

/** 401 for an unknown token, 403 for one without `actions: read`, like api.github.com. */
export function checkToken(
  tokens: Map<string, TokenAccess>,
  authorization: string | undefined,
): Reply | undefined {
  const token = authorization?.replace(/^(token|bearer)\s+/i, '');
  const access = token ? tokens.get(token) : undefined;
  if (!access) return new Reply(401, { message: 'Bad credentials', status: '401' });
  if (access === 'no-actions') {
    return new Reply(403, { message: 'Resource not accessible by integration', status: '403' });
  }
  return undefined;
}

export function notFound(): Reply {
  return new Reply(404, { message: 'Not Found', status: '404' });
}

function restArtifact(artifact: StoredArtifact): Record<string, unknown> {
  return {
    id: artifact.id,
    node_id: `A_${artifact.id}`,
    name: artifact.name,
    size_in_bytes: artifact.size,
    archive_download_url: `/actions/artifacts/${artifact.id}/zip`,
    expired: artifact.expired,
    created_at: artifact.createdAt,
    expires_at: artifact.expiresAt ?? null,
    digest: artifact.digest ?? null,
    workflow_run: { id: artifact.runId },
  };
}
