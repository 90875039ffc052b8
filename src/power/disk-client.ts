// The orchestrator's side of a disk server: start it (as root), wait until it has mounted, ask it to cut,
// power on, report, stop.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';
import type { OverlayStats } from './block-overlay.js';
import type { ControlAnswer, ControlEvent, ControlOp } from './control-protocol.js';
import type { Privileged } from '../host/privileged.js';

/** How a disk server is started: the node binary and the server script (dist/power-disk.js). */
export interface ServerCommand {
  node: string;
  script: string;
}

const READY_TIMEOUT_MS = 30_000;
const ANSWER_TIMEOUT_MS = 60_000;

export class DiskClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: ControlAnswer) => void>();
  private stderr = '';
  private exited: Promise<number | null>;
  private stoppedStats?: OverlayStats;

  /** The server's own pid (not sudo's): what a later run's cleanup stops. */
  pid = 0;
  private ready?: (event: ControlEvent) => void;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    lines: readline.Interface,
  ) {
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    child.on('error', (error) => (this.stderr += `${error.message}\n`));
    this.listen(lines);
  }

  /** The server's first event: ready, or failed (also when it exits or stays silent). */
  private firstEvent(): Promise<ControlEvent> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({
            event: 'failed',
            error: `it did not mount in ${READY_TIMEOUT_MS / 1000} s: ${this.log}`,
          }),
        READY_TIMEOUT_MS,
      );
      this.ready = (event) => {
        clearTimeout(timer);
        this.ready = undefined;
        resolve(event);
      };
      void this.exited.then((code) =>
        this.ready?.({ event: 'failed', error: `it exited (${code}): ${this.log}` }),
      );
    });
  }

  /** Starts a server for `image` mounted at `mountpoint`; resolves once it serves (its pid: the server's own). */
  static async start(
    root: Privileged,
    server: ServerCommand,
    image: string,
    mountpoint: string,
    capBytes: number,
  ): Promise<DiskClient> {
    const child = root.spawn(server.node, [server.script, image, mountpoint, String(capBytes)]);
    const lines = readline.createInterface({ input: child.stdout });
    const client = new DiskClient(child, lines);
    const ready = await client.firstEvent();
    if (ready.event !== 'ready') {
      await client.exited;
      throw new Error(
        `the disk server failed to start: ${ready.event === 'failed' ? ready.error : ready.event}`,
      );
    }
    client.pid = ready.pid;
    return client;
  }

  async status(): Promise<OverlayStats> {
    return this.ask('status');
  }

  /** Drops the held blocks; writes are discarded until powerOn. */
  async cut(): Promise<OverlayStats> {
    return this.ask('cut');
  }

  async powerOn(): Promise<OverlayStats> {
    return this.ask('power-on');
  }

  /** Unmounts the disk file and waits for the server to exit. */
  async stop(): Promise<void> {
    await this.ask('stop');
    await this.exited;
  }

  /** Diagnostics the server printed. */
  get log(): string {
    return this.stderr.trim();
  }

  get finalStats(): OverlayStats | undefined {
    return this.stoppedStats;
  }

  private listen(lines: readline.Interface): void {
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    lines.on('line', (line) => {
      let answer: ControlAnswer;
      try {
        answer = JSON.parse(line) as ControlAnswer;
      } catch {
        this.stderr += `${line}\n`;
        return;
      }
      if ('event' in answer) {
        if (answer.event === 'stopped') this.stoppedStats = answer.stats;
        this.ready?.(answer);
        return;
      }
      const id = answer.id ?? 0;
      this.waiting.get(id)?.(answer);
      this.waiting.delete(id);
    });
    void this.exited.then((code) => {
      for (const [id, resolve] of this.waiting)
        resolve({ id, ok: false, error: `the disk server exited (${code}): ${this.log}` });
      this.waiting.clear();
    });
  }

  private async ask(op: ControlOp): Promise<OverlayStats> {
    const id = this.nextId++;
    const answer = await new Promise<ControlAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ id, ok: false, error: `no answer to ${op} in ${ANSWER_TIMEOUT_MS / 1000} s` });
      }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.child.stdin.write(`${JSON.stringify({ id, op })}\n`);
    });
    if ('event' in answer) throw new Error(`the disk server answered ${op} with an event`);
    if (!answer.ok) throw new Error(`the disk server refused ${op}: ${answer.error}`);
    return answer.stats;
  }
}
