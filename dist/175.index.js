export const id = 175;
export const ids = [175];
export const modules = {

/***/ 20175:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  CacheStore: () => (/* binding */ CacheStore)
});

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./node_modules/@actions/cache/lib/cache.js + 91 modules
var cache = __webpack_require__(18091);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(83916);
;// CONCATENATED MODULE: ./src/stores/cache-failure.ts

const TO_ARTIFACT = 'archive to an artifact instead (archive-to: artifact), or save the cache from a push or scheduled run and only restore it in runs like this one';
const SAVE_CAUSES = [
    {
        // "Cache save skipped: the effective cache-mode 'read' does not permit writes."
        found: /Cache save skipped: the effective cache-mode '([^']*)'/,
        explain: (mode) => `the runner set ACTIONS_CACHE_MODE=${mode} for this job, so the cache ${mode === 'none' ? 'is off' : 'can be read but not written'} here. Fix: ${TO_ARTIFACT}.`,
        users: true,
    },
    {
        // CreateCacheEntry answered "cache write denied: ..." (the token was issued read-only).
        found: /(cache write denied:[^\n"]*)/, // the detail ends where a JSON string in a debug line would
        explain: (detail) => `the cache service refused the write ("${detail.trim()}"): this run's token may only read the cache, as GitHub issues it for runs it does not trust, such as a pull request from a fork. Fix: ${TO_ARTIFACT}.`,
        users: true,
    },
    {
        // A UsageError, reported only in a debug line before the client words it as a reservation failure.
        found: /(Cache storage quota has been hit[^\n]*)/,
        explain: () => "the repository's Actions cache storage is full (the service answered \"Cache storage quota has been hit\"). Fix: delete cache entries you no longer need (`gh cache delete KEY`, or the repository's Actions \u2192 Caches page), raise the cache storage limit in the repository's or organisation's Actions settings, or archive to an artifact instead (archive-to: artifact).",
        users: true,
    },
    {
        found: /(Rate limited:[^\n]*)/,
        explain: (detail) => `the cache service rate-limited this run ("${detail.trim()}"). Fix: run the job again later, or archive to an artifact instead (archive-to: artifact).`,
        users: false,
    },
    {
        // What the client says for any other refusal to reserve the key (our own check found no such key).
        found: /(another job may be creating this cache)/,
        explain: () => 'the cache service would not reserve the key: most likely another job is saving the same key right now. Fix: make the key unique per job, e.g. with `${{ github.run_id }}-${{ github.job }}` in it.',
        users: true,
    },
];
/** "Cache restore skipped: the effective cache-mode 'none' does not permit reads." */
const READS_OFF = /Cache restore skipped: the effective cache-mode '([^']*)'/;
const RESTORE_CAUSES = [
    {
        found: READS_OFF,
        explain: (mode) => `the runner set ACTIONS_CACHE_MODE=${mode} for this job, so the cache cannot be read here (this is not a cache miss). Fix: seed from an artifact or a path instead, or run the job where the cache can be read.`,
        users: true,
    },
    {
        found: /(cache read denied:[^\n"]*)/,
        explain: (detail) => `the cache service refused the read ("${detail.trim()}"): this run's token may not read the cache (this is not a cache miss). Fix: seed from an artifact or a path instead, or run the job where the cache can be read.`,
        users: true,
    },
    {
        // Any other failure: the client reports it as a miss after this warning or error line.
        found: /Failed to restore: ([^\n]*)/,
        explain: (detail) => `${detail.trim()} (the cache client reports this as a miss; it is not one).`,
        users: false,
    },
];
/** The error for a save that stored nothing; the client's last warning when no cause is known. */
function cacheSaveFailure(what, clientLog) {
    return (explain(`Saving ${what} failed: `, SAVE_CAUSES, clientLog) ??
        new Error(`Saving ${what} failed: ${lastClientWarning(clientLog) ?? '@actions/cache stored nothing and did not say why'}.`));
}
/** The error for a restore that the client reported as a miss but was not one; undefined for a real miss. */
function cacheRestoreFailure(what, clientLog) {
    return explain(`Restoring ${what} failed: `, RESTORE_CAUSES, clientLog);
}
/** The client did not look at all: the job's cache-mode forbids reads (a write-only job). */
function cacheReadsOff(clientLog) {
    return READS_OFF.test(clientLog);
}
function explain(prefix, causes, clientLog) {
    const text = unescapeCommands(clientLog);
    for (const cause of causes) {
        const match = cause.found.exec(text);
        if (!match)
            continue;
        const message = prefix + cause.explain(match[1] ?? match[0]);
        return cause.users ? new errors/* UserError */.y(message) : new Error(message);
    }
    return undefined;
}
/** `::warning::Failed to save: X` \u2192 `Failed to save: X`. */
function lastClientWarning(clientLog) {
    const warnings = [...clientLog.matchAll(/^::(?:warning|error)(?: [^:]*)?::(.*)$/gm)];
    const last = warnings.at(-1)?.[1];
    return last === undefined ? undefined : unescapeCommands(last).replace(/\s*\n\s*/g, ' ');
}
/** Workflow commands carry a message's newlines as %0A (and % as %25): undone, so a line is a line. */
function unescapeCommands(text) {
    return text.replace(/%0D/g, '').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

// EXTERNAL MODULE: ./src/stores/files.ts
var stores_files = __webpack_require__(10393);
;// CONCATENATED MODULE: ./src/stores/cache-store.ts






/** Every cache entry of ours holds this one folder, so restore-key matches land in the same place. */
const STAGING_DIR = 'compose-persist-cache';
/**
 * `cache:KEY`: one Actions cache entry holding every file. @actions/cache globs the paths it is given from the
 * cwd (no "..": so a path outside the cwd must be absolute), hashes the path strings into the entry's version
 * and tars relative to GITHUB_WORKSPACE (else the cwd). To keep that version the same on every runner, the
 * files are staged in tempDir/compose-persist-cache and named "compose-persist-cache" while the cwd is tempDir.
 * Env read by @actions/cache: ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL, ACTIONS_CACHE_SERVICE_V2 (the v2
 * protocol), RUNNER_TEMP, GITHUB_WORKSPACE, GITHUB_SERVER_URL; it runs `tar` and `zstd` (gzip if missing).
 */
class CacheStore {
    key;
    options;
    description;
    stagingDir;
    constructor(key, options) {
        this.key = key;
        this.options = options;
        this.description = `cache key ${key}`;
        this.stagingDir = external_node_path_.join(options.tempDir, STAGING_DIR);
    }
    put(files) {
        return serialized(() => this.save(files));
    }
    /** Restores the key (or the newest entry matching a restore key) into destDir; [] on a miss. */
    get(destDir) {
        return serialized(() => this.restore(destDir));
    }
    /** The key a get() would restore: this one, or one matched by a restore key; [] on a miss. */
    async list() {
        const matched = await serialized(() => this.lookup(this.options.restoreKeys));
        return matched === undefined ? [] : [matched];
    }
    async exists() {
        return (await this.list()).length > 0;
    }
    async save(files) {
        if (files.length === 0)
            throw new Error(`Nothing to store in ${this.description}.`);
        // entries are immutable: saving an existing key would be skipped with only a log line. A write-only job
        // cannot look; the service then refuses a duplicate key itself.
        if ((await this.lookup([], { readsMayBeOff: true })) === this.key) {
            throw new errors/* UserError */.y(`The cache key "${this.key}" already exists and cache entries cannot be replaced: ` +
                'put something that changes (a hash of the inputs, or the run id) in the key.');
        }
        const root = (0,stores_files/* commonRoot */.MX)(files);
        const relatives = files.map((file) => external_node_path_.relative(root, external_node_path_.resolve(file)));
        const bytes = await (0,stores_files/* totalBytes */.ob)(files);
        await this.resetStaging();
        try {
            for (const [index, relative] of relatives.entries()) {
                await (0,stores_files/* copyFileStreamed */.JL)(files[index], external_node_path_.join(this.stagingDir, relative));
            }
            const { result: id, clientLog } = await withClientLog(() => this.inTempDir(() => cache/* saveCache */.Io([STAGING_DIR], this.key))).catch(rethrowValidation);
            // the client returns -1 rather than throwing, and says why only in its log
            if (id === -1)
                throw cacheSaveFailure(this.description, clientLog);
            return { location: `${this.description} (id ${id})`, id, files: relatives, bytes };
        }
        finally {
            await promises_.rm(this.stagingDir, { recursive: true, force: true });
        }
    }
    async restore(destDir) {
        await this.resetStaging();
        try {
            const matched = await this.restoreOrMiss(() => cache/* restoreCache */.P3([STAGING_DIR], this.key, this.options.restoreKeys));
            if (matched === undefined)
                return [];
            const restored = await (0,stores_files/* moveFiles */.px)(this.stagingDir, destDir);
            if (restored.length === 0) {
                throw new Error(`The cache entry ${matched} restored no files into ${this.stagingDir}: it was saved on a runner ` +
                    'whose workspace and temp directories are laid out differently.');
            }
            return restored;
        }
        finally {
            await promises_.rm(this.stagingDir, { recursive: true, force: true });
        }
    }
    lookup(restoreKeys, options = {}) {
        return this.restoreOrMiss(() => cache/* restoreCache */.P3([STAGING_DIR], this.key, restoreKeys, { lookupOnly: true }), options.readsMayBeOff);
    }
    /**
     * The key restored, or undefined on a real miss. A read the client reports as a miss but that was refused
     * or skipped (cache-mode) throws, saying why; `readsMayBeOff` lets a skipped one pass as a miss.
     */
    async restoreOrMiss(restore, readsMayBeOff = false) {
        const { result, clientLog } = await withClientLog(() => this.inTempDir(restore)).catch(rethrowValidation);
        if (result !== undefined)
            return result;
        if (readsMayBeOff && cacheReadsOff(clientLog))
            return undefined;
        const failure = cacheRestoreFailure(this.description, clientLog);
        if (failure)
            throw failure;
        return undefined;
    }
    async resetStaging() {
        await promises_.rm(this.stagingDir, { recursive: true, force: true });
        await promises_.mkdir(this.stagingDir, { recursive: true });
    }
    /** The client globs the cache path from the cwd. Process-wide: other code running meanwhile sees it too. */
    async inTempDir(operation) {
        await promises_.mkdir(this.options.tempDir, { recursive: true });
        const previous = process.cwd();
        process.chdir(this.options.tempDir);
        try {
            return await operation();
        }
        finally {
            process.chdir(previous);
        }
    }
}
/**
 * Runs a client call and keeps what it printed meanwhile (it still reaches the log): @actions/cache reports why
 * it stored or restored nothing only there. Process-wide like inTempDir; cache operations are serialized.
 */
async function withClientLog(operation) {
    const chunks = [];
    const stdout = process.stdout;
    const write = stdout.write;
    stdout.write = (...args) => {
        chunks.push(typeof args[0] === 'string' ? args[0] : Buffer.from(args[0]).toString('utf8'));
        return write.apply(process.stdout, args);
    };
    try {
        return { result: await operation(), clientLog: chunks.join('') };
    }
    finally {
        stdout.write = write;
    }
}
/** A bad key is the user's to fix; the client throws ValidationError only for that (and for paths). */
function rethrowValidation(error) {
    if (error instanceof cache/* ValidationError */.yI)
        throw new errors/* UserError */.y(`Invalid cache key: ${error.message}`);
    throw error;
}
let queue = Promise.resolve();
/** One cache operation at a time: they all share the staging folder. */
function serialized(operation) {
    const result = queue.then(operation);
    queue = result.catch(() => undefined);
    return result;
}


/***/ })

};
