import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.js';
import type { Report } from '../../src/report/schema.js';
import { runStep } from '../support/runner.js';
import '../support/images.js';

const engine = new DockerEngine();
const stack = path.resolve('__tests__/fixtures/stacks/buffered-writes/compose.yml');
/** What the app serves: the keys it holds in memory (loaded from its volume at start). */
const KEYS_PROBE = 'app: ls /mem | sort | tr "\\n" " "';
const WRITE_KEYS = 'app: for k in 1 2 3; do echo v > /mem/key-$k; done';

async function check(inputs: Record<string, string>, what: string) {
  const project = `cp-e2e-order-${what}-${process.pid}`;
  const main = await runStep('dist/main.js', {
    inputs: {
      'project-name': project,
      'archive-to': 'none',
      'compose-file': stack,
      exec: WRITE_KEYS,
      probes: KEYS_PROBE,
      ...inputs,
    },
  });
  const post = await runStep('dist/post.js', { state: main.state });
  expect(post.exitCode).toBe(0);
  expect(await engine.listContainers([`com.docker.compose.project=${project}`])).toEqual([]);
  const report = JSON.parse(await readFile(main.outputs.report as string, 'utf8')) as Report;
  return { main, report };
}

describe('crashes test unflushed writes (an app that flushes only on a graceful stop)', () => {
  it('restart-modes: restart, kill runs kill first (crash-first) and fails: the crash lost the acknowledged keys', async () => {
    const { main, report } = await check({ 'restart-modes': 'restart, kill' }, 'first');
    expect(main.outputs.result, main.stdout).toBe('failed');
    expect(main.stdout).toContain('Restart modes run as kill, restart (restart-order: crash-first)');
    expect(report.modes.map((m) => [m.mode, m.passed])).toEqual([
      ['kill', false],
      ['restart', true],
    ]);
    expect(report.firstLoss).toBe(
      'Data did not survive kill: probe "app: ls /mem | sort | tr "\\n" " "" changed',
    );
    // The restart after the loss compares with the damaged state: it says so instead of standing as proof.
    expect(report.modes[1]?.afterLoss).toBe('kill');
    expect(main.summary).toContain('⚠️ unchanged, but after the loss in kill');
  });

  it('restart-order: as-given without writes passes — and warns that the late crash tested nothing unflushed', async () => {
    const { main, report } = await check(
      { 'restart-modes': 'restart, kill', 'restart-order': 'as-given' },
      'given',
    );
    expect(main.outputs.result, main.stdout).toBe('passed');
    expect(report.warnings.join('\n')).toMatch(
      /kill runs after restart \(restart-order: as-given\) with no write/,
    );
  });

  it('with write commands before every mode, as-given fails too: round 2 writes new keys the kill loses', async () => {
    const { main, report } = await check(
      {
        'restart-modes': 'restart, kill',
        'restart-order': 'as-given',
        write: 'app: echo v > /mem/round-$COMPOSE_PERSIST_ROUND',
      },
      'write',
    );
    expect(main.outputs.result, main.stdout).toBe('failed');
    expect(report.modes.map((m) => [m.mode, m.passed, m.comparedWith])).toEqual([
      ['restart', true, 'the evidence after write round 1'],
      ['kill', false, 'the evidence after write round 2'],
    ]);
    const kill = report.modes[1]?.probes[0];
    expect(kill?.before).toContain('round-2');
    expect(kill?.after).not.toContain('round-2');
    expect(kill?.after).toContain('round-1'); // flushed by the restart's graceful stop
  });
});
