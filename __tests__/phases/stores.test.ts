import { describe, expect, it } from 'vitest';
import type { RunnerContext } from '../../src/context.js';
import {
  archiveTargets,
  defaultArchiveSkipped,
  storeOptions,
  type StoreSettings,
} from '../../src/phases/stores.js';

const ctx = (overrides: Partial<RunnerContext> = {}): RunnerContext => ({
  onGitHub: false,
  workspace: '/work',
  tempDir: '/tmp',
  runId: '1',
  runAttempt: '1',
  job: 'verify',
  repository: 'acme/shop',
  apiUrl: 'https://api.github.com',
  actionsServices: false,
  uniqueId: '1-1-verify-abc',
  ...overrides,
});
const settings = (overrides: Partial<StoreSettings> = {}): StoreSettings => ({
  restoreKeys: [],
  archiveTo: [],
  ...overrides,
});

describe('archiveTargets: where archives go', () => {
  it('outside GitHub: a local directory', () => {
    expect(archiveTargets(settings(), ctx())).toEqual(['path:compose-persist-archives']);
  });
  it('on GitHub with the artifact service: an artifact named after the project or the job', () => {
    const gh = ctx({ onGitHub: true, actionsServices: true });
    expect(archiveTargets(settings(), gh)).toEqual(['artifact:volumes-verify']);
    expect(archiveTargets(settings({ projectName: 'shop' }), gh)).toEqual(['artifact:volumes-shop']);
    expect(archiveTargets(settings({ artifactName: 'nightly' }), gh)).toEqual(['artifact:nightly']);
  });
  it('on GitHub without the artifact service (a container job, GHES without it): nothing', () => {
    expect(archiveTargets(settings(), ctx({ onGitHub: true }))).toEqual([]);
  });
  it('as given, and none turns archiving off', () => {
    expect(archiveTargets(settings({ archiveTo: ['path:out', 'cache:k1'] }), ctx())).toEqual([
      'path:out',
      'cache:k1',
    ]);
    expect(archiveTargets(settings({ archiveTo: ['path:out', 'none'] }), ctx())).toEqual([]);
  });
  it('on pull requests the default uploads nothing, and says how to turn it on', () => {
    for (const eventName of ['pull_request', 'pull_request_target']) {
      const pr = ctx({ onGitHub: true, actionsServices: true, eventName });
      expect(archiveTargets(settings(), pr)).toEqual([]);
      expect(defaultArchiveSkipped(settings(), pr)).toMatch(/archive-to: artifact/);
      // Asked for explicitly: archived, and nothing to explain.
      expect(archiveTargets(settings({ archiveTo: ['artifact'] }), pr)).toEqual(['artifact:volumes-verify']);
      expect(defaultArchiveSkipped(settings({ archiveTo: ['artifact'] }), pr)).toBeUndefined();
    }
    const push = ctx({ onGitHub: true, actionsServices: true, eventName: 'push' });
    expect(archiveTargets(settings(), push)).toEqual(['artifact:volumes-verify']);
    expect(defaultArchiveSkipped(settings(), push)).toBeUndefined();
  });
  it('a bad target fails before any work is done', () => {
    expect(() => archiveTargets(settings({ archiveTo: ['ftp:somewhere'] }), ctx())).toThrow(/ftp/);
  });
});

describe('storeOptions: which run a seed reads', () => {
  it('this run by default', () => {
    expect(storeOptions(settings(), ctx(), true).fromRun).toBeUndefined();
  });
  it('another run needs a token, said in one line naming both inputs', () => {
    expect(() => storeOptions(settings({ seedRun: { runId: 42 } }), ctx(), true)).toThrow(
      "Input 'seed-run-id' needs 'github-token' (a token with actions: read).",
    );
  });
  it('another run: its repository defaults to this one', () => {
    const options = storeOptions(settings({ seedRun: { runId: 42 }, githubToken: 't' }), ctx(), true);
    expect(options.fromRun).toMatchObject({ runId: 42, token: 't', repository: 'acme/shop' });
  });
  it('archives always go to this run, whatever seed-run-id says', () => {
    const options = storeOptions(settings({ seedRun: { runId: 42 }, githubToken: 't' }), ctx(), false);
    expect(options.fromRun).toBeUndefined();
  });
});
