export const id = 386;
export const ids = [386];
export const modules = {

/***/ 71386:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   S3Store: () => (/* binding */ S3Store)
/* harmony export */ });
/* unused harmony export s3ClientFromEnv */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(73024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(51455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(76760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(57075);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_stream__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(46466);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_4___default = /*#__PURE__*/__webpack_require__.n(node_stream_promises__WEBPACK_IMPORTED_MODULE_4__);
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(53711);
/* harmony import */ var _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(22358);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(83916);
/* harmony import */ var _files_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(10393);
/* harmony import */ var _spec_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(94591);










/**
 * The client from the standard AWS environment (the SDK's own chain: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, profiles, roles). An endpoint (AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL) means an S3-compatible server (MinIO, R2, Ceph...): those want path-style addresses.
 */
function s3ClientFromEnv(env = process.env) {
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    return new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_9__.S3Client({
        endpoint,
        forcePathStyle: endpoint !== undefined,
        // S3-compatible servers rarely care; AWS itself redirects a wrong region with a clear error
        region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
        // keys in env are used as given; without them the SDK's chain (profiles, web identity, roles) applies
        credentials: env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
            ? {
                accessKeyId: env.AWS_ACCESS_KEY_ID,
                secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
                sessionToken: env.AWS_SESSION_TOKEN || undefined,
            }
            : undefined,
    });
}
/** Parts of 8 MiB, 4 in flight: an upload holds ~32 MiB whatever the archive's size (S3 allows 10,000 parts: 80 GiB). */
const PART_BYTES = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;
/**
 * `s3://BUCKET/KEY`: objects in S3 or an S3-compatible store. As an archive target KEY is a folder: each
 * archive becomes KEY/<file>, and an object already there is never replaced. As a seed source KEY is one
 * object, or a prefix ending in `/` whose newest archive is used. Archives stream both ways (multipart upload,
 * ranged and whole GETs): nothing is staged on the runner.
 */
class S3Store {
    url;
    client;
    description;
    streams = true;
    bucket;
    key;
    constructor(url, client = s3ClientFromEnv()) {
        this.url = url;
        this.client = client;
        ({ bucket: this.bucket, key: this.key } = (0,_spec_js__WEBPACK_IMPORTED_MODULE_8__/* .parseS3Url */ .F)(url));
        this.description = `S3 ${url}`;
    }
    /** Uploads staged files (when another target needed them on disk): each streamed from its file. */
    async put(files) {
        if (files.length === 0)
            throw new Error(`Nothing to store in ${this.description}.`);
        const root = (0,_files_js__WEBPACK_IMPORTED_MODULE_7__/* .commonRoot */ .MX)(files);
        const relatives = files.map((file) => node_path__WEBPACK_IMPORTED_MODULE_2__.relative(root, node_path__WEBPACK_IMPORTED_MODULE_2__.resolve(file)).split(node_path__WEBPACK_IMPORTED_MODULE_2__.sep).join('/'));
        for (const relative of relatives)
            await this.assertAbsent(this.objectKey(relative));
        for (const [index, relative] of relatives.entries()) {
            const upload = this.upload(relative);
            await Promise.all([
                (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_4__.pipeline)((0,node_fs__WEBPACK_IMPORTED_MODULE_0__.createReadStream)(files[index]), upload.stream),
                upload.done,
            ]).catch(async (error) => {
                await upload.discard();
                throw error;
            });
        }
        return { location: this.description, files: relatives, bytes: await (0,_files_js__WEBPACK_IMPORTED_MODULE_7__/* .totalBytes */ .ob)(files) };
    }
    /** Downloads what a seed would read (the object, or the newest archive of each name under the prefix). */
    async get(destDir) {
        const files = [];
        const seen = new Set();
        for (const blob of await this.objects()) {
            const name = node_path__WEBPACK_IMPORTED_MODULE_2__.posix.basename(blob.location);
            if (seen.has(name))
                continue;
            seen.add(name);
            const dest = node_path__WEBPACK_IMPORTED_MODULE_2__.join(destDir, name);
            await node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir(destDir, { recursive: true });
            await (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_4__.pipeline)(blob.open(), (0,node_fs__WEBPACK_IMPORTED_MODULE_0__.createWriteStream)(dest));
            files.push(dest);
        }
        return files;
    }
    async list() {
        return (await this.objects()).map((blob) => blob.location);
    }
    async exists() {
        return (await this.objects().catch(() => [])).length > 0;
    }
    /** The object KEY, or every object under the prefix KEY/, newest first. A missing object is the user's to fix. */
    async objects() {
        if (this.key !== '' && !this.key.endsWith('/')) {
            const head = await this.send(() => this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_9__.HeadObjectCommand({ Bucket: this.bucket, Key: this.key })));
            return [this.blob({ Key: this.key, LastModified: head.LastModified, Size: head.ContentLength })];
        }
        const found = await this.listUnder(this.key);
        if (found.length === 0) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .UserError */ .y(`No objects under ${this.url}: check the bucket and the prefix (and that the backup job has written there).`);
        }
        return found
            .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0))
            .map((object) => this.blob(object));
    }
    /** A multipart upload of KEY/name fed by `stream`; `done` settles once the object is complete. */
    upload(name) {
        const key = this.objectKey(name);
        const stream = new node_stream__WEBPACK_IMPORTED_MODULE_3__.PassThrough();
        const upload = new _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_5__/* .Upload */ ._({
            client: this.client,
            params: { Bucket: this.bucket, Key: key, Body: stream },
            partSize: PART_BYTES,
            queueSize: PARTS_IN_FLIGHT,
        });
        let completed = false;
        const done = this.send(() => upload.done()).then(() => {
            completed = true;
        });
        done.catch(() => stream.destroy()); // a refused upload stops the archive that feeds it
        return {
            location: `s3://${this.bucket}/${key}`,
            stream,
            done,
            discard: async () => {
                stream.destroy();
                if (!completed) {
                    await upload.abort().catch(() => undefined); // no parts left behind
                    await done.catch(() => undefined);
                }
                if (completed)
                    await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_9__.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
            },
        };
    }
    /** Before anything is archived: an object of that name would be replaced, and it may be the last good backup. */
    async assertAbsent(key) {
        const exists = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_9__.HeadObjectCommand({ Bucket: this.bucket, Key: key })).then(() => true, (error) => {
            if (httpStatus(error) === 404)
                return false;
            throw this.explain(error, `s3://${this.bucket}/${key}`);
        });
        if (exists) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .UserError */ .y(`s3://${this.bucket}/${key} already exists and is never replaced: archive to a new prefix each time (put the date or the run id in it, e.g. s3://${this.bucket}/nightly/\${{ github.run_id }}/), and seed from the parent prefix ending in / (its newest archive is used).`);
        }
    }
    /** The key of a file of the unit: KEY is a folder (a `/` is added). */
    objectKey(name) {
        const folder = this.key === '' || this.key.endsWith('/') ? this.key : `${this.key}/`;
        return `${folder}${name}`;
    }
    async listUnder(prefix) {
        const found = [];
        let token;
        do {
            const page = await this.send(() => this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_9__.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })));
            found.push(...(page.Contents ?? []).filter((o) => o.Key && !o.Key.endsWith('/')));
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        return found;
    }
    blob(object) {
        const key = object.Key;
        const location = `s3://${this.bucket}/${key}`;
        return {
            location,
            modifiedAt: object.LastModified,
            size: object.Size,
            open: (range) => this.read(key, location, range),
        };
    }
    /** A GET streamed into the returned stream; its errors (a missing object, bad credentials) end it. */
    read(key, location, range) {
        const out = new node_stream__WEBPACK_IMPORTED_MODULE_3__.PassThrough();
        const Range = range ? `bytes=${range.start}-${range.end}` : undefined;
        this.client
            .send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_9__.GetObjectCommand({ Bucket: this.bucket, Key: key, Range }))
            .then(async ({ Body }) => {
            if (!Body)
                throw new Error('the response had no body');
            await (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_4__.pipeline)(Body, out);
        })
            .catch((error) => out.destroy(this.explain(error, location)));
        return out;
    }
    send(operation) {
        return operation().catch((error) => Promise.reject(this.explain(error, this.url)));
    }
    /** What the SDK throws, as one line naming the URL and the fix. */
    explain(error, location) {
        if (error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .UserError */ .y)
            return error;
        const name = error?.name;
        const status = httpStatus(error);
        const code = typeof name === 'string' ? name : `HTTP ${status}`;
        if (code === 'NoSuchBucket') {
            return new _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .UserError */ .y(`S3 bucket ${this.bucket} does not exist (${location}): check the bucket name and the endpoint (AWS_ENDPOINT_URL_S3).`);
        }
        if (status === 404 || code === 'NoSuchKey' || code === 'NotFound') {
            return new _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .UserError */ .y(`No object at ${location} (${code}): check the key, or end it with / to use the newest object under a prefix.`);
        }
        if (status === 401 || status === 403 || CREDENTIAL_ERRORS.has(code)) {
            return new _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .UserError */ .y(`S3 refused ${location} (${code}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), and that they may read and write that bucket.`);
        }
        if (code === 'CredentialsProviderError') {
            return new _errors_js__WEBPACK_IMPORTED_MODULE_6__/* .UserError */ .y(`No AWS credentials for ${location}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a role) in the step's env.`);
        }
        return new Error(`${location}: ${(0,_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .errorMessage */ .g)(error)}`, { cause: error });
    }
}
const CREDENTIAL_ERRORS = new Set([
    'InvalidAccessKeyId',
    'SignatureDoesNotMatch',
    'AccessDenied',
    'ExpiredToken',
]);
function httpStatus(error) {
    const status = error?.$metadata?.httpStatusCode;
    return typeof status === 'number' ? status : undefined;
}


/***/ })

};
