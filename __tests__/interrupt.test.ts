import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { INTERRUPT_SIGNALS, signalExitCode, trapInterrupts, whenAborted } from '../src/interrupt.js';

describe('trapInterrupts', () => {
  it('exit codes are 128 + the signal number, as shells report them', () => {
    expect(INTERRUPT_SIGNALS.map(signalExitCode)).toEqual([130, 143, 129]);
  });

  it('the first signal aborts with a reason naming it; later ones are ignored; dispose removes the handlers', async () => {
    const before = INTERRUPT_SIGNALS.map((s) => process.listenerCount(s));
    const seen: string[] = [];
    const interruption = trapInterrupts((signal) => seen.push(signal));
    const aborted = whenAborted(interruption.signal);
    expect(interruption.received).toBeUndefined();
    process.emit('SIGHUP');
    process.emit('SIGINT');
    process.emit('SIGTERM');
    expect(seen).toEqual(['SIGHUP']);
    expect(interruption.received).toBe('SIGHUP');
    expect(interruption.signal.aborted).toBe(true);
    await expect(aborted).rejects.toThrow(
      new UserError('Interrupted by SIGHUP: the work in progress was undone.'),
    );
    interruption.dispose();
    expect(INTERRUPT_SIGNALS.map((s) => process.listenerCount(s))).toEqual(before);
  });

  it('whenAborted rejects at once for a signal already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new UserError('gone'));
    await expect(whenAborted(controller.signal)).rejects.toThrow('gone');
  });
});
