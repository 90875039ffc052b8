import { describe, expect, it } from 'vitest';
import { privileged, rootAccess } from '../../src/host/privileged.js';
import { engineOnThisHost } from '../../src/docker/engine.js';

describe('root for the host path and the lazy disks, one way for both', () => {
  it('runs a command as it is when we are root, through sudo -n (never a prompt) when not', () => {
    expect(privileged(0).command('tar', ['--create', '.'])).toEqual(['tar', ['--create', '.']]);
    expect(privileged(1001).command('tar', ['--create', '.'])).toEqual([
      'sudo',
      ['-n', '--', 'tar', '--create', '.'],
    ]);
    expect(privileged(1001).viaSudo).toBe(true);
  });

  it('gives root access at uid 0 without asking sudo', () => {
    expect(rootAccess(0)?.viaSudo).toBe(false);
  });
});

describe('an engine on this host', () => {
  it('is one reached by a unix socket; tcp and ssh engines are elsewhere', () => {
    expect(engineOnThisHost('unix:///var/run/docker.sock')).toBe(true);
    expect(engineOnThisHost('tcp://127.0.0.1:2375')).toBe(false);
    expect(engineOnThisHost('ssh://runner@build-host')).toBe(false);
  });
});
