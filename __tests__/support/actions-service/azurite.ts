import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
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
  /** Cuts the connection of the next block upload (Put Block) once `afterBytes` of it have gone through. */
  cutNextBlockUpload(afterBytes: number): void;
  /** Block uploads begun and connections cut so far (signed URLs go through a gate that counts them). */
  traffic(): { blockUploads: number; cuts: number };
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
  const gate = await startGate(new URL(origin));
  return {
    // The SAS signature does not cover the host, so clients can be sent through the gate.
    signedUrl: async (container, blob, permissions) =>
      (
        await blobClient(container, blob).generateSasUrl({
          permissions: BlobSASPermissions.parse(permissions),
          expiresOn: new Date(Date.now() + SAS_LIFETIME_MS),
        })
      ).replace(origin, gate.origin),
    exists: (container, blob) => blobClient(container, blob).exists(),
    cutNextBlockUpload: (afterBytes) => (gate.cutAfter = afterBytes),
    traffic: () => ({ ...gate.traffic }),
    stop: async () => {
      await gate.stop();
      await stopChild(child);
    },
  };
}

interface Gate {
  origin: string;
  /** Armed by cutNextBlockUpload; null when no cut is pending. */
  cutAfter: number | null;
  traffic: { blockUploads: number; cuts: number };
  stop(): Promise<void>;
}

/**
 * A TCP relay in front of Azurite that can cut a block upload mid-body, the way a dropped connection
 * does: the client has sent part of the block and gets a reset instead of an answer.
 */
async function startGate(target: URL): Promise<Gate> {
  const sockets = new Set<Socket>();
  const gate: Gate = {
    origin: '',
    cutAfter: null,
    traffic: { blockUploads: 0, cuts: 0 },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    let budget: number | null = null; // bytes this connection may still send before it is cut
    client.on('data', (chunk: Buffer) => {
      if (/^PUT \S*comp=block[&\s]/.test(chunk.toString('latin1', 0, Math.min(chunk.length, 4096)))) {
        gate.traffic.blockUploads++;
        if (gate.cutAfter !== null && budget === null) [budget, gate.cutAfter] = [gate.cutAfter, null];
      }
      if (budget !== null && chunk.length >= budget) {
        upstream.write(chunk.subarray(0, budget));
        gate.traffic.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      if (budget !== null) budget -= chunk.length;
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gate.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return gate;
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
