import { describe, expect, it } from 'vitest';
import { LAYER_DIFFS_AT_ONCE } from '../../src/check/layer-audit.js';
import { layerAuditPhase } from '../../src/phases/layer-audit.js';
import { attachPhase } from '../../src/phases/up.js';
import { StackError } from '../../src/stack/lifecycle.js';
import { engineWith, serviceContainer } from '../__fixtures__/engine.js';
import { phaseInput, settingsFrom, stackModel } from '../__fixtures__/phase-input.js';

const dbMount = {
  type: 'volume',
  name: 'shop_pgdata',
  source: '',
  destination: '/var/lib/postgresql/data',
  rw: true,
};

describe('attach: the sub-actions work on a stack the user started', () => {
  it('a healthy stack: its containers are the baseline; the stack model’s anonymous volumes are listed', async () => {
    const engine = engineWith([
      serviceContainer('shop', 'db', { mounts: [dbMount] }),
      serviceContainer('shop', 'app'),
    ]);
    const model = stackModel({ anonymous: [{ service: 'app', target: '/cache' }] });
    const { input } = phaseInput(engine, { model });
    const { outcome, running } = await attachPhase.start(input);
    expect(outcome).toEqual({ phase: 'attach', anonymous: ['app:/cache'] });
    expect([...running.baseline.keys()].sort()).toEqual(['app-id', 'db-id']);
  });
  it('an image VOLUME with no named volume over it is found on the container', async () => {
    const anon = {
      type: 'volume',
      name: 'f'.repeat(64),
      source: '',
      destination: '/var/lib/mysql',
      rw: true,
    };
    const engine = engineWith([serviceContainer('shop', 'db', { mounts: [dbMount, anon] })]);
    const { outcome } = await attachPhase.start(phaseInput(engine).input);
    expect(outcome).toEqual({ phase: 'attach', anonymous: ['db:/var/lib/mysql'] });
  });
  it('a stack that is not up fails with what to do', async () => {
    const { input } = phaseInput(engineWith([]));
    await expect(attachPhase.start(input)).rejects.toThrow(/has no containers; start it first/);
  });
  it('an unhealthy container fails with its state and its logs', async () => {
    const sick = serviceContainer('shop', 'db', { health: 'unhealthy' });
    const error = await attachPhase.start(phaseInput(engineWith([sick])).input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    expect((error as StackError).message).toMatch(/not healthy: db \(running, unhealthy\)/);
    expect((error as StackError).serviceLogs).toEqual([
      { service: 'db', container: 'shop-db-1', state: 'running, unhealthy', tail: 'log line' },
    ]);
  });
  it('a stopped container fails, even without a healthcheck', async () => {
    const stopped = serviceContainer('shop', 'db', { running: false, state: 'exited', exitCode: 137 });
    await expect(attachPhase.start(phaseInput(engineWith([stopped])).input)).rejects.toThrow(
      /db \(exited, exit code 137\)/,
    );
  });
  it('with `services`, only the selected ones must be healthy', async () => {
    const engine = engineWith([
      serviceContainer('shop', 'db'),
      serviceContainer('shop', 'app', { running: false, state: 'exited' }),
    ]);
    const { input } = phaseInput(engine, { settings: settingsFrom({ services: 'db' }) });
    await expect(attachPhase.start(input)).resolves.toBeDefined();
  });
});

describe('layer-audit phase', () => {
  const running = async (engine: ReturnType<typeof engineWith>, inputs: Record<string, string> = {}) => {
    const { input } = phaseInput(engine, { settings: settingsFrom(inputs) });
    input.running = (await attachPhase.start(input)).running;
    return input;
  };
  it('names files written outside volumes, minus noise, mount points and their parents', async () => {
    const app = serviceContainer('shop', 'app', {
      mounts: [{ type: 'volume', name: 'v', source: '', destination: '/srv/data', rw: true }],
    });
    const engine = engineWith([app], {
      'app-id': [
        { path: '/appdata', kind: 'added' },
        { path: '/appdata/orders.txt', kind: 'added' },
        { path: '/srv', kind: 'added' },
        { path: '/srv/data', kind: 'added' },
        { path: '/tmp/x', kind: 'added' },
        { path: '/run/app.pid', kind: 'added' },
        { path: '/etc/passwd', kind: 'deleted' },
      ],
    });
    const outcome = await layerAuditPhase.run(await running(engine));
    expect(outcome).toEqual({
      phase: 'layer-audit',
      audit: { mode: 'warn', findings: [{ service: 'app', path: '/appdata/orders.txt', kind: 'added' }] },
    });
  });
  it('tmpfs mounts of both syntaxes are not the writable layer (the short key is not in the mounts)', async () => {
    const engine = engineWith([serviceContainer('shop', 'app')], {
      'app-id': [
        { path: '/scratch', kind: 'added' },
        { path: '/scratch/cache.bin', kind: 'added' },
        { path: '/appdata/orders.txt', kind: 'added' },
      ],
    });
    const { input } = phaseInput(engine, {
      model: stackModel({ tmpfs: [{ service: 'app', target: '/scratch' }] }),
    });
    input.running = (await attachPhase.start(input)).running;
    const outcome = await layerAuditPhase.run(input);
    expect(outcome).toMatchObject({
      audit: { findings: [{ service: 'app', path: '/appdata/orders.txt', kind: 'added' }] },
    });
  });
  it('layer-ignore globs drop findings', async () => {
    const engine = engineWith([serviceContainer('shop', 'app')], {
      'app-id': [{ path: '/appdata/orders.txt', kind: 'modified' }],
    });
    const outcome = await layerAuditPhase.run(await running(engine, { 'layer-ignore': 'appdata/**' }));
    expect(outcome).toMatchObject({ audit: { findings: [] } });
  });
  it('off: the engine is not asked at all', async () => {
    const engine = engineWith(
      [serviceContainer('shop', 'app')],
      {},
      {
        layerChanges: () => {
          throw new Error('asked');
        },
      },
    );
    const outcome = await layerAuditPhase.run(await running(engine, { 'layer-audit': 'off' }));
    expect(outcome).toEqual({ phase: 'layer-audit', audit: { mode: 'off', findings: [] } });
  });
  it(`asks the engine for ${LAYER_DIFFS_AT_ONCE} diffs at once and lists findings in the services' order`, async () => {
    const services = ['a', 'b', 'c', 'd'];
    const delays: Record<string, number> = { 'a-id': 30, 'b-id': 0, 'c-id': 10, 'd-id': 0 };
    const seen = { inFlight: 0, most: 0 };
    const engine = engineWith(
      services.map((s) => serviceContainer('shop', s)),
      {},
      {
        layerChanges: async (id) => {
          seen.most = Math.max(seen.most, ++seen.inFlight);
          await new Promise((resolve) => setTimeout(resolve, delays[id]));
          seen.inFlight--;
          return [{ path: `/data/${id}`, kind: 'added' }];
        },
      },
    );
    const outcome = await layerAuditPhase.run(await running(engine));
    expect(seen.most).toBe(LAYER_DIFFS_AT_ONCE);
    expect(outcome).toMatchObject({
      audit: { findings: services.map((s) => ({ service: s, path: `/data/${s}-id` })) },
    });
  });
  it('needs the stack up first (the phase table guarantees it)', async () => {
    const { input } = phaseInput(engineWith([]));
    await expect(layerAuditPhase.run(input)).rejects.toThrow(/needs `up` or `attach`/);
  });
});
