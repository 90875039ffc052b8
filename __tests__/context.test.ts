import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inWorkingDirectory, readRunnerContext, workingDirOf } from '../src/context.js';

const workspace = mkdtempSync(path.join(tmpdir(), 'cp-context-'));
mkdirSync(path.join(workspace, 'db'));
writeFileSync(path.join(workspace, 'README'), '');
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe('working-directory: the one base of host commands and relative paths', () => {
  const ctx = readRunnerContext({ GITHUB_WORKSPACE: workspace });

  it('is the workspace when unset', () => {
    expect(workingDirOf(inWorkingDirectory(ctx, undefined))).toBe(workspace);
  });

  it('resolves against the workspace, or stays absolute', () => {
    expect(workingDirOf(inWorkingDirectory(ctx, 'db'))).toBe(path.join(workspace, 'db'));
    expect(workingDirOf(inWorkingDirectory(ctx, '.'))).toBe(workspace);
    expect(workingDirOf(inWorkingDirectory(ctx, path.join(workspace, 'db')))).toBe(
      path.join(workspace, 'db'),
    );
  });

  it('refuses what is not a directory, naming the input and the path', () => {
    expect(() => inWorkingDirectory(ctx, 'nope')).toThrow(
      `Input 'working-directory': ${path.join(workspace, 'nope')} is not a directory`,
    );
    expect(() => inWorkingDirectory(ctx, 'README')).toThrow(/README is not a directory/);
  });

  it('reads the event name, so pull requests can be told apart', () => {
    expect(readRunnerContext({ GITHUB_EVENT_NAME: 'pull_request' }).eventName).toBe('pull_request');
    expect(readRunnerContext({}).eventName).toBeUndefined();
  });
});
