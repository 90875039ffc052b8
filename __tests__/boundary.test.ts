import { afterEach, describe, expect, it } from 'vitest';
import { describeError } from '../src/boundary.js';
import { UserError } from '../src/errors.js';

describe('describeError: the one error boundary', () => {
  const host = process.env.DOCKER_HOST;
  afterEach(() => {
    if (host === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = host;
  });
  it('a UserError is shown as it is, with no stack', () => {
    expect(describeError(new UserError('Input x: bad.'))).toMatchObject({ message: 'Input x: bad.' });
    expect(describeError(new UserError('Input x: bad.'))).not.toHaveProperty('stack');
  });
  it('an unexpected error keeps its stack for debug logs', () => {
    const described = describeError(new TypeError('boom'));
    expect(described.message).toBe('boom');
    expect(described.stack).toMatch(/TypeError: boom/);
  });
  it('a refused connection to the engine becomes one line naming DOCKER_HOST', () => {
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:2999';
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2999'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: '127.0.0.1',
      port: 2999,
    });
    const described = describeError(refused);
    expect(described.message).toMatch(/^Lost the Docker engine at tcp:\/\/127.0.0.1:2999 during the run/);
    expect(described.error).toBeInstanceOf(UserError);
    expect(described).not.toHaveProperty('stack');
  });
  it('a refused connection elsewhere (a store) is left as it is', () => {
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:2999';
    const other = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:10000'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
      port: 10000,
    });
    expect(describeError(other).message).toBe('connect ECONNREFUSED 127.0.0.1:10000');
  });
});
