import { describe, expect, it } from 'vitest';
import { TimeLedger } from '../../src/types/time-ledger.js';

describe('TimeLedger', () => {
  it('splits the time since it was made into compose, user commands and the rest', async () => {
    let clock = 1000;
    const ledger = new TimeLedger(() => clock);
    await ledger.compose(async () => {
      clock += 300;
    });
    ledger.userCommand('probes', 200);
    ledger.userCommand('tests', 100);
    clock += 1000;
    expect(ledger.split()).toEqual({
      totalMs: 1300,
      composeMs: 300,
      userCommandsMs: { tests: 100, probes: 200, writes: 0 },
      toolMs: 700,
    });
  });

  it('books a failed compose command too', async () => {
    let clock = 0;
    const ledger = new TimeLedger(() => clock);
    const failing = ledger.compose(async () => {
      clock += 50;
      throw new Error('compose failed');
    });
    await expect(failing).rejects.toThrow('compose failed');
    expect(ledger.split().composeMs).toBe(50);
  });
});
