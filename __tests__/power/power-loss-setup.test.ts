// The power-loss set-up's own refusals (PowerLossCrash.setUp), before anything stops: too little disk for the
// copies, and a protected place that is not on this host. The engine is a fake (it names the containers and
// their mounts); du and statfs are real, so each refusal comes from the figures the product really reads.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Compose } from '../../src/docker/compose.js';
import { UserError } from '../../src/errors.js';
import { PowerLossCrash } from '../../src/power/power-loss.js';
import { privileged } from '../../src/host/privileged.js';
import { engineWith, serviceContainer } from '../__fixtures__/engine.js';
import { recordingLog, stackModel } from '../__fixtures__/phase-input.js';

const work = mkdtempSync(path.join(tmpdir(), 'cp-power-setup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A set-up of `db` whose container mounts `source` as a named volume; nothing past the refusal may run. */
function powerLoss(source: string) {
  const db = serviceContainer('shop', 'db', {
    mounts: [
      { type: 'volume', name: 'shop_pgdata', source, destination: '/var/lib/postgresql/data', rw: true },
    ],
  });
  const compose = new Compose(
    { tool: 'false', prefix: [] },
    { files: ['/nonexistent/compose.yml'], projectName: 'shop', profiles: [], cwd: '/' },
  );
  const stop = vi.spyOn(compose, 'stop');
  const rootDir = path.join(work, `runs-${path.basename(source)}`);
  const crash = new PowerLossCrash({
    stack: {
      engine: engineWith([db]),
      compose,
      model: stackModel(),
      composeFiles: { files: ['/nonexistent/compose.yml'], from: 'input', notes: [] },
    },
    targets: ['db'],
    startAndWait: () => Promise.reject(new Error('started the stack after a refusal')),
    log: recordingLog(),
    // Commands as they are (no sudo): du of a place needs no root here.
    root: privileged(0),
    runId: 'setup-test',
    rootDir,
    createDisk: () => Promise.reject(new Error('built a lazy disk after a refusal')),
  });
  return { crash, stop, rootDir };
}

async function refusalOf(crash: PowerLossCrash): Promise<string> {
  const error = await crash.setUp().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return (error as UserError).message;
}

describe('power-loss set-up: refusals before anything stops', () => {
  it('too little disk for the copies: names the room needed and free, where, and what to do', async () => {
    // A place du counts as 4 TiB (a sparse file: its apparent size, which is what the copies are sized by):
    // its image alone needs 12 TiB, more than any disk this runs on.
    const place = mkdtempSync(path.join(work, 'big-'));
    execFileSync('truncate', ['-s', '4T', path.join(place, 'sparse')]);
    const { crash, stop, rootDir } = powerLoss(place);
    const message = await refusalOf(crash);
    expect(message).toMatch(
      /^crash-kind: power-loss needs 12288\.3 GiB free in \S+ for the copies of the protected places \(sparse images of 3x their size, at least 1 GiB each\) and has [\d.]+ GiB: free space there, or use crash-kind: process\.$/,
    );
    expect(message).toContain(` free in ${rootDir} `);
    expect(stop).not.toHaveBeenCalled();
    expect(existsSync(rootDir)).toBe(false);
    expect(crash.setup).toBeUndefined();
  });

  it('a protected place that is not on this host (the engine keeps its volumes elsewhere): names it and what to do', async () => {
    const elsewhere = path.join(work, 'engine-vm/var/lib/docker/volumes/shop_pgdata/_data');
    const { crash, stop, rootDir } = powerLoss(elsewhere);
    expect(await refusalOf(crash)).toBe(
      `crash-kind: power-loss: ${elsewhere} (a protected place) is not on this machine: the engine keeps its volumes elsewhere (a remote engine, Docker Desktop's VM, rootless Docker); run on the engine's host, or use crash-kind: process.`,
    );
    expect(stop).not.toHaveBeenCalled();
    expect(existsSync(rootDir)).toBe(false);
  });
});
