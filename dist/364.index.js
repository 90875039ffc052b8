export const id = 364;
export const ids = [364];
export const modules = {

/***/ 50364:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  ArtifactStore: () => (/* binding */ ArtifactStore)
});

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./node_modules/@actions/artifact/lib/artifact.js + 107 modules
var artifact = __webpack_require__(67458);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(83916);
// EXTERNAL MODULE: ./src/stores/files.ts
var stores_files = __webpack_require__(10393);
;// CONCATENATED MODULE: ./src/stores/latest-run.ts

/** How many of the newest successful runs `seed-run-id: latest` looks through for one that still has the artifact. */
const LATEST_RUNS_WALKED = 10;
/**
 * The newest successful run of ref.workflow (on ref.branch) that still holds an unexpired artifact named
 * `artifactName`, among the LATEST_RUNS_WALKED newest: artifacts expire (90 days at most), runs stay listed.
 * GET .../actions/workflows/{workflow}/runs, then .../actions/runs/{id}/artifacts?name= per run, newest
 * first. The token is sent, never printed.
 */
async function findLatestRunWithArtifact(ref, apiUrl, artifactName) {
    if (!ref.workflow) {
        throw new errors/* UserError */.y('Downloading from the "latest" run needs the workflow file name (e.g. "seed.yml").');
    }
    const where = `workflow ${ref.workflow}${ref.branch ? ` on branch ${ref.branch}` : ''} in ${ref.repository}`;
    const query = new URLSearchParams({ status: 'success', per_page: String(LATEST_RUNS_WALKED) });
    if (ref.branch)
        query.set('branch', ref.branch);
    const base = `${apiUrl.replace(/\/+$/, '')}/repos/${ref.repository}/actions`;
    const runs = await getJson(`${base}/workflows/${encodeURIComponent(ref.workflow)}/runs?${query}`, ref, `Cannot find ${where} (HTTP 404): check the workflow file name and the repository.`);
    const ids = (runs.workflow_runs ?? []).slice(0, LATEST_RUNS_WALKED).map((run) => run.id);
    if (ids.length === 0)
        throw new errors/* UserError */.y(`No successful run of ${where}: run that workflow first.`);
    for (const [index, runId] of ids.entries()) {
        const page = await getJson(`${base}/runs/${runId}/artifacts?${new URLSearchParams({ name: artifactName })}`, ref, `Run ${runId} of ${ref.repository} was not found (HTTP 404).`);
        const alive = (page.artifacts ?? []).some((a) => a.name === artifactName && !a.expired);
        if (alive)
            return { runId, passedOver: ids.slice(0, index) };
    }
    throw new errors/* UserError */.y(`None of the ${ids.length} newest successful runs of ${where} still has an artifact named "${artifactName}" ` +
        `(runs ${ids.join(', ')}: expired, or never uploaded): run that workflow again, or check the name.`);
}
async function getJson(url, ref, notFound) {
    const response = await fetch(url, {
        headers: {
            Accept: 'application/vnd.github+json',
            Authorization: `Bearer ${ref.token}`,
            'X-GitHub-Api-Version': '2022-11-28',
        },
    });
    if (response.status === 401 || response.status === 403)
        throw tokenError(response.status, ref.repository);
    if (response.status === 404)
        throw new errors/* UserError */.y(notFound);
    if (!response.ok)
        throw new Error(`${url.replace(/\?.*$/, '')}: HTTP ${response.status}.`);
    return (await response.json());
}
/** 401/403 from the REST API: the token is missing, wrong, or lacks the permission. */
function tokenError(status, repository) {
    return new errors/* UserError */.y(`The token cannot read Actions data of ${repository} (HTTP ${status}): ` +
        'give it the `actions: read` permission (and access to that repository).');
}

;// CONCATENATED MODULE: ./src/stores/artifact-store.ts






const DEFAULT_API_URL = 'https://api.github.com';
/**
 * `artifact:NAME`: one workflow artifact holding every file. Uploads go to the current run; downloads come
 * from the current run, or from `options.fromRun` through the REST API. Env read by @actions/artifact:
 * ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL, GITHUB_SERVER_URL, and GITHUB_API_URL (at import time).
 */
class ArtifactStore {
    name;
    options;
    client;
    description;
    findBy;
    /** What 'latest' resolved to, once it has. */
    latest;
    constructor(name, options, client = new artifact/* DefaultArtifactClient */.t9()) {
        this.name = name;
        this.options = options;
        this.client = client;
        this.description = `artifact ${name}${options.fromRun ? ` from ${describeRun(options.fromRun)}` : ''}`;
    }
    async put(files) {
        if (files.length === 0)
            throw new Error(`Nothing to store in ${this.description}.`);
        // uploads always go to the current run; a store reading another run is a source only
        if (this.options.fromRun)
            throw new Error(`Cannot upload to ${this.description}.`);
        const absolute = files.map((file) => external_node_path_.resolve(file));
        const root = (0,stores_files/* commonRoot */.MX)(absolute);
        const bytes = await (0,stores_files/* totalBytes */.ob)(absolute);
        // the archives are compressed already; skipArchive would rename the artifact after its single file
        const options = { compressionLevel: 0, retentionDays: this.options.retentionDays };
        const result = await this.client
            .uploadArtifact(this.name, absolute, root, options)
            .catch((error) => Promise.reject(this.explain(error)));
        const id = result.id;
        const location = id === undefined ? this.description : `${this.description} (id ${id})`;
        return { location, id, files: absolute.map((file) => external_node_path_.relative(root, file)), bytes };
    }
    async get(destDir) {
        const artifact = await this.find();
        const findBy = await this.resolveFindBy();
        const staging = await promises_.mkdtemp(external_node_path_.join(this.options.tempDir, 'artifact-'));
        try {
            const { digestMismatch } = await this.client.downloadArtifact(artifact.id, {
                path: staging,
                expectedHash: artifact.digest,
                findBy,
            });
            if (digestMismatch)
                throw new Error(`${this.description}: the download does not match its digest.`);
            return await (0,stores_files/* moveFiles */.px)(staging, destDir);
        }
        catch (error) {
            throw this.explain(error);
        }
        finally {
            await promises_.rm(staging, { recursive: true, force: true });
        }
    }
    /** The names of the artifacts in the run (newest of each name), not the files inside this one. */
    async list() {
        const findBy = await this.resolveFindBy();
        try {
            const { artifacts } = await this.client.listArtifacts({ latest: true, findBy });
            return artifacts.map((artifact) => artifact.name).sort();
        }
        catch (error) {
            throw this.explain(error);
        }
    }
    async exists() {
        return (await this.lookup()) !== undefined;
    }
    async find() {
        const artifact = await this.lookup();
        if (artifact)
            return artifact;
        const names = await this.list();
        const existing = names.length > 0 ? `the run has: ${names.join(', ')}` : 'the run has no artifacts';
        throw new errors/* UserError */.y(`No artifact named "${this.name}" in ${this.runLabel()} (${existing}); ` +
            'check the name, and that the artifact was uploaded and has not expired.');
    }
    async lookup() {
        const findBy = await this.resolveFindBy();
        try {
            return (await this.client.getArtifact(this.name, { findBy })).artifact;
        }
        catch (error) {
            if (error instanceof artifact/* ArtifactNotFoundError */.CL)
                return undefined;
            throw this.explain(error);
        }
    }
    /** undefined for the current run; resolved once, since 'latest' costs a REST call. */
    resolveFindBy() {
        const ref = this.options.fromRun;
        if (!ref)
            return Promise.resolve(undefined);
        this.findBy ??= this.findByFor(ref, this.options.apiUrl ?? DEFAULT_API_URL);
        return this.findBy;
    }
    async findByFor(ref, apiUrl) {
        const [owner, repo, extra] = ref.repository.split('/');
        if (!owner || !repo || extra !== undefined) {
            throw new errors/* UserError */.y(`Invalid repository "${ref.repository}": use "owner/name".`);
        }
        if (ref.runId === 'latest')
            this.latest = await findLatestRunWithArtifact(ref, apiUrl, this.name);
        const runId = ref.runId === 'latest' ? this.latest.runId : ref.runId;
        return { token: ref.token, workflowRunId: runId, repositoryOwner: owner, repositoryName: repo };
    }
    /** The run the files came from, for the summary: another run's id, and why that one when 'latest'. */
    origin() {
        const ref = this.options.fromRun;
        if (!ref)
            return undefined;
        if (ref.runId !== 'latest' || !this.latest)
            return describeRun(ref);
        const { runId, passedOver } = this.latest;
        const skipped = passedOver.length
            ? `; ${passedOver.length} newer run${passedOver.length > 1 ? 's' : ''} (${passedOver.join(', ')}) no longer had it`
            : '';
        return `run ${runId} of ${ref.repository}, the latest successful run of ${ref.workflow ?? ''}${ref.branch ? ` on ${ref.branch}` : ''} with this artifact${skipped}`;
    }
    runLabel() {
        return this.options.fromRun ? describeRun(this.options.fromRun) : 'this workflow run';
    }
    /** Turns what the clients throw into one sentence the user can act on, when there is one. */
    explain(error) {
        if (error instanceof errors/* UserError */.y)
            return error;
        const status = httpStatus(error);
        const repository = this.options.fromRun?.repository ?? 'this repository';
        if (status === 401 || status === 403)
            return tokenError(status, repository);
        if (status === 404) {
            return new errors/* UserError */.y(`${this.runLabel()} was not found (HTTP 404): check the run id and the repository.`);
        }
        if (status === 410) {
            return new errors/* UserError */.y(`${this.description} has expired: archive it again (or raise its retention days).`);
        }
        const message = (0,errors/* errorMessage */.g)(error);
        if (message.includes('(409)')) {
            return new errors/* UserError */.y(`An artifact named "${this.name}" already exists in this run: names are unique per run, ` +
                'so add the job or matrix values to the name.');
        }
        return new Error(`${this.description}: ${message}`, { cause: error });
    }
}
function describeRun(ref) {
    if (ref.runId !== 'latest')
        return `run ${ref.runId} of ${ref.repository}`;
    const branch = ref.branch ? ` on ${ref.branch}` : '';
    return `the latest successful run of ${ref.workflow ?? '(no workflow)'}${branch} in ${ref.repository}`;
}
/** The HTTP status of an Octokit RequestError (not a direct dependency, so matched by shape). */
function httpStatus(error) {
    const status = error?.status;
    return typeof status === 'number' ? status : undefined;
}


/***/ })

};
