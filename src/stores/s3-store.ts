import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type _Object,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArchiveBlob } from '../archive/blob.js';
import { UserError, errorMessage } from '../errors.js';
import { commonRoot, totalBytes } from './files.js';
import { parseS3Url } from './spec.js';
import type { ArchiveUpload, StoredArchives, StreamingStore } from './types.js';

/**
 * The client from the standard AWS environment (the SDK's own chain: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, profiles, roles). An endpoint (AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL) means an S3-compatible server (MinIO, R2, Ceph...): those want path-style addresses.
 */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return new S3Client({
    endpoint,
    forcePathStyle: endpoint !== undefined,
    // S3-compatible servers rarely care; AWS itself redirects a wrong region with a clear error
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    // keys in env are used as given; without them the SDK's chain (profiles, web identity, roles) applies
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
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
export class S3Store implements StreamingStore {
  readonly description: string;
  readonly streams = true;
  private readonly bucket: string;
  private readonly key: string;

  constructor(
    private readonly url: string,
    private readonly client: S3Client = s3ClientFromEnv(),
  ) {
    ({ bucket: this.bucket, key: this.key } = parseS3Url(url));
    this.description = `S3 ${url}`;
  }

  /** Uploads staged files (when another target needed them on disk): each streamed from its file. */
  async put(files: string[]): Promise<StoredArchives> {
    if (files.length === 0) throw new Error(`Nothing to store in ${this.description}.`);
    const root = commonRoot(files);
    const relatives = files.map((file) => path.relative(root, path.resolve(file)).split(path.sep).join('/'));
    for (const relative of relatives) await this.assertAbsent(this.objectKey(relative));
    for (const [index, relative] of relatives.entries()) {
      const upload = this.upload(relative);
      await Promise.all([
        pipeline(createReadStream(files[index] as string), upload.stream),
        upload.done,
      ]).catch(async (error: unknown) => {
        await upload.discard();
        throw error;
      });
    }
    return { location: this.description, files: relatives, bytes: await totalBytes(files) };
  }

  /** Downloads what a seed would read (the object, or the newest archive of each name under the prefix). */
  async get(destDir: string): Promise<string[]> {
    const files: string[] = [];
    const seen = new Set<string>();
    for (const blob of await this.objects()) {
      const name = path.posix.basename(blob.location);
      if (seen.has(name)) continue;
      seen.add(name);
      const dest = path.join(destDir, name);
      await fs.mkdir(destDir, { recursive: true });
      await pipeline(blob.open(), createWriteStream(dest));
      files.push(dest);
    }
    return files;
  }

  async list(): Promise<string[]> {
    return (await this.objects()).map((blob) => blob.location);
  }

  async exists(): Promise<boolean> {
    return (await this.objects().catch(() => [])).length > 0;
  }

  /** The object KEY, or every object under the prefix KEY/, newest first. A missing object is the user's to fix. */
  async objects(): Promise<ArchiveBlob[]> {
    if (this.key !== '' && !this.key.endsWith('/')) {
      const head = await this.send(() =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key })),
      );
      return [this.blob({ Key: this.key, LastModified: head.LastModified, Size: head.ContentLength })];
    }
    const found = await this.listUnder(this.key);
    if (found.length === 0) {
      throw new UserError(
        `No objects under ${this.url}: check the bucket and the prefix (and that the backup job has written there).`,
      );
    }
    return found
      .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0))
      .map((object) => this.blob(object));
  }

  /** A multipart upload of KEY/name fed by `stream`; `done` settles once the object is complete. */
  upload(name: string): ArchiveUpload {
    const key = this.objectKey(name);
    const stream = new PassThrough();
    const upload = new Upload({
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
        if (completed) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
      },
    };
  }

  /** Before anything is archived: an object of that name would be replaced, and it may be the last good backup. */
  async assertAbsent(key: string): Promise<void> {
    const exists = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })).then(
      () => true,
      (error: unknown) => {
        if (httpStatus(error) === 404) return false;
        throw this.explain(error, `s3://${this.bucket}/${key}`);
      },
    );
    if (exists) {
      throw new UserError(
        `s3://${this.bucket}/${key} already exists and is never replaced: archive to a new prefix each time (put the date or the run id in it, e.g. s3://${this.bucket}/nightly/\${{ github.run_id }}/), and seed from the parent prefix ending in / (its newest archive is used).`,
      );
    }
  }

  /** The key of a file of the unit: KEY is a folder (a `/` is added). */
  objectKey(name: string): string {
    const folder = this.key === '' || this.key.endsWith('/') ? this.key : `${this.key}/`;
    return `${folder}${name}`;
  }

  private async listUnder(prefix: string): Promise<_Object[]> {
    const found: _Object[] = [];
    let token: string | undefined;
    do {
      const page = await this.send(() =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        ),
      );
      found.push(...(page.Contents ?? []).filter((o) => o.Key && !o.Key.endsWith('/')));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  private blob(object: _Object): ArchiveBlob {
    const key = object.Key as string;
    const location = `s3://${this.bucket}/${key}`;
    return {
      location,
      modifiedAt: object.LastModified,
      size: object.Size,
      open: (range) => this.read(key, location, range),
    };
  }

  /** A GET streamed into the returned stream; its errors (a missing object, bad credentials) end it. */
  private read(key: string, location: string, range?: { start: number; end: number }): Readable {
    const out = new PassThrough();
    const Range = range ? `bytes=${range.start}-${range.end}` : undefined;
    this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range }))
      .then(async ({ Body }) => {
        if (!Body) throw new Error('the response had no body');
        await pipeline(Body as Readable, out);
      })
      .catch((error: unknown) => out.destroy(this.explain(error, location)));
    return out;
  }

  private send<T>(operation: () => Promise<T>): Promise<T> {
    return operation().catch((error: unknown) => Promise.reject(this.explain(error, this.url)));
  }

  /** What the SDK throws, as one line naming the URL and the fix. */
  private explain(error: unknown, location: string): Error {
    if (error instanceof UserError) return error;
    const name = (error as { name?: unknown } | null)?.name;
    const status = httpStatus(error);
    const code = typeof name === 'string' ? name : `HTTP ${status}`;
    if (code === 'NoSuchBucket') {
      return new UserError(
        `S3 bucket ${this.bucket} does not exist (${location}): check the bucket name and the endpoint (AWS_ENDPOINT_URL_S3).`,
      );
    }
    if (status === 404 || code === 'NoSuchKey' || code === 'NotFound') {
      return new UserError(
        `No object at ${location} (${code}): check the key, or end it with / to use the newest object under a prefix.`,
      );
    }
    if (status === 401 || status === 403 || CREDENTIAL_ERRORS.has(code)) {
      return new UserError(
        `S3 refused ${location} (${code}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), and that they may read and write that bucket.`,
      );
    }
    if (code === 'CredentialsProviderError') {
      return new UserError(
        `No AWS credentials for ${location}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a role) in the step's env.`,
      );
    }
    return new Error(`${location}: ${errorMessage(error)}`, { cause: error });
  }
}

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
]);

function httpStatus(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}
