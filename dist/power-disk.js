import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 406:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var _power_disk_server_js__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(974);
// Entry of dist/power-disk.js, the lazy disk's server (run as root): node power-disk.js IMAGE MOUNTPOINT CAP_BYTES

const [image, mountpoint, cap] = process.argv.slice(2);
if (!image || !mountpoint || !cap || !/^\d+$/.test(cap)) {
    process.stderr.write('usage: power-disk.js IMAGE MOUNTPOINT CAP_BYTES\n');
    process.exit(2);
}
process.exitCode = await (0,_power_disk_server_js__WEBPACK_IMPORTED_MODULE_0__/* .serveDisk */ .BG)({ image, mountpoint, capBytes: Number(cap) });

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 974:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  BG: () => (/* binding */ serveDisk)
});

// UNUSED EXPORTS: DiskResponder, FileBlockStore

;// CONCATENATED MODULE: external "node:child_process"
const external_node_child_process_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:child_process");
;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: external "node:readline"
const external_node_readline_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:readline");
;// CONCATENATED MODULE: ./src/power/block-overlay.ts
// The lazy disk's write cache: every block written since the last flush is held here, over the image, until
// the loop device flushes (fsync of the disk file). A cut drops what is held and, until power is back,
// acknowledges and discards every write \u2014 as a disk whose volatile cache lost power. Pure but for the
// image it is handed.
class BlockOverlay {
    image;
    blockSize;
    capBytes;
    held = new Map();
    state = 'on';
    counts = {
        writes: 0,
        flushes: 0,
        appliedBlocks: 0,
        droppedBlocks: 0,
        discardedWrites: 0,
    };
    overflowed = false;
    constructor(image, blockSize = 4096, 
    /** Most bytes held before the overlay writes through (and says so). */
    capBytes = 1024 ** 3) {
        this.image = image;
        this.blockSize = blockSize;
        this.capBytes = capBytes;
    }
    get size() {
        return this.image.size;
    }
    /** `length` bytes from `offset`: the image, with the held blocks over it. */
    read(offset, length) {
        const out = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)));
        if (out.length === 0)
            return out;
        this.image.read(out, offset);
        const first = Math.floor(offset / this.blockSize);
        const last = Math.floor((offset + out.length - 1) / this.blockSize);
        for (let index = first; index <= last; index++) {
            const block = this.held.get(index);
            if (!block)
                continue;
            const start = Math.max(offset, index * this.blockSize);
            const end = Math.min(offset + out.length, (index + 1) * this.blockSize);
            block.copy(out, start - offset, start - index * this.blockSize, end - index * this.blockSize);
        }
        return out;
    }
    /** Holds the bytes (a partial block is completed from what the disk holds now); discards them while cut. */
    write(offset, data) {
        if (offset < 0 || offset + data.length > this.size)
            throw new RangeError(`write of ${data.length} bytes at ${offset} is past the disk's end (${this.size})`);
        if (this.state === 'cut') {
            this.counts.discardedWrites++;
            return;
        }
        this.counts.writes++;
        let done = 0;
        while (done < data.length) {
            const at = offset + done;
            const index = Math.floor(at / this.blockSize);
            const within = at % this.blockSize;
            const length = Math.min(this.blockSize - within, data.length - done);
            this.heldBlock(index, length === this.blockSize).set(data.subarray(done, done + length), within);
            done += length;
        }
        if (this.held.size * this.blockSize > this.capBytes) {
            this.overflowed = true;
            this.applyHeld();
        }
    }
    /** The disk's cache reaches the platter: every held block goes to the image. Ignored while cut. */
    flush() {
        if (this.state === 'cut')
            return;
        this.counts.flushes++;
        this.applyHeld();
    }
    /** Power cut: the held blocks are gone; writes are discarded until `powerOn`. Returns the blocks dropped. */
    cut() {
        const dropped = this.held.size;
        this.held.clear();
        this.state = 'cut';
        this.counts.droppedBlocks = dropped;
        return dropped;
    }
    powerOn() {
        this.state = 'on';
        this.overflowed = false;
        this.counts.discardedWrites = 0;
    }
    stats() {
        return { state: this.state, heldBlocks: this.held.size, overflowed: this.overflowed, ...this.counts };
    }
    heldBlock(index, whole) {
        let block = this.held.get(index);
        if (!block) {
            block = Buffer.alloc(this.blockSize);
            if (!whole)
                this.image.read(block, index * this.blockSize);
            this.held.set(index, block);
        }
        return block;
    }
    applyHeld() {
        // In block order: the image file is written front to back.
        for (const index of [...this.held.keys()].sort((a, b) => a - b))
            this.image.write(this.held.get(index), index * this.blockSize);
        this.counts.appliedBlocks += this.held.size;
        this.held.clear();
    }
}
/** A BlockStore in memory (tests, and nothing else). */
class MemoryBlockStore {
    bytes;
    constructor(size) {
        this.bytes = Buffer.alloc(size);
    }
    get size() {
        return this.bytes.length;
    }
    read(target, offset) {
        target.fill(0);
        this.bytes.copy(target, 0, offset, Math.min(offset + target.length, this.bytes.length));
    }
    write(source, offset) {
        source.copy(this.bytes, offset);
    }
}

;// CONCATENATED MODULE: ./src/power/control-protocol.ts
/** The one file the server exposes: the disk the loop device is attached to. */
const DISK_FILE = 'disk';
const CONTROL_OPS = ['status', 'cut', 'power-on', 'stop'];
function parseControlRequest(line) {
    const value = JSON.parse(line);
    if (typeof value.id !== 'number' || !CONTROL_OPS.includes(value.op))
        throw new Error(`not a control request: ${line.slice(0, 200)}`);
    return { id: value.id, op: value.op };
}

;// CONCATENATED MODULE: ./src/power/fuse-protocol.ts
// The few /dev/fuse messages a one-file disk needs, as the kernel lays them out (include/uapi/linux/fuse.h,
// protocol 7.31): requests decoded from the bytes read, replies encoded into the bytes written. Pure.
/** The request opcodes the disk answers (and the three it must never answer). */
var FuseOp;
(function (FuseOp) {
    FuseOp[FuseOp["Lookup"] = 1] = "Lookup";
    FuseOp[FuseOp["Forget"] = 2] = "Forget";
    FuseOp[FuseOp["Getattr"] = 3] = "Getattr";
    FuseOp[FuseOp["Setattr"] = 4] = "Setattr";
    FuseOp[FuseOp["Open"] = 14] = "Open";
    FuseOp[FuseOp["Read"] = 15] = "Read";
    FuseOp[FuseOp["Write"] = 16] = "Write";
    FuseOp[FuseOp["Statfs"] = 17] = "Statfs";
    FuseOp[FuseOp["Release"] = 18] = "Release";
    FuseOp[FuseOp["Fsync"] = 20] = "Fsync";
    FuseOp[FuseOp["Flush"] = 25] = "Flush";
    FuseOp[FuseOp["Init"] = 26] = "Init";
    FuseOp[FuseOp["Opendir"] = 27] = "Opendir";
    FuseOp[FuseOp["Readdir"] = 28] = "Readdir";
    FuseOp[FuseOp["Releasedir"] = 29] = "Releasedir";
    FuseOp[FuseOp["Fsyncdir"] = 30] = "Fsyncdir";
    FuseOp[FuseOp["Access"] = 34] = "Access";
    FuseOp[FuseOp["Interrupt"] = 36] = "Interrupt";
    FuseOp[FuseOp["Destroy"] = 38] = "Destroy";
    FuseOp[FuseOp["BatchForget"] = 42] = "BatchForget";
    FuseOp[FuseOp["Fallocate"] = 43] = "Fallocate";
})(FuseOp || (FuseOp = {}));
/** Requests the kernel expects no reply to: answering one is an error (and FORGETs come in floods). */
const NO_REPLY_OPS = new Set([
    FuseOp.Forget,
    FuseOp.BatchForget,
    FuseOp.Interrupt,
]);
const Errno = { ENOENT: 2, EIO: 5, EACCES: 13, EINVAL: 22, ENOSPC: 28, ENOSYS: 38 };
const IN_HEADER_BYTES = 40;
const OUT_HEADER_BYTES = 16;
/** fuse_read_in and fuse_write_in: the payload of a WRITE starts after it. */
const RW_IN_BYTES = 40;
const ROOT_NODE = 1n;
const FUSE_MAJOR = 7;
/** The minor we speak: the kernel then takes our 64-byte init reply and the 40-byte read/write headers. */
const FUSE_MINOR = 31;
/** fuse_init flags we ask for: writes bigger than a page. */
const FUSE_BIG_WRITES = 1 << 5;
/** fuse_open_out.open_flags: no page cache on the disk file, every loop I/O reaches the server. */
const FOPEN_DIRECT_IO = 1;
function decodeHeader(bytes) {
    if (bytes.length < IN_HEADER_BYTES)
        throw new Error(`a FUSE request of ${bytes.length} bytes is too short`);
    return {
        length: bytes.readUInt32LE(0),
        opcode: bytes.readUInt32LE(4),
        unique: bytes.readBigUInt64LE(8),
        nodeId: bytes.readBigUInt64LE(16),
        uid: bytes.readUInt32LE(24),
        gid: bytes.readUInt32LE(28),
        pid: bytes.readUInt32LE(32),
    };
}
/** Decodes one request (`bytes` is exactly what one read of /dev/fuse returned; WRITE data is a view). */
function decodeRequest(bytes) {
    const header = decodeHeader(bytes);
    const body = bytes.subarray(IN_HEADER_BYTES, header.length);
    switch (header.opcode) {
        case FuseOp.Init:
            return {
                header,
                kind: 'init',
                major: body.readUInt32LE(0),
                minor: body.readUInt32LE(4),
                maxReadahead: body.readUInt32LE(8),
                flags: body.readUInt32LE(12),
            };
        case FuseOp.Lookup: {
            const end = body.indexOf(0);
            return { header, kind: 'lookup', name: body.subarray(0, end < 0 ? body.length : end).toString() };
        }
        case FuseOp.Read:
            return {
                header,
                kind: 'read',
                offset: Number(body.readBigUInt64LE(8)),
                size: body.readUInt32LE(16),
            };
        case FuseOp.Write: {
            const size = body.readUInt32LE(16);
            return {
                header,
                kind: 'write',
                offset: Number(body.readBigUInt64LE(8)),
                data: body.subarray(RW_IN_BYTES, RW_IN_BYTES + size),
            };
        }
        default:
            return { header, kind: 'other' };
    }
}
/** A reply: the out header, then the body (none for an error or an empty success). */
function encodeReply(unique, errno, body) {
    const out = Buffer.alloc(OUT_HEADER_BYTES + (errno === 0 && body ? body.length : 0));
    out.writeUInt32LE(out.length, 0);
    out.writeInt32LE(-errno, 4);
    out.writeBigUInt64LE(unique, 8);
    if (errno === 0 && body)
        body.copy(out, OUT_HEADER_BYTES);
    return out;
}
/** fuse_init_out: our version, no readahead beyond the kernel's, `maxWrite` per WRITE. */
function initReply(maxReadahead, maxWrite) {
    const out = Buffer.alloc(64);
    out.writeUInt32LE(FUSE_MAJOR, 0);
    out.writeUInt32LE(FUSE_MINOR, 4);
    out.writeUInt32LE(maxReadahead, 8);
    out.writeUInt32LE(FUSE_BIG_WRITES, 12);
    out.writeUInt16LE(12, 16); // max_background
    out.writeUInt16LE(10, 18); // congestion_threshold
    out.writeUInt32LE(maxWrite, 20);
    out.writeUInt32LE(1, 24); // time_gran: 1 ns
    return out;
}
/** fuse_attr (88 bytes); times 0, owner root. */
function encodeAttr(attr) {
    const out = Buffer.alloc(88);
    out.writeBigUInt64LE(attr.ino, 0);
    out.writeBigUInt64LE(BigInt(attr.size), 8);
    out.writeBigUInt64LE(BigInt(Math.ceil(attr.size / 512)), 16);
    out.writeUInt32LE(attr.mode, 60);
    out.writeUInt32LE(attr.nlink, 64);
    out.writeUInt32LE(attr.blockSize, 80);
    return out;
}
/** fuse_attr_out: valid for `validSeconds` (the size never changes while mounted). */
function attrReply(attr, validSeconds = 1) {
    const head = Buffer.alloc(16);
    head.writeBigUInt64LE(BigInt(validSeconds), 0);
    return Buffer.concat([head, encodeAttr(attr)]);
}
/** fuse_entry_out for LOOKUP. */
function entryReply(attr, validSeconds = 1) {
    const head = Buffer.alloc(40);
    head.writeBigUInt64LE(attr.ino, 0);
    head.writeBigUInt64LE(BigInt(validSeconds), 16);
    head.writeBigUInt64LE(BigInt(validSeconds), 24);
    return Buffer.concat([head, encodeAttr(attr)]);
}
/** fuse_open_out with the given open flags (FOPEN_DIRECT_IO for the disk). */
function openReply(openFlags) {
    const out = Buffer.alloc(16);
    out.writeUInt32LE(openFlags, 8);
    return out;
}
/** fuse_write_out: how many bytes were taken. */
function writeReply(size) {
    const out = Buffer.alloc(8);
    out.writeUInt32LE(size, 0);
    return out;
}
/** fuse_kstatfs of a file system holding `bytes` in blocks of `blockSize`, all used. */
function statfsReply(bytes, blockSize) {
    const out = Buffer.alloc(80);
    out.writeBigUInt64LE(BigInt(Math.ceil(bytes / blockSize)), 0);
    out.writeBigUInt64LE(2n, 24); // files: the root and the disk
    out.writeUInt32LE(blockSize, 40);
    out.writeUInt32LE(255, 44); // namelen
    out.writeUInt32LE(blockSize, 48); // frsize
    return out;
}
/** fuse_dirent records from `offset` on, as many as fit in `size` bytes; each record's off is its index + 1. */
function readdirReply(entries, offset, size) {
    const records = [];
    let used = 0;
    for (let i = offset; i < entries.length; i++) {
        const entry = entries[i];
        const name = Buffer.from(entry.name);
        const record = Buffer.alloc(24 + ((name.length + 7) & ~7));
        if (used + record.length > size)
            break;
        record.writeBigUInt64LE(entry.ino, 0);
        record.writeBigUInt64LE(BigInt(i + 1), 8);
        record.writeUInt32LE(name.length, 16);
        record.writeUInt32LE(entry.type, 20);
        name.copy(record, 24);
        records.push(record);
        used += record.length;
    }
    return Buffer.concat(records);
}
/** The READ/READDIR request's offset and size (fuse_read_in), for opcodes decodeRequest leaves as 'other'. */
function readIn(bytes) {
    return {
        offset: Number(bytes.readBigUInt64LE(IN_HEADER_BYTES + 8)),
        size: bytes.readUInt32LE(IN_HEADER_BYTES + 16),
    };
}

;// CONCATENATED MODULE: ./src/power/disk-server.ts
// The lazy disk's FUSE server: one file, `disk`, backed by an image through a BlockOverlay, mounted straight
// on /dev/fuse (no libfuse). Runs as root (its own bundle, dist/power-disk.js, started through `sudo -n`).
// Control: one JSON object a line on stdin, one answer a line on stdout (control-protocol.ts).






const DISK_NODE = 2n;
const BLOCK_SIZE = 4096;
const MAX_WRITE = 128 * 1024;
/** The image file as a BlockStore (synchronous I/O: the server answers one request at a time). */
class FileBlockStore {
    fd;
    size;
    constructor(fd) {
        this.fd = fd;
        this.size = external_node_fs_namespaceObject.fstatSync(fd).size;
    }
    read(target, offset) {
        let done = 0;
        while (done < target.length) {
            const n = external_node_fs_namespaceObject.readSync(this.fd, target, done, target.length - done, offset + done);
            if (n === 0)
                break;
            done += n;
        }
        target.fill(0, done);
    }
    write(source, offset) {
        let done = 0;
        while (done < source.length)
            done += external_node_fs_namespaceObject.writeSync(this.fd, source, done, source.length - done, offset + done);
    }
}
/** Answers FUSE requests for the one-file disk; pure but for the overlay's image. */
class DiskResponder {
    overlay;
    constructor(overlay) {
        this.overlay = overlay;
    }
    /** The reply to one request, or undefined for the requests that take none. */
    answer(request) {
        const { unique, opcode, nodeId } = request.header;
        if (NO_REPLY_OPS.has(opcode))
            return undefined;
        const ok = (body) => encodeReply(unique, 0, body);
        const fail = (errno) => encodeReply(unique, errno);
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
                if (nodeId !== DISK_NODE)
                    return fail(Errno.EINVAL);
                if (request.offset + request.data.length > this.overlay.size)
                    return fail(Errno.ENOSPC);
                this.overlay.write(request.offset, request.data);
                return ok(writeReply(request.data.length));
            case 'other':
                return this.answerOther(request.header.opcode, nodeId, unique);
        }
    }
    answerOther(opcode, nodeId, unique) {
        const ok = (body) => encodeReply(unique, 0, body);
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
    readdir(bytes, unique) {
        const { offset, size } = readIn(bytes);
        const entries = [
            { ino: ROOT_NODE, name: '.', type: 4 },
            { ino: ROOT_NODE, name: '..', type: 4 },
            { ino: DISK_NODE, name: DISK_FILE, type: 8 },
        ];
        return encodeReply(unique, 0, readdirReply(entries, offset, size));
    }
    diskAttr() {
        return { ino: DISK_NODE, size: this.overlay.size, mode: 0o100600, nlink: 1, blockSize: BLOCK_SIZE };
    }
}
function rootAttr() {
    return { ino: ROOT_NODE, size: 0, mode: 0o40700, nlink: 2, blockSize: BLOCK_SIZE };
}
/**
 * Mounts the disk and serves it until it is unmounted; answers control requests on stdin. Resolves with the
 * exit code once the kernel ends the connection.
 */
async function serveDisk(options) {
    const image = external_node_fs_namespaceObject.openSync(options.image, 'r+');
    const overlay = new BlockOverlay(new FileBlockStore(image), BLOCK_SIZE, options.capBytes);
    const responder = new DiskResponder(overlay);
    const device = external_node_fs_namespaceObject.openSync('/dev/fuse', 'r+');
    const say = (answer) => process.stdout.write(`${JSON.stringify(answer)}\n`);
    const mounted = await run('mount', [
        '-i',
        '-t',
        'fuse.compose-persist-disk',
        '-o',
        `fd=3,rootmode=40000,user_id=0,group_id=0,max_read=${MAX_WRITE}`,
        'compose-persist-disk',
        options.mountpoint,
    ], device);
    if (mounted !== '') {
        say({ event: 'failed', error: `mount of the disk server at ${options.mountpoint} failed: ${mounted}` });
        return 1;
    }
    say({ event: 'ready', pid: process.pid });
    let stopping = false;
    const stop = async () => {
        stopping = true;
        // A loop device just detached may hold the disk file a moment longer (udev probing it).
        for (let attempt = 0;; attempt++) {
            const failed = await run('umount', [options.mountpoint]);
            if (!failed || !/busy/i.test(failed) || attempt >= 75)
                return failed;
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    };
    const control = external_node_readline_namespaceObject.createInterface({ input: process.stdin });
    control.on('line', (line) => void handleControl(line, overlay, stop).then(say));
    // A parent that died leaves the disk served: the next run's cleanup unmounts it and stops this server.
    const ended = serveRequests(device, responder);
    process.on('SIGTERM', () => void stop());
    const code = await ended;
    control.close();
    external_node_fs_namespaceObject.closeSync(image);
    say({ event: 'stopped', stats: overlay.stats(), clean: stopping });
    return code;
}
async function handleControl(line, overlay, stop) {
    let request;
    try {
        request = parseControlRequest(line);
    }
    catch (error) {
        return { ok: false, error: error.message };
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
function serveRequests(device, responder) {
    const buffer = Buffer.alloc(MAX_WRITE + 64 * 1024);
    return new Promise((resolve) => {
        const next = () => external_node_fs_namespaceObject.read(device, buffer, 0, buffer.length, null, (error, length) => {
            if (error)
                return resolve(error.code === 'ENODEV' ? 0 : 1);
            const bytes = buffer.subarray(0, length);
            const reply = answerSafely(responder, bytes);
            if (reply)
                sendReply(device, reply);
            next();
        });
        next();
    });
}
function answerSafely(responder, bytes) {
    const request = decodeRequest(bytes);
    try {
        if (request.header.opcode === FuseOp.Readdir)
            return responder.readdir(bytes, request.header.unique);
        return responder.answer(request);
    }
    catch (error) {
        process.stderr.write(`disk server: request ${request.header.opcode} failed: ${error.message}\n`);
        return encodeReply(request.header.unique, Errno.EIO);
    }
}
function sendReply(device, reply) {
    try {
        external_node_fs_namespaceObject.writeSync(device, reply);
    }
    catch (error) {
        // ENOENT: the request was interrupted and the kernel no longer waits for it.
        if (error.code !== 'ENOENT')
            throw error;
    }
}
/** Runs a command (the device, when given, as its fd 3); '' on success, else its stderr. */
function run(command, args, device) {
    return new Promise((resolve) => {
        const stdio = ['ignore', 'ignore', 'pipe'];
        if (device !== undefined)
            stdio.push(device);
        const child = (0,external_node_child_process_namespaceObject.spawn)(command, args, { stdio });
        let stderr = '';
        child.stderr?.on('data', (chunk) => (stderr += chunk.toString()));
        child.on('error', (error) => resolve(error.message));
        child.on('close', (code) => resolve(code === 0 ? '' : stderr.trim() || `exit ${code}`));
    });
}


/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(406);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
