import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { BlobSASPermissions, BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';

// Azurite's well-known development account (public, documented by Microsoft; not a secret)
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const SAS_LIFETIME_MS = 60 * 60 * 1000;

export interface BlobStorage {
  /** A SAS URL for one blob: 'cw' to upload, 'r' to download. */
  signedUrl(container: string, blob: string, permissions: 'cw' | 'r'): Promise<string>;
  exists(container: string, blob: string): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Azurite's blob service as a child process on 127.0.0.1 and a free port, in memory (nothing written to the
 * repository); `cwd` only catches anything it might write anyway.
 */
export async function startAzurite(cwd: string, containers: string[]): Promise<BlobStorage> {
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');
  const child = spawn(
    process.execPath,
    [
      main,
      ...[
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        '0',
        '--inMemoryPersistence',
        '--extentMemoryLimit',
        '512',
      ],
      ...['--loose', '--skipApiVersionCheck', '--disableTelemetry', '--silent'],
    ],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const origin = await listeningUrl(child);
  const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY);
  const service = new BlobServiceClient(`${origin}/${ACCOUNT}`, credential);
  for (const container of containers) await service.getContainerClient(container).createIfNotExists();
  const blobClient = (container: string, blob: string) =>
    service.getContainerClient(container).getBlockBlobClient(blob);
  return {
    signedUrl: (container, blob, permissions) =>
      blobClient(container, blob).generateSasUrl({
        permissions: BlobSASPermissions.parse(permissions),
        expiresOn: new Date(Date.now() + SAS_LIFETIME_MS),
      }),
    exists: (container, blob) => blobClient(container, blob).exists(),
    stop: () => stopChild(child),
  };
}

/** Azurite prints "successfully listens on http://127.0.0.1:PORT" once the port is bound. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start in 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listens on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (!match?.[1]) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stdout?.resume(); // keep draining so the child never blocks on a full pipe
      resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited (${code}) before listening:\n${output}`));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
