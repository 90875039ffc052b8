// What the orchestrator and the disk server say to each other: one JSON object a line.
import type { OverlayStats } from './block-overlay.js';

/** The one file the server exposes: the disk the loop device is attached to. */
export const DISK_FILE = 'disk';

export const CONTROL_OPS = ['status', 'cut', 'power-on', 'stop'] as const;
export type ControlOp = (typeof CONTROL_OPS)[number];

export interface ControlRequest {
  id: number;
  op: ControlOp;
}

/** An answer to a request (`id`), or an event the server sends on its own (ready, failed, stopped). */
export type ControlAnswer =
  { id?: number; ok: true; stats: OverlayStats } | { id?: number; ok: false; error: string } | ControlEvent;

export type ControlEvent =
  | { event: 'ready'; pid: number }
  | { event: 'failed'; error: string }
  | { event: 'stopped'; stats: OverlayStats; clean: boolean };

export function parseControlRequest(line: string): ControlRequest {
  const value = JSON.parse(line) as { id?: unknown; op?: unknown };
  if (typeof value.id !== 'number' || !(CONTROL_OPS as readonly unknown[]).includes(value.op))
    throw new Error(`not a control request: ${line.slice(0, 200)}`);
  return { id: value.id, op: value.op as ControlOp };
}
