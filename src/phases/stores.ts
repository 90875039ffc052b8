import { Inputs } from '../constants.js';
import { workingDirOf, type RunnerContext } from '../context.js';
import { UserError } from '../errors.js';
import type { Settings } from '../inputs.js';
import { parseStoreSpec, type StoreOptions } from '../stores/index.js';

export type StoreSettings = Pick<
  Settings,
  'seedRun' | 'githubToken' | 'retentionDays' | 'restoreKeys' | 'archiveTo' | 'artifactName' | 'projectName'
>;

/** How the seed and archive phases open a store: this run's, or (seed only) another run's artifacts. */
export function storeOptions(settings: StoreSettings, ctx: RunnerContext, forSeed: boolean): StoreOptions {
  const run = forSeed ? settings.seedRun : undefined;
  if (run && !settings.githubToken) {
    throw new UserError(
      `Input '${Inputs.SeedRunId}' needs '${Inputs.GithubToken}' (a token with actions: read).`,
    );
  }
  return {
    workspaceDir: workingDirOf(ctx),
    tempDir: ctx.tempDir,
    retentionDays: settings.retentionDays,
    restoreKeys: settings.restoreKeys,
    apiUrl: ctx.apiUrl,
    fromRun: run
      ? {
          runId: run.runId,
          token: settings.githubToken as string,
          repository: run.repository ?? ctx.repository,
          workflow: run.workflow,
          branch: run.branch,
        }
      : undefined,
  };
}

/**
 * Pull requests (of forks too) upload nothing unless archive-to says so: an artifact of a public repository
 * is downloadable by its readers, and database volumes can hold what they should not see.
 */
function onPullRequest(ctx: Pick<RunnerContext, 'eventName'>): boolean {
  return ctx.eventName === 'pull_request' || ctx.eventName === 'pull_request_target';
}

/** Why nothing was archived although archive-to was left to its default, and how to turn it on. */
export function defaultArchiveSkipped(
  settings: Pick<StoreSettings, 'archiveTo'>,
  ctx: RunnerContext,
): string | undefined {
  if (settings.archiveTo.length || !ctx.onGitHub || !ctx.actionsServices || !onPullRequest(ctx))
    return undefined;
  return (
    `Volumes not archived: on ${ctx.eventName} events the default '${Inputs.ArchiveTo}' uploads nothing, since ` +
    "an artifact is downloadable by whoever can read the repository. Set 'archive-to: artifact' (or cache:KEY, " +
    'path:DIR) to archive them.'
  );
}

/**
 * The archive-to targets: as given (one per line); else an artifact where the runner offers the artifact
 * service (except on pull requests), and ./compose-persist-archives outside GitHub. `none` turns archiving off.
 */
export function archiveTargets(settings: StoreSettings, ctx: RunnerContext): string[] {
  const fallback = ctx.onGitHub
    ? ctx.actionsServices && !onPullRequest(ctx)
      ? 'artifact'
      : 'none'
    : 'path:compose-persist-archives';
  const given = settings.archiveTo.length ? settings.archiveTo : [fallback];
  if (given.includes('none')) return [];
  return given.map((target) => {
    if (target === 'artifact')
      return `artifact:${settings.artifactName ?? `volumes-${settings.projectName ?? ctx.job}`}`;
    parseStoreSpec(target); // a bad target fails before any work is done
    return target;
  });
}
