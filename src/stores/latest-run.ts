import { UserError } from '../errors.js';
import type { RunRef } from './types.js';

/** How many of the newest successful runs `seed-run-id: latest` looks through for one that still has the artifact. */
export const LATEST_RUNS_WALKED = 10;

interface WorkflowRunsPage {
  workflow_runs?: { id: number }[];
}

interface RunArtifactsPage {
  artifacts?: { name: string; expired?: boolean }[];
}

/** The run 'latest' resolved to, and the newer successful runs passed over (their artifact had expired or was never uploaded). */
export interface LatestRun {
  runId: number;
  passedOver: number[];
}

/**
 * The newest successful run of ref.workflow (on ref.branch) that still holds an unexpired artifact named
 * `artifactName`, among the LATEST_RUNS_WALKED newest: artifacts expire (90 days at most), runs stay listed.
 * GET .../actions/workflows/{workflow}/runs, then .../actions/runs/{id}/artifacts?name= per run, newest
 * first. The token is sent, never printed.
 */
export async function findLatestRunWithArtifact(
  ref: RunRef,
  apiUrl: string,
  artifactName: string,
): Promise<LatestRun> {
  if (!ref.workflow) {
    throw new UserError('Downloading from the "latest" run needs the workflow file name (e.g. "seed.yml").');
  }
  const where = `workflow ${ref.workflow}${ref.branch ? ` on branch ${ref.branch}` : ''} in ${ref.repository}`;
  const query = new URLSearchParams({ status: 'success', per_page: String(LATEST_RUNS_WALKED) });
  if (ref.branch) query.set('branch', ref.branch);
  const base = `${apiUrl.replace(/\/+$/, '')}/repos/${ref.repository}/actions`;
  const runs = await getJson<WorkflowRunsPage>(
    `${base}/workflows/${encodeURIComponent(ref.workflow)}/runs?${query}`,
    ref,
    `Cannot find ${where} (HTTP 404): check the workflow file name and the repository.`,
  );
  const ids = (runs.workflow_runs ?? []).slice(0, LATEST_RUNS_WALKED).map((run) => run.id);
  if (ids.length === 0) throw new UserError(`No successful run of ${where}: run that workflow first.`);
  for (const [index, runId] of ids.entries()) {
    const page = await getJson<RunArtifactsPage>(
      `${base}/runs/${runId}/artifacts?${new URLSearchParams({ name: artifactName })}`,
      ref,
      `Run ${runId} of ${ref.repository} was not found (HTTP 404).`,
    );
    const alive = (page.artifacts ?? []).some((a) => a.name === artifactName && !a.expired);
    if (alive) return { runId, passedOver: ids.slice(0, index) };
  }
  throw new UserError(
    `None of the ${ids.length} newest successful runs of ${where} still has an artifact named "${artifactName}" ` +
      `(runs ${ids.join(', ')}: expired, or never uploaded): run that workflow again, or check the name.`,
  );
}

async function getJson<T>(url: string, ref: RunRef, notFound: string): Promise<T> {
  const response = await fetch(url, {
    headers: {
      Accept: 'application/vnd.github+json',
      Authorization: `Bearer ${ref.token}`,
      'X-GitHub-Api-Version': '2022-11-28',
    },
  });
  if (response.status === 401 || response.status === 403) throw tokenError(response.status, ref.repository);
  if (response.status === 404) throw new UserError(notFound);
  if (!response.ok) throw new Error(`${url.replace(/\?.*$/, '')}: HTTP ${response.status}.`);
  return (await response.json()) as T;
}

/** 401/403 from the REST API: the token is missing, wrong, or lacks the permission. */
export function tokenError(status: number, repository: string): UserError {
  return new UserError(
    `The token cannot read Actions data of ${repository} (HTTP ${status}): ` +
      'give it the `actions: read` permission (and access to that repository).',
  );
}
