import { describe, expect, it } from 'vitest';
import { userCommandEnv } from '../../src/check/commands.js';

const KEY = 'k3y-0f-at-least-16-chars';
const TOKEN = 'ghs_0123456789abcdefTOKEN';

describe('userCommandEnv: what run, exec and host probes see (issue 11, point 4)', () => {
  const runner = {
    PATH: '/usr/bin:/bin',
    HOME: '/home/runner',
    DOCKER_HOST: 'unix:///var/run/docker.sock',
    GITHUB_WORKSPACE: '/work',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://oidc.example', // a run: step sees it too (id-token: write)
    'INPUT_COMPOSE-FILE': 'compose.yml',
    INPUT_ENCRYPT: KEY,
    'INPUT_GITHUB-TOKEN': TOKEN,
    INPUT_RUN: 'npm test',
    STATE_teardown: '{}',
    COMPOSE_PERSIST_KEY: 'another-key-of-16-chars',
    ACTIONS_RUNTIME_TOKEN: 'eyJruntime',
    ACTIONS_RUNTIME_URL: 'https://runtime.example/',
    ACTIONS_RESULTS_URL: 'https://results.example/',
    ACTIONS_CACHE_URL: 'https://cache.example/',
    ACTIONS_CACHE_SERVICE_V2: 'true',
    MY_COPY_OF_THE_KEY: KEY,
    TOKEN_IN_A_URL: `https://x-access-token:${TOKEN}@github.com/o/r`,
    UNDEFINED: undefined,
  };
  const env = userCommandEnv(runner, [KEY, TOKEN, undefined], {
    COMPOSE_PROJECT_NAME: 'shop',
    DB_PORT_5432: '49153',
  });

  it('keeps the runner environment a run: step would see, plus the documented variables', () => {
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/runner',
      DOCKER_HOST: 'unix:///var/run/docker.sock',
      GITHUB_WORKSPACE: '/work',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://oidc.example',
      COMPOSE_PROJECT_NAME: 'shop',
      DB_PORT_5432: '49153',
    });
  });

  it('holds no input, no state, no runner service token and no value containing a secret we hold', () => {
    const text = JSON.stringify(env);
    for (const secret of [KEY, TOKEN, 'another-key-of-16-chars', 'eyJruntime'])
      expect(text).not.toContain(secret);
    expect(Object.keys(env).filter((name) => /^(INPUT_|STATE_)/.test(name))).toEqual([]);
  });

  it('a short secret only removes variables equal to it, not every value that happens to contain it', () => {
    expect(userCommandEnv({ A: 'x', B: 'xyz' }, ['x'], {})).toEqual({ B: 'xyz' });
  });
});
