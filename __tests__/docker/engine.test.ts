import { afterEach, describe, expect, it } from 'vitest';
import { engineLostError } from '../../src/docker/engine.js';
import { UserError } from '../../src/errors.js';

/** A Node connect error as net/http raise it. */
function connectError(code: string, target: { address: string; port?: number }): Error {
  const where = target.port === undefined ? target.address : `${target.address}:${target.port}`;
  return Object.assign(new Error(`connect ${code} ${where}`), { code, syscall: 'connect', ...target });
}

describe('engineLostError', () => {
  const host = process.env.DOCKER_HOST;
  afterEach(() => {
    if (host === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = host;
  });

  it('words a refused connection to the engine socket as one line naming DOCKER_HOST', () => {
    process.env.DOCKER_HOST = 'unix:///run/engine/docker.sock';
    const lost = engineLostError(connectError('ENOENT', { address: '/run/engine/docker.sock' }));
    expect(lost).toBeInstanceOf(UserError);
    expect(lost?.message).toBe(
      'Lost the Docker engine at unix:///run/engine/docker.sock during the run (connect ENOENT /run/engine/docker.sock): it stopped or is restarting. Start it again; the post step then tears the stack down.',
    );
  });

  it('recognises a tcp engine by its port', () => {
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:2375';
    expect(
      engineLostError(connectError('ECONNREFUSED', { address: '127.0.0.1', port: 2375 })),
    ).toBeInstanceOf(UserError);
  });

  it('leaves other errors alone: other hosts, other syscalls, our own errors', () => {
    delete process.env.DOCKER_HOST;
    expect(
      engineLostError(connectError('ECONNREFUSED', { address: '127.0.0.1', port: 443 })),
    ).toBeUndefined();
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    expect(engineLostError(reset)).toBeUndefined();
    const missingFile = Object.assign(new Error('open ENOENT x'), {
      code: 'ENOENT',
      syscall: 'open',
      path: 'x',
    });
    expect(engineLostError(missingFile)).toBeUndefined();
    expect(engineLostError(new UserError('already worded'))).toBeUndefined();
    expect(engineLostError('a string')).toBeUndefined();
  });
});
