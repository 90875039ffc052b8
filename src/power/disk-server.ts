// The lazy disk's FUSE server: one file, `disk`, backed by an image through a BlockOverlay, mounted straight
// on /dev/fuse (no libfuse). Runs as root (its own bundle, dist/power-disk.js, started through `sudo -n`).
// Control: one JSON object a line on stdin, one answer a line on stdout (control-protocol.ts).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { BlockOverlay, type BlockStore } from './block-overlay.js';
import {
  type ControlAnswer,
  type ControlRequest,
  DISK_FILE,
  parseControlRequest,
} from './control-protocol.js';
import {
  attrReply,
  decodeRequest,
  encodeReply,
  entryReply,
  Errno,
  FOPEN_DIRECT_IO,
  FuseOp,
  initReply,
  NO_REPLY_OPS,
  openReply,
  readdirReply,
  readIn,
  ROOT_NODE,
  statfsReply,
  writeReply,
  type FileAttributes,
  type FuseRequest,
} from './fuse-protocol.js';

const DISK_NODE = 2n;
const BLOCK_SIZE = 4096;
const MAX_WRITE = 128 * 1024;

/** The image file as a BlockStore (synchronous I/O: the server answers one request at a time). */
export class FileBlockStore implements BlockStore {
  readonly size: number;
  constructor(private readonly fd: number) {
    this.size = fs.fstatSync(fd).size;
  }
  read(target: Buffer, offset: number): void {
    let done = 0;
    while (done < target.length) {
      const n = fs.readSync(this.fd, target, done, target.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    target.fill(0, done);
  }
  write(source: Buffer, offset: number): void {
    let done = 0;
    while (done < source.length)
      done += fs.writeSync(this.fd, source, done, source.length - done, offset + done);
  }
}

/** Answers FUSE requests for the one-file disk; pure but for the overlay's image. */
export class DiskResponder {
  constructor(private readonly overlay: BlockOverlay) {}

  /** The reply to one request, or undefined for the requests that take none. */
  answer(request: FuseRequest): Buffer | undefined {
    const { unique, opcode, nodeId } = request.header;
    if (NO_REPLY_OPS.has(opcode)) return undefined;
    const ok = (body?: Buffer) => encodeReply(unique, 0, body);
    const fail = (errno: number) => encodeReply(unique, errno);
    switch (request.kind) {
      case 'init':
        return ok(initReply(request.maxReadahead, MAX_WRITE));
      case 'lookup':
        return nodeId === ROOT_NODE && request.name === DISK_FILE
          ? ok(entryReply(this.diskAttr()))
          : fail(Errno.ENOENT);
      case 'read':
        return nodeId === DISK_NODE
          ? ok(this.overlay.read(request.offset, request.size))
          : fail(Errno.EINVAL);
      case 'write':
        if (nodeId !== DISK_NODE) return fail(Errno.EINVAL);
        if (request.offset + request.data.length > this.overlay.size) return fail(Errno.ENOSPC);
        this.overlay.write(request.offset, request.data);
        return ok(writeReply(request.data.length));
      case 'other':
        return this.answerOther(request.header.opcode, nodeId, unique);
    }
  }

  private answerOther(opcode: number, nodeId: bigint, unique: bigint): Buffer {
    const ok = (body?: Buffer) => encodeReply(unique, 0, body);
    switch (opcode) {
      case FuseOp.Getattr:
      case FuseOp.Setattr: // the loop driver never resizes; the size stays the image's
        return nodeId === DISK_NODE || nodeId === ROOT_NODE
          ? ok(attrReply(nodeId === DISK_NODE ? this.diskAttr() : rootAttr()))
          : encodeReply(unique, Errno.ENOENT);
      case FuseOp.Open:
        return ok(openReply(FOPEN_DIRECT_IO));
      case FuseOp.Opendir:
        return ok(openReply(0));
      case FuseOp.Fsync:
        this.overlay.flush();
        return ok();
      case FuseOp.Statfs:
        return ok(statfsReply(this.overlay.size, BLOCK_SIZE));
      case FuseOp.Flush:
      case FuseOp.Release:
      case FuseOp.Releasedir:
      case FuseOp.Fsyncdir:
      case FuseOp.Access:
      case FuseOp.Destroy:
        return ok();
      default:
        return encodeReply(unique, Errno.ENOSYS);
    }
  }

  /** READDIR needs the request's offset and size, which only the raw bytes carry. */
  readdir(bytes: Buffer, unique: bigint): Buffer {
    const { offset, size } = readIn(bytes);
    const entries = [
      { ino: ROOT_NODE, name: '.', type: 4 },
      { ino: ROOT_NODE, name: '..', type: 4 },
      { ino: DISK_NODE, name: DISK_FILE, type: 8 },
    ];
    return encodeReply(unique, 0, readdirReply(entries, offset, size));
  }

  private diskAttr(): FileAttributes {
    return { ino: DISK_NODE, size: this.overlay.size, mode: 0o100600, nlink: 1, blockSize: BLOCK_SIZE };
  }
}

function rootAttr(): FileAttributes {
  return { ino: ROOT_NODE, size: 0, mode: 0o40700, nlink: 2, blockSize: BLOCK_SIZE };
}

export interface DiskServerOptions {
  image: string;
  mountpoint: string;
  capBytes: number;
}

/**
 * Mounts the disk and serves it until it is unmounted; answers control requests on stdin. Resolves with the
 * exit code once the kernel ends the connection.
 */
export async function serveDisk(options: DiskServerOptions): Promise<number> {
  const image = fs.openSync(options.image, 'r+');
  const overlay = new BlockOverlay(new FileBlockStore(image), BLOCK_SIZE, options.capBytes);
  const responder = new DiskResponder(overlay);
  const device = fs.openSync('/dev/fuse', 'r+');
  const say = (answer: ControlAnswer) => process.stdout.write(`${JSON.stringify(answer)}\n`);
  const mounted = await run(
    'mount',
    [
      '-i',
      '-t',
      'fuse.compose-persist-disk',
      '-o',
      `fd=3,rootmode=40000,user_id=0,group_id=0,max_read=${MAX_WRITE}`,
      'compose-persist-disk',
      options.mountpoint,
    ],
    device,
  );
  if (mounted !== '') {
    say({ event: 'failed', error: `mount of the disk server at ${options.mountpoint} failed: ${mounted}` });
    return 1;
  }
  say({ event: 'ready', pid: process.pid });
  let stopping = false;
  const stop = async (): Promise<string> => {
    stopping = true;
    // A loop device just detached may hold the disk file a moment longer (udev probing it).
    for (let attempt = 0; ; attempt++) {
      const failed = await run('umount', [options.mountpoint]);
      if (!failed || !/busy/i.test(failed) || attempt >= 75) return failed;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const control = readline.createInterface({ input: process.stdin });
  control.on('line', (line) => void handleControl(line, overlay, stop).then(say));
  // A parent that died leaves the disk served: the next run's cleanup unmounts it and stops this server.
  const ended = serveRequests(device, responder);
  process.on('SIGTERM', () => void stop());
  const code = await ended;
  control.close();
  fs.closeSync(image);
  say({ event: 'stopped', stats: overlay.stats(), clean: stopping });
  return code;
}

async function handleControl(
  line: string,
  overlay: BlockOverlay,
  stop: () => Promise<string>,
): Promise<ControlAnswer> {
  let request: ControlRequest;
  try {
    request = parseControlRequest(line);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  switch (request.op) {
    case 'status':
      return { id: request.id, ok: true, stats: overlay.stats() };
    case 'cut': {
      overlay.cut();
      return { id: request.id, ok: true, stats: overlay.stats() };
    }
    case 'power-on':
      overlay.powerOn();
      return { id: request.id, ok: true, stats: overlay.stats() };
    case 'stop': {
      const failed = await stop();
      return failed
        ? { id: request.id, ok: false, error: failed }
        : { id: request.id, ok: true, stats: overlay.stats() };
    }
  }
}

/** Reads requests until the kernel ends the connection (ENODEV on unmount); 0 then. */
function serveRequests(device: number, responder: DiskResponder): Promise<number> {
  const buffer = Buffer.alloc(MAX_WRITE + 64 * 1024);
  return new Promise((resolve) => {
    const next = () =>
      fs.read(device, buffer, 0, buffer.length, null, (error, length) => {
        if (error) return resolve(error.code === 'ENODEV' ? 0 : 1);
        const bytes = buffer.subarray(0, length);
        const reply = answerSafely(responder, bytes);
        if (reply) sendReply(device, reply);
        next();
      });
    next();
  });
}

function answerSafely(responder: DiskResponder, bytes: Buffer): Buffer | undefined {
  const request = decodeRequest(bytes);
  try {
    if (request.header.opcode === FuseOp.Readdir) return responder.readdir(bytes, request.header.unique);
    return responder.answer(request);
  } catch (error) {
    process.stderr.write(
      `disk server: request ${request.header.opcode} failed: ${(error as Error).message}\n`,
    );
    return encodeReply(request.header.unique, Errno.EIO);
  }
}

function sendReply(device: number, reply: Buffer): void {
  try {
    fs.writeSync(device, reply);
  } catch (error) {
    // ENOENT: the request was interrupted and the kernel no longer waits for it.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Runs a command (the device, when given, as its fd 3); '' on success, else its stderr. */
function run(command: string, args: string[], device?: number): Promise<string> {
  return new Promise((resolve) => {
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'ignore', 'pipe'];
    if (device !== undefined) stdio.push(device);
    const child = spawn(command, args, { stdio });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve(error.message));
    child.on('close', (code) => resolve(code === 0 ? '' : stderr.trim() || `exit ${code}`));
  });
}
