import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  ArtifactNotFoundError,
  DefaultArtifactClient,
  type Artifact,
  type ArtifactClient,
  type FindOptions,
} from '@actions/artifact';
import { UserError, errorMessage } from '../errors.js';
import { commonRoot, moveFiles, totalBytes } from './files.js';
import { findLatestRunWithArtifact, tokenError, type LatestRun } from './latest-run.js';
import type { ArchiveStore, RunRef, StoreOptions, StoredArchives } from './types.js';

const DEFAULT_API_URL = 'https://api.github.com';

/**
 * `artifact:NAME`: one workflow artifact holding every file. Uploads go to the current run; downloads come
 * from the current run, or from `options.fromRun` through the REST API. Env read by @actions/artifact:
 * ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL, GITHUB_SERVER_URL, and GITHUB_API_URL (at import time).
 */
export class ArtifactStore implements ArchiveStore {
  readonly description: string;
  private findBy?: Promise<FindOptions['findBy']>;
  /** What 'latest' resolved to, once it has. */
  private latest?: LatestRun;

  constructor(
    private readonly name: string,
    private readonly options: StoreOptions,
    private readonly client: ArtifactClient = new DefaultArtifactClient(),
  ) {
    this.description = `artifact ${name}${options.fromRun ? ` from ${describeRun(options.fromRun)}` : ''}`;
  }

  async put(files: string[]): Promise<StoredArchives> {
    if (files.length === 0) throw new Error(`Nothing to store in ${this.description}.`);
    // uploads always go to the current run; a store reading another run is a source only
    if (this.options.fromRun) throw new Error(`Cannot upload to ${this.description}.`);
    const absolute = files.map((file) => path.resolve(file));
    const root = commonRoot(absolute);
    const bytes = await totalBytes(absolute);
    // the archives are compressed already; skipArchive would rename the artifact after its single file
    const options = { compressionLevel: 0, retentionDays: this.options.retentionDays };
    const result = await this.client
      .uploadArtifact(this.name, absolute, root, options)
      .catch((error: unknown) => Promise.reject(this.explain(error)));
    const id = result.id;
    const location = id === undefined ? this.description : `${this.description} (id ${id})`;
    return { location, id, files: absolute.map((file) => path.relative(root, file)), bytes };
  }

  async get(destDir: string): Promise<string[]> {
    const artifact = await this.find();
    const findBy = await this.resolveFindBy();
    const staging = await fs.mkdtemp(path.join(this.options.tempDir, 'artifact-'));
    try {
      const { digestMismatch } = await this.client.downloadArtifact(artifact.id, {
        path: staging,
        expectedHash: artifact.digest,
        findBy,
      });
      if (digestMismatch) throw new Error(`${this.description}: the download does not match its digest.`);
      return await moveFiles(staging, destDir);
    } catch (error) {
      throw this.explain(error);
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  }

  /** The names of the artifacts in the run (newest of each name), not the files inside this one. */
  async list(): Promise<string[]> {
    const findBy = await this.resolveFindBy();
    try {
      const { artifacts } = await this.client.listArtifacts({ latest: true, findBy });
      return artifacts.map((artifact) => artifact.name).sort();
    } catch (error) {
      throw this.explain(error);
    }
  }

  async exists(): Promise<boolean> {
    return (await this.lookup()) !== undefined;
  }

  private async find(): Promise<Artifact> {
    const artifact = await this.lookup();
    if (artifact) return artifact;
    const names = await this.list();
    const existing = names.length > 0 ? `the run has: ${names.join(', ')}` : 'the run has no artifacts';
    throw new UserError(
      `No artifact named "${this.name}" in ${this.runLabel()} (${existing}); ` +
        'check the name, and that the artifact was uploaded and has not expired.',
    );
  }

  private async lookup(): Promise<Artifact | undefined> {
    const findBy = await this.resolveFindBy();
    try {
      return (await this.client.getArtifact(this.name, { findBy })).artifact;
    } catch (error) {
      if (error instanceof ArtifactNotFoundError) return undefined;
      throw this.explain(error);
    }
  }

  /** undefined for the current run; resolved once, since 'latest' costs a REST call. */
  private resolveFindBy(): Promise<FindOptions['findBy']> {
    const ref = this.options.fromRun;
    if (!ref) return Promise.resolve(undefined);
    this.findBy ??= this.findByFor(ref, this.options.apiUrl ?? DEFAULT_API_URL);
    return this.findBy;
  }

  private async findByFor(ref: RunRef, apiUrl: string): Promise<FindOptions['findBy']> {
    const [owner, repo, extra] = ref.repository.split('/');
    if (!owner || !repo || extra !== undefined) {
      throw new UserError(`Invalid repository "${ref.repository}": use "owner/name".`);
    }
    if (ref.runId === 'latest') this.latest = await findLatestRunWithArtifact(ref, apiUrl, this.name);
    const runId = ref.runId === 'latest' ? (this.latest as LatestRun).runId : ref.runId;
    return { token: ref.token, workflowRunId: runId, repositoryOwner: owner, repositoryName: repo };
  }

  /** The run the files came from, for the summary: another run's id, and why that one when 'latest'. */
  origin(): string | undefined {
    const ref = this.options.fromRun;
    if (!ref) return undefined;
    if (ref.runId !== 'latest' || !this.latest) return describeRun(ref);
    const { runId, passedOver } = this.latest;
    const skipped = passedOver.length
      ? `; ${passedOver.length} newer run${passedOver.length > 1 ? 's' : ''} (${passedOver.join(', ')}) no longer had it`
      : '';
    return `run ${runId} of ${ref.repository}, the latest successful run of ${ref.workflow ?? ''}${ref.branch ? ` on ${ref.branch}` : ''} with this artifact${skipped}`;
  }

  private runLabel(): string {
    return this.options.fromRun ? describeRun(this.options.fromRun) : 'this workflow run';
  }

  /** Turns what the clients throw into one sentence the user can act on, when there is one. */
  private explain(error: unknown): Error {
    if (error instanceof UserError) return error;
    const status = httpStatus(error);
    const repository = this.options.fromRun?.repository ?? 'this repository';
    if (status === 401 || status === 403) return tokenError(status, repository);
    if (status === 404) {
      return new UserError(
        `${this.runLabel()} was not found (HTTP 404): check the run id and the repository.`,
      );
    }
    if (status === 410) {
      return new UserError(
        `${this.description} has expired: archive it again (or raise its retention days).`,
      );
    }
    const message = errorMessage(error);
    if (message.includes('(409)')) {
      return new UserError(
        `An artifact named "${this.name}" already exists in this run: names are unique per run, ` +
          'so add the job or matrix values to the name.',
      );
    }
    return new Error(`${this.description}: ${message}`, { cause: error });
  }
}

function describeRun(ref: RunRef): string {
  if (ref.runId !== 'latest') return `run ${ref.runId} of ${ref.repository}`;
  const branch = ref.branch ? ` on ${ref.branch}` : '';
  return `the latest successful run of ${ref.workflow ?? '(no workflow)'}${branch} in ${ref.repository}`;
}

/** The HTTP status of an Octokit RequestError (not a direct dependency, so matched by shape). */
function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}
