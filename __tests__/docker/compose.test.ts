import { describe, expect, it } from 'vitest';
import { chooseComposeCli, Compose, projectArgs, upArgs } from '../../src/docker/compose.js';
import { stackModelFrom } from '../../src/stack/model.js';

describe('compose argument builders', () => {
  it.each([
    [{ files: ['a.yml'], projectName: 'p', profiles: [], cwd: '/' }, ['-f', 'a.yml', '-p', 'p']],
    [
      { files: ['a.yml', 'b.yml'], projectName: 'p', profiles: ['x', 'y'], envFile: '.env', cwd: '/' },
      ['-f', 'a.yml', '-f', 'b.yml', '-p', 'p', '--profile', 'x', '--profile', 'y', '--env-file', '.env'],
    ],
  ])('projectArgs(%j)', (spec, expected) => {
    expect(projectArgs(spec)).toEqual(expected);
  });

  it.each([
    [{ waitTimeoutSeconds: 30 }, ['up', '-d', '--wait', '--wait-timeout', '30', '--remove-orphans']],
    [
      { waitTimeoutSeconds: 5, forceRecreate: true, pull: 'never', services: ['db'] },
      [
        'up',
        '-d',
        '--wait',
        '--wait-timeout',
        '5',
        '--remove-orphans',
        '--force-recreate',
        '--pull',
        'never',
        'db',
      ],
    ],
  ])('upArgs(%j)', (options, expected) => {
    expect(upArgs(options)).toEqual(expected);
  });

  it('exec passes named variables into the container by name only (their values stay off the command line)', () => {
    const compose = new Compose(
      { tool: 'docker', prefix: ['compose'] },
      { files: ['c.yml'], projectName: 'p', profiles: [], cwd: '/' },
    );
    expect(
      compose.execInvocation('db', 'echo $COMPOSE_PERSIST_ROUND', ['COMPOSE_PERSIST_ROUND']).args,
    ).toEqual([
      'compose',
      '-f',
      'c.yml',
      '-p',
      'p',
      'exec',
      '-T',
      '-e',
      'COMPOSE_PERSIST_ROUND',
      'db',
      'sh',
      '-c',
      'echo $COMPOSE_PERSIST_ROUND',
    ]);
  });
});

describe('stackModelFrom', () => {
  const config = {
    name: 'shop',
    services: {
      db: {
        volumes: [
          { type: 'volume' as const, source: 'pgdata', target: '/var/lib/postgresql/data' },
          { type: 'volume' as const, target: '/anon' },
          { type: 'tmpfs' as const, target: '/scratch' },
        ],
        tmpfs: ['/run', '/cache:size=1m'],
      },
      app: {
        volumes: [
          { type: 'bind' as const, source: '/src', target: '/app' },
          { type: 'volume' as const, source: 'shared', target: '/data', read_only: true },
        ],
      },
    },
    volumes: { pgdata: { name: 'shop_pgdata' }, shared: { name: 'team-shared', external: true } },
  };

  it('maps compose keys to real names and sorts every mount into its kind', () => {
    const model = stackModelFrom(config);
    expect(model.volumes).toEqual([
      {
        key: 'pgdata',
        name: 'shop_pgdata',
        external: false,
        mounts: [{ service: 'db', target: '/var/lib/postgresql/data', readOnly: false }],
      },
      {
        key: 'shared',
        name: 'team-shared',
        external: true,
        mounts: [{ service: 'app', target: '/data', readOnly: true }],
      },
    ]);
    expect(model.anonymous).toEqual([{ service: 'db', target: '/anon' }]);
    expect(model.tmpfs).toEqual([
      { service: 'db', target: '/scratch' },
      { service: 'db', target: '/run' },
      { service: 'db', target: '/cache' },
    ]);
    expect(model.binds).toEqual([{ service: 'app', source: '/src', target: '/app', readOnly: false }]);
  });

  it('reads the short tmpfs key as a single string too', () => {
    const model = stackModelFrom({ name: 'shop', services: { app: { tmpfs: '/data:mode=770' } } });
    expect(model.tmpfs).toEqual([{ service: 'app', target: '/data' }]);
  });

  it('narrows to the selected services and their volumes', () => {
    const model = stackModelFrom(config, ['app']);
    expect(model.services).toEqual(['app']);
    expect(model.images).toEqual({ app: 'shop-app' });
    expect(model.volumes.map((v) => v.key)).toEqual(['shared']);
  });
});

describe('chooseComposeCli: the plugin, else a standalone docker-compose v2 or later', () => {
  it.each([
    ['2.26.1', undefined, 'docker'],
    ['v5.0.2', '1.29.2', 'docker'], // the plugin wins over whatever else is installed
    [undefined, '2.26.1', 'docker-compose'],
    [undefined, 'v2.40.3', 'docker-compose'],
    [undefined, '5.0.1', 'docker-compose'],
    [undefined, 'v12.3.0', 'docker-compose'],
  ])('plugin %s, standalone %s: %s', (plugin, standalone, tool) => {
    expect(chooseComposeCli(plugin, standalone).tool).toBe(tool);
  });

  it.each([
    [undefined, /^Docker Compose was not found: install the Docker Compose plugin/],
    [
      '1.29.2',
      /^docker-compose 1\.29\.2 is Compose v1 \(the Python one, end of life\).*docker-compose v2 or later/,
    ],
    ['0.9', /^docker-compose 0\.9 is Compose v0, which compose-persist cannot use/],
    ['docker-compose version x', /answered "docker-compose version x".*not a version/],
  ])('standalone %s alone is refused, naming what was found and what to install', (standalone, message) => {
    expect(() => chooseComposeCli(undefined, standalone)).toThrow(message);
  });
});
