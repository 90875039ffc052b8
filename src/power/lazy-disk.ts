// One protected place (a volume's host directory, a bind source) on a lazy disk: a copy of it in an ext4
// image on a loop device whose backing file the disk server holds, bound over the place so the services
// that start afterwards read and write the copy. A cut loses what ext4 had not flushed; the real place is
// never written and reappears untouched when the bind goes.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskClient, type ServerCommand } from './disk-client.js';
import { DISK_FILE } from './control-protocol.js';
import { detachLoop, isMountpoint, removeDir, unbindPlace, unmount } from './host-mounts.js';
import type { Privileged } from '../host/privileged.js';
import type { DiskRecord, PowerState } from './power-state.js';

/** ext4's periodic journal commit comes after any round: a cut always finds the last commit a round old. */
const COMMIT_SECONDS = 600;
/** The canaries live in the file system's root, beside `data/`: no service sees them. */
const SYNCED_CANARY = '.compose-persist-canary-synced';
const UNSYNCED_CANARY = '.compose-persist-canary-unsynced';

export interface LazyDiskOptions {
  root: Privileged;
  server: ServerCommand;
  /** The directory on the host the services mount (a volume's Mountpoint, a bind source). */
  place: string;
  /** This disk's own directory (image, mount points), created empty. */
  dir: string;
  imageBytes: number;
  capBytes: number;
  state: PowerState;
}

/** What one cut did. */
export interface CutOutcome {
  droppedBlocks: number;
  /** Writes acknowledged and discarded after the cut (ext4 writing back as it unmounted). */
  discardedWrites: number;
  /** The held blocks outgrew the memory cap since the last power-on: the cut proves nothing. */
  overflowed: boolean;
  /** Why the cut is not shown to have worked (the canaries), or undefined. */
  canaryProblem?: string;
  /** From the cut to the file system mounted again (journal recovery included). */
  remountMs: number;
}

export class LazyDisk {
  private loop = '';
  private server?: DiskClient;
  private readonly record: DiskRecord;
  private syncedToken = '';
  /** Bytes the copy-in copied (du of the place). */
  copiedBytes = 0;
  copyMs = 0;

  /** Use LazyDisk.create (a subclass only to break the cut on purpose in a test). */
  constructor(private readonly options: LazyDiskOptions) {
    this.record = { place: options.place, dir: options.dir };
  }

  get image(): string {
    return path.join(this.options.dir, 'image');
  }
  get fuseMount(): string {
    return path.join(this.options.dir, 'server');
  }
  get fsMount(): string {
    return path.join(this.options.dir, 'fs');
  }
  get data(): string {
    return path.join(this.fsMount, 'data');
  }
  get place(): string {
    return this.options.place;
  }

  /**
   * Builds the disk and copies the place in, then binds the copy over the place. Nothing may use the place
   * meanwhile (its services are stopped). On failure, what was built is taken down again.
   */
  static async create<T extends LazyDisk>(
    this: new (options: LazyDiskOptions) => T,
    options: LazyDiskOptions,
  ): Promise<T> {
    const disk = new this(options);
    await options.state.addDisk(disk.record);
    try {
      await disk.build();
    } catch (error) {
      await disk.teardown().catch(() => undefined);
      throw error;
    }
    return disk;
  }

  private async build(): Promise<void> {
    const { root } = this.options;
    fs.mkdirSync(this.fuseMount, { recursive: true });
    fs.mkdirSync(this.fsMount, { recursive: true });
    const image = fs.openSync(this.image, 'w', 0o600);
    fs.ftruncateSync(image, this.options.imageBytes); // sparse
    fs.closeSync(image);
    // Inode tables and journal written now, into the image, not lazily later through the server.
    await root.run('mkfs.ext4', [
      '-q',
      '-F',
      '-b',
      '4096',
      '-E',
      'lazy_itable_init=0,lazy_journal_init=0',
      this.image,
    ]);
    this.server = await DiskClient.start(
      root,
      this.options.server,
      this.image,
      this.fuseMount,
      this.options.capBytes,
    );
    await this.note({ serverPid: this.server.pid, fuseMount: this.fuseMount });
    await this.attachAndMount();
    const started = Date.now();
    await root.run('cp', ['-a', '--', this.options.place, this.data]);
    await root.run('sync', ['-f', this.fsMount]);
    this.copyMs = Date.now() - started;
    this.copiedBytes = Number((await root.run('du', ['-sb', '--', this.data])).stdout.split(/\s/)[0]) || 0;
    await this.bind();
  }

  /** syncfs, then a canary written and fsynced: what precedes the round is on the disk, as the flusher would have it. */
  async beforeLoad(): Promise<void> {
    await this.options.root.run('sync', ['-f', this.fsMount]);
    this.syncedToken = token();
    await this.options.root.run('sh', [
      '-c',
      'printf %s "$1" > "$2" && sync "$2" && sync "$3"',
      'sh',
      this.syncedToken,
      path.join(this.fsMount, SYNCED_CANARY),
      this.fsMount,
    ]);
  }

  /**
   * The power cut, once the services using the place are dead: an unsynced canary, the bind lifted, the
   * server's held blocks dropped, ext4 unmounted into the void, the disk attached and mounted again (journal
   * recovery), the canaries read, the bind back.
   */
  async cut(): Promise<CutOutcome> {
    const { root } = this.options;
    const unsyncedToken = token();
    await root.run('sh', [
      '-c',
      'printf %s "$1" > "$2"',
      'sh',
      unsyncedToken,
      path.join(this.fsMount, UNSYNCED_CANARY),
    ]);
    await this.unbind();
    const started = Date.now();
    const atCut = await this.cutPower();
    await unmount(root, this.fsMount);
    await this.detach();
    const afterUnmount = await this.server?.status();
    await this.server?.powerOn();
    await this.attachAndMount();
    const remountMs = Date.now() - started;
    const canaryProblem = await this.canaryProblem(unsyncedToken);
    await this.bind();
    return {
      droppedBlocks: atCut?.droppedBlocks ?? 0,
      discardedWrites: afterUnmount?.discardedWrites ?? 0,
      overflowed: (atCut?.overflowed ?? false) || (afterUnmount?.overflowed ?? false),
      ...(canaryProblem ? { canaryProblem } : {}),
      remountMs,
    };
  }

  /** Tells the server to drop its held blocks (a test overrides this to break the cut on purpose). */
  protected async cutPower(): Promise<{ droppedBlocks: number; overflowed: boolean } | undefined> {
    return this.server?.cut();
  }

  /** Lifts the bind (the real place reappears), unmounts, detaches, stops the server, removes the image. */
  async teardown(): Promise<void> {
    const { root } = this.options;
    await this.unbind();
    if (await isMountpoint(root, this.fsMount)) await unmount(root, this.fsMount);
    await this.detach();
    if (this.server) {
      await this.server.stop();
      this.server = undefined;
    } else if (await isMountpoint(root, this.fuseMount)) {
      await unmount(root, this.fuseMount);
    }
    await removeDir(root, this.options.dir);
    await this.options.state.removeDisk(this.record);
  }

  private async attachAndMount(): Promise<void> {
    const { root } = this.options;
    this.loop = (
      await root.run('losetup', ['--find', '--show', path.join(this.fuseMount, DISK_FILE)])
    ).stdout.trim();
    await this.note({ loop: this.loop });
    await root.run('mount', ['-t', 'ext4', '-o', `commit=${COMMIT_SECONDS}`, this.loop, this.fsMount]);
  }

  private async detach(): Promise<void> {
    if (!this.loop) return;
    await detachLoop(this.options.root, this.loop);
    this.loop = '';
    await this.note({ loop: undefined });
  }

  private async bind(): Promise<void> {
    await this.options.root.run('mount', ['--bind', this.data, this.options.place]);
    await this.note({ bound: true });
  }

  private async unbind(): Promise<void> {
    if (!this.record.bound) return;
    await unbindPlace(this.options.root, this.options.place, this.record.loop ?? this.loop);
    await this.note({ bound: false });
  }

  private async canaryProblem(unsyncedToken: string): Promise<string | undefined> {
    const read = async (name: string) =>
      (await this.options.root.run('cat', [path.join(this.fsMount, name)], { allowFailure: true })).stdout;
    if (this.syncedToken && (await read(SYNCED_CANARY)) !== this.syncedToken)
      return 'the synced canary was lost: the disk dropped a write it had flushed';
    if ((await read(UNSYNCED_CANARY)) === unsyncedToken)
      return 'the unsynced canary survived the cut: the cut dropped nothing, so nothing was tested';
    return undefined;
  }

  private async note(change: Partial<DiskRecord>): Promise<void> {
    Object.assign(this.record, change);
    await this.options.state.save();
  }
}

function token(): string {
  return randomBytes(12).toString('hex');
}
