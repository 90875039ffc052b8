import { describe, expect, it } from 'vitest';
import { BlockOverlay, MemoryBlockStore } from '../../src/power/block-overlay.js';
import { DiskResponder } from '../../src/power/disk-server.js';
import {
  decodeRequest,
  encodeReply,
  Errno,
  FuseOp,
  readdirReply,
  statfsReply,
} from '../../src/power/fuse-protocol.js';

// Recorded on this machine (kernel 6.18, FUSE 7.45) from the disk server serving a 256 MiB image: what the
// kernel sent, and the replies it accepted (stat, dd of one block with conv=fsync, dd back).
const RECORDED = {
  init: '680000001a0000000200000000000000000000000000000000000000000000000000000000000000070000002d00000000000200fbffff73fd0500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  initReply:
    '50000000000000000200000000000000070000001f00000000000200200000000c000a000000020001000000000000000000000000000000000000000000000000000000000000000000000000000000',
  lookupDisk: '2d0000000100000004000000000000000100000000000000000000000000000008340000000000006469736b00',
  lookupReply:
    '900000000000000004000000000000000200000000000000000000000000000001000000000000000100000000000000000000000000000002000000000000000000001000000000000008000000000000000000000000000000000000000000000000000000000000000000000000000000000080810000010000000000000000000000000000000010000000000000',
  /** STATX (52), which a disk does not implement: the kernel falls back to GETATTR. */
  statx:
    '400000003400000006000000000000000200000000000000000000000000000008340000000000000000000000000000000000000000000000000000ff0f0000',
  statxReply: '10000000daffffff0600000000000000',
  open: '300000000e00000008000000000000000200000000000000000000000000000009340000000000000280000000000000',
  openReply: '2000000000000000080000000000000000000000000000000100000000000000',
  /** WRITE of 4096 zero bytes at offset 40960 (the header and fuse_write_in; the data follows). */
  writeHead:
    '50100000100000000c00000000000000020000000000000000000000000000000934000000000000000000000000000000a000000000000000100000020000005f5892da3c61a7b70280000000000000',
  writeReply: '18000000000000000c000000000000000010000000000000',
  fsync:
    '38000000140000000e0000000000000002000000000000000000000000000000093400000000000000000000000000000000000000000000',
  fsyncReply: '10000000000000000e00000000000000',
  read: '500000000f0000001a00000000000000020000000000000000000000000000000a34000000000000000000000000000000a00000000000000010000002000000162d7a22720944740080000000000000',
  forget: '30000000020000002400000000000000020000000000000000000000000000000000000000000000',
};

const bytes = (hex: string) => Buffer.from(hex, 'hex');
const DISK_BYTES = 256 * 1024 * 1024;

function responder(size = DISK_BYTES) {
  const image = new MemoryBlockStore(size);
  const overlay = new BlockOverlay(image);
  return { image, overlay, disk: new DiskResponder(overlay) };
}

describe('the FUSE codec against recorded kernel messages', () => {
  it('decodes INIT and answers with the reply the kernel accepted', () => {
    const request = decodeRequest(bytes(RECORDED.init));
    expect(request).toMatchObject({ kind: 'init', major: 7, minor: 45, maxReadahead: 0x20000 });
    expect(request.header).toMatchObject({ opcode: FuseOp.Init, unique: 2n, length: 104 });
    expect(responder().disk.answer(request)?.toString('hex')).toBe(RECORDED.initReply);
  });

  it('LOOKUP of "disk" in the root: the recorded entry; any other name ENOENT', () => {
    const request = decodeRequest(bytes(RECORDED.lookupDisk));
    expect(request).toMatchObject({ kind: 'lookup', name: 'disk' });
    expect(responder().disk.answer(request)?.toString('hex')).toBe(RECORDED.lookupReply);
    const other = bytes(RECORDED.lookupDisk);
    other.write('dusk', 40);
    const reply = responder().disk.answer(decodeRequest(other)) as Buffer;
    expect(reply.readInt32LE(4)).toBe(-Errno.ENOENT);
  });

  it('an unknown opcode (STATX) gets ENOSYS, as recorded', () => {
    expect(
      responder()
        .disk.answer(decodeRequest(bytes(RECORDED.statx)))
        ?.toString('hex'),
    ).toBe(RECORDED.statxReply);
  });

  it('OPEN sets FOPEN_DIRECT_IO, so no page cache sits between the loop device and the server', () => {
    expect(
      responder()
        .disk.answer(decodeRequest(bytes(RECORDED.open)))
        ?.toString('hex'),
    ).toBe(RECORDED.openReply);
  });

  it('WRITE is held until FSYNC; READ sees it before; the image gets it only at the FSYNC', () => {
    const { image, overlay, disk } = responder();
    const write = Buffer.concat([bytes(RECORDED.writeHead), Buffer.alloc(4096, 0xab)]);
    const request = decodeRequest(write);
    expect(request).toMatchObject({ kind: 'write', offset: 40960 });
    expect(disk.answer(request)?.toString('hex')).toBe(RECORDED.writeReply);
    expect(image.bytes.subarray(40960, 40960 + 4096).every((b) => b === 0)).toBe(true);
    const read = disk.answer(decodeRequest(bytes(RECORDED.read))) as Buffer;
    expect(read.length).toBe(16 + 4096);
    expect(read.subarray(16).every((b) => b === 0xab)).toBe(true);
    expect(disk.answer(decodeRequest(bytes(RECORDED.fsync)))?.toString('hex')).toBe(RECORDED.fsyncReply);
    expect(image.bytes.subarray(40960, 40960 + 4096).every((b) => b === 0xab)).toBe(true);
    expect(overlay.stats()).toMatchObject({ heldBlocks: 0, flushes: 1, appliedBlocks: 1 });
  });

  it('a WRITE past the end of the disk is refused with ENOSPC and changes nothing', () => {
    const { overlay, disk } = responder(8192);
    const reply = disk.answer(
      decodeRequest(Buffer.concat([bytes(RECORDED.writeHead), Buffer.alloc(4096)])),
    ) as Buffer;
    expect(reply.readInt32LE(4)).toBe(-Errno.ENOSPC);
    expect(overlay.stats().writes).toBe(0);
  });

  it('FORGET, BATCH_FORGET and INTERRUPT get no reply at all', () => {
    const { disk } = responder();
    for (const op of [FuseOp.Forget, FuseOp.BatchForget, FuseOp.Interrupt]) {
      const request = bytes(RECORDED.forget);
      request.writeUInt32LE(op, 4);
      expect(disk.answer(decodeRequest(request))).toBeUndefined();
    }
  });

  it('an error reply is the bare header with the negated errno', () => {
    expect(encodeReply(7n, Errno.EIO, Buffer.alloc(10)).toString('hex')).toBe(
      '10000000fbffffff0700000000000000',
    );
  });

  it('READDIR packs 8-byte aligned records from the offset on, and stops at the size', () => {
    const entries = [
      { ino: 1n, name: '.', type: 4 },
      { ino: 1n, name: '..', type: 4 },
      { ino: 2n, name: 'disk', type: 8 },
    ];
    const all = readdirReply(entries, 0, 4096);
    expect(all.length).toBe(3 * 32);
    expect(all.readBigUInt64LE(64 + 8)).toBe(3n); // the next offset of the last record
    expect(all.subarray(64 + 24, 64 + 28).toString()).toBe('disk');
    expect(readdirReply(entries, 2, 4096).length).toBe(32);
    expect(readdirReply(entries, 0, 40).length).toBe(32);
    expect(readdirReply(entries, 3, 4096).length).toBe(0);
  });

  it('STATFS reports the disk in 4 KiB blocks', () => {
    const out = statfsReply(DISK_BYTES, 4096);
    expect(out.length).toBe(80);
    expect(out.readBigUInt64LE(0)).toBe(65536n);
    expect(out.readUInt32LE(40)).toBe(4096);
  });
});
