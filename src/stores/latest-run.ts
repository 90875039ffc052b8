import { UserError } from '../errors.js';
import type { RunRef } from './types.js';

interface WorkflowRunsPage {
  workflow_runs?: { id: number }[];
}

/**
 * The id of the newest successful run of ref.workflow (on ref.branch), through
 * GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs. The token is sent, never printed.
 */
export async function findLatestSuccessfulRun(ref: RunRef, apiUrl: string): Promise<number> {
  if (!ref.workflow) {
    throw new UserError('Downloading from the "latest" run needs the workflow file name (e.g. "seed.yml").');
  }
  const query = new URLSearchParams({ status: 'success', per_page: '1' });
  if (ref.branch) query.set('branch', ref.branch);
  const url = `${apiUrl.replace(/\/+$/, '')}/repos/${ref.repository}/actions/workflows/${encodeURIComponent(ref.workflow)}/runs?${query}`;
  const response = await fetch(url, {
    headers: {
      Accept: 'application/vnd.github+json',
      Authorization: `Bearer ${ref.token}`,
      'X-GitHub-Api-Version': '2022-11-28',
    },
  });
  const where = `workflow ${ref.workflow}${ref.branch ? ` on branch ${ref.branch}` : ''} in ${ref.repository}`;
  if (response.status === 401 || response.status === 403) throw tokenError(response.status, ref.repository);
  if (response.status === 404) {
    throw new UserError(`Cannot find ${where} (HTTP 404): check the workflow file name and the repository.`);
  }
  if (!response.ok) throw new Error(`Listing runs of ${where} failed: HTTP ${response.status}.`);
  const page = (await response.json()) as WorkflowRunsPage;
  const run = page.workflow_runs?.[0];
  if (!run) throw new UserError(`No successful run of ${where}: run that workflow first.`);
  return run.id;
}

/** 401/403 from the REST API: the token is missing, wrong, or lacks the permission. */
export function tokenError(status: number, repository: string): UserError {
  return new UserError(
    `The token cannot read Actions data of ${repository} (HTTP ${status}): ` +
      'give it the `actions: read` permission (and access to that repository).',
  );
}
