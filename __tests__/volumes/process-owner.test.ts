import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  currentOwner,
  ownerIsGone,
  ownerLabel,
  parseOwner,
  type ProcessTable,
} from '../../src/volumes/process-owner.js';

const table = (running: Record<number, string>): ProcessTable => ({
  host: 'runner-1',
  startOf: (pid) => running[pid],
});

describe('process owners of our resources', () => {
  it('round-trips through the label', () => {
    const owner = { host: 'runner-1', pid: 4242, start: '987654' };
    expect(parseOwner(ownerLabel(owner))).toEqual(owner);
    expect(parseOwner('runner-1/4242/')).toEqual({ host: 'runner-1', pid: 4242, start: undefined });
    expect(parseOwner(undefined)).toBeUndefined();
    expect(parseOwner('no pid here')).toBeUndefined();
  });

  it.each([
    ['its pid is not running', { host: 'runner-1', pid: 7, start: '100' }, {}, true],
    [
      'its pid runs with another start time (reused)',
      { host: 'runner-1', pid: 7, start: '100' },
      { 7: '200' },
      true,
    ],
    [
      'its pid runs with the same start time',
      { host: 'runner-1', pid: 7, start: '100' },
      { 7: '100' },
      false,
    ],
    ['its start time is unknown and the pid runs', { host: 'runner-1', pid: 7 }, { 7: '100' }, false],
    ['it ran on another host', { host: 'runner-2', pid: 7, start: '100' }, {}, false],
  ])('an owner is gone when %s: %s', (_what, owner, running, gone) => {
    expect(ownerIsGone(owner, table(running))).toBe(gone);
  });

  it('on this machine: this process is alive, a process that exited is gone', () => {
    expect(ownerIsGone(currentOwner())).toBe(false);
    const child = spawnSync(process.execPath, ['-e', '0']);
    expect(ownerIsGone({ ...currentOwner(), pid: child.pid })).toBe(true);
  });
});
