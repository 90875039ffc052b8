import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { localEngineSocket } from '../support/local-engine.js';
import { cli, runOk } from '../volumes/fixtures.js';
import { Cleanup, createUserVolume, digestOf, engine, uniqueName } from './support.js';

// A remote engine (DOCKER_HOST=tcp://...) stood in for by a TCP proxy to the local socket: the CLI must
// archive, seed and digest through it exactly as through the socket (ssh://: engine-ssh.itg.test.ts).
const SOCKET = localEngineSocket();
const cleanup = new Cleanup();
let proxy: Server;
let port: number;
const traffic = { connections: 0, bytesFromEngine: 0 };
let dir: string;
let source: string;
let socketDigest: string;

function tcpEnv(host: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host };
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CERT_PATH;
  delete env.DOCKER_CONTEXT;
  return env;
}

function startProxy(): Promise<Server> {
  const server = createServer((client) => {
    traffic.connections++;
    const upstream = createConnection(SOCKET);
    upstream.on('data', (chunk: Buffer) => (traffic.bytesFromEngine += chunk.length));
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

beforeAll(async () => {
  expect(existsSync(SOCKET)).toBe(true);
  proxy = await startProxy();
  port = (proxy.address() as { port: number }).port;
  dir = await cleanup.tempDir();
  source = await createUserVolume(cleanup, 'tcpsrc');
  // Enough data that the stream must really flow through the proxy.
  await runOk('docker', [
    'run',
    '--rm',
    '--network',
    'none',
    '--mount',
    `type=volume,source=${source},target=/v`,
    BUSYBOX_IMAGE,
    'sh',
    '-c',
    'head -c 3145728 /dev/urandom > /v/blob && ln -s blob /v/link && mkdir -p /v/empty',
  ]);
  socketDigest = await digestOf(source, tcpEnv(`unix://${SOCKET}`));
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await cleanup.run();
});

describe('DOCKER_HOST=tcp://127.0.0.1:PORT (a remote engine)', () => {
  it('archive, seed and digest give the same digest as through the socket', async () => {
    const env = tcpEnv(`tcp://127.0.0.1:${port}`);
    const image = ['--helper-image', BUSYBOX_IMAGE];
    const file = path.join(dir, 'over-tcp.tar.zst');
    const before = { ...traffic };

    const archived = await cli(['archive', source, file, ...image], env);
    expect(archived.code, archived.stderr).toBe(0);
    expect(archived.stdout.trim().split('\n').at(-1)).toBe(socketDigest);
    expect(traffic.bytesFromEngine - before.bytesFromEngine).toBeGreaterThan(3_000_000);

    const target = cleanup.volume(uniqueName('tcpdst'));
    const seeded = await cli(['seed', target, file, ...image], env);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout.trim().split('\n').at(-1)).toBe(socketDigest);

    expect(await digestOf(target, env)).toBe(socketDigest);
    expect(await digestOf(source, env)).toBe(socketDigest);
    expect(await digestOf(target, tcpEnv(`unix://${SOCKET}`))).toBe(socketDigest);
    // Every command above went through the proxy, none around it.
    expect(traffic.connections - before.connections).toBeGreaterThanOrEqual(4);
    expect((await engine.inspectVolume(target))?.name).toBe(target);
  });

  it('a tcp engine that does not answer: one line naming DOCKER_HOST, no stack trace', async () => {
    const closed = await startProxy();
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const file = path.join(dir, 'never-written.tar.zst');
    const result = await cli(
      ['archive', source, file, '--helper-image', BUSYBOX_IMAGE],
      tcpEnv(`tcp://127.0.0.1:${closedPort}`),
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^compose-persist archive: Docker daemon unreachable at tcp://127\\.0\\.0\\.1:${closedPort} \\(.*ECONNREFUSED.*\\): start dockerd or set DOCKER_HOST`,
        ),
      ),
    ]);
    expect(existsSync(file)).toBe(false);
    expect((await readdir(path.dirname(file))).filter((name) => name.endsWith('.partial'))).toEqual([]);
    expect(await digestOf(source)).toBe(socketDigest);
  });
});
