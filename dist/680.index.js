export const id = 680;
export const ids = [680];
export const modules = {

/***/ 48680:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   CacheStore: () => (/* binding */ CacheStore)
/* harmony export */ });
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(51455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(76760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _actions_cache__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(18091);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(83916);
/* harmony import */ var _files_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(10393);





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
        this.stagingDir = node_path__WEBPACK_IMPORTED_MODULE_1__.join(options.tempDir, STAGING_DIR);
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
        // entries are immutable: saving an existing key would be skipped with only a log line
        if ((await this.lookup([])) === this.key) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .UserError */ .y(`The cache key "${this.key}" already exists and cache entries cannot be replaced: ` +
                'put something that changes (a hash of the inputs, or the run id) in the key.');
        }
        const root = (0,_files_js__WEBPACK_IMPORTED_MODULE_4__/* .commonRoot */ .MX)(files);
        const relatives = files.map((file) => node_path__WEBPACK_IMPORTED_MODULE_1__.relative(root, node_path__WEBPACK_IMPORTED_MODULE_1__.resolve(file)));
        const bytes = await (0,_files_js__WEBPACK_IMPORTED_MODULE_4__/* .totalBytes */ .ob)(files);
        await this.resetStaging();
        try {
            for (const [index, relative] of relatives.entries()) {
                await (0,_files_js__WEBPACK_IMPORTED_MODULE_4__/* .copyFileStreamed */ .JL)(files[index], node_path__WEBPACK_IMPORTED_MODULE_1__.join(this.stagingDir, relative));
            }
            const id = await this.inTempDir(() => _actions_cache__WEBPACK_IMPORTED_MODULE_2__/* .saveCache */ .Io([STAGING_DIR], this.key)).catch(rethrowValidation);
            // the client logs why it failed and returns -1 rather than throwing
            if (id === -1)
                throw new Error(`Saving ${this.description} failed: see the warning above.`);
            return { location: `${this.description} (id ${id})`, id, files: relatives, bytes };
        }
        finally {
            await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(this.stagingDir, { recursive: true, force: true });
        }
    }
    async restore(destDir) {
        await this.resetStaging();
        try {
            const matched = await this.inTempDir(() => _actions_cache__WEBPACK_IMPORTED_MODULE_2__/* .restoreCache */ .P3([STAGING_DIR], this.key, this.options.restoreKeys)).catch(rethrowValidation);
            if (matched === undefined)
                return [];
            const restored = await (0,_files_js__WEBPACK_IMPORTED_MODULE_4__/* .moveFiles */ .px)(this.stagingDir, destDir);
            if (restored.length === 0) {
                throw new Error(`The cache entry ${matched} restored no files into ${this.stagingDir}: it was saved on a runner ` +
                    'whose workspace and temp directories are laid out differently.');
            }
            return restored;
        }
        finally {
            await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(this.stagingDir, { recursive: true, force: true });
        }
    }
    lookup(restoreKeys) {
        return this.inTempDir(() => _actions_cache__WEBPACK_IMPORTED_MODULE_2__/* .restoreCache */ .P3([STAGING_DIR], this.key, restoreKeys, { lookupOnly: true })).catch(rethrowValidation);
    }
    async resetStaging() {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(this.stagingDir, { recursive: true, force: true });
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdir(this.stagingDir, { recursive: true });
    }
    /** The client globs the cache path from the cwd. Process-wide: other code running meanwhile sees it too. */
    async inTempDir(operation) {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdir(this.options.tempDir, { recursive: true });
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
/** A bad key is the user's to fix; the client throws ValidationError only for that (and for paths). */
function rethrowValidation(error) {
    if (error instanceof _actions_cache__WEBPACK_IMPORTED_MODULE_2__/* .ValidationError */ .yI)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_3__/* .UserError */ .y(`Invalid cache key: ${error.message}`);
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
