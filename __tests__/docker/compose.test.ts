import { describe, expect, it } from 'vitest';
import {
  chooseComposeCli,
  Compose,
  composeQuestions,
  describeComposeQuestion,
  projectArgs,
  upArgs,
} from '../../src/docker/compose.js';
import { runTool } from '../../src/docker/exec.js';
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

describe('the questions compose asks (answered no: its stdin is closed)', () => {
  // Compose 2.40's words, printed to stdout with no newline (checked on 2.40.3 with a bogus config-hash label).
  const asked = (volume: string) =>
    `Volume "${volume}" exists but doesn't match configuration in compose file. Recreate (data will be lost)?`;

  it('finds the volume question and the volume it names, also glued to a second one or a TTY (y/N)', () => {
    expect(composeQuestions(asked('p_db'))).toEqual([{ question: asked('p_db'), volume: 'p_db' }]);
    expect(composeQuestions(`${asked('p_a')}${asked('p_b')}\n Container p-app-1  Started\n`)).toEqual([
      { question: asked('p_a'), volume: 'p_a' },
      { question: asked('p_b'), volume: 'p_b' },
    ]);
    expect(composeQuestions(`? ${asked('p_db')} (y/N) `)).toEqual([
      { question: asked('p_db'), volume: 'p_db' },
    ]);
  });

  it('keeps any other prompt whole, and finds nothing in plain progress', () => {
    expect(composeQuestions(' Volume "p_db"  Created\n Container p-db-1  Started\n')).toEqual([]);
    expect(composeQuestions('Going to remove p-db-1 (y/N) ')).toEqual([
      { question: 'Going to remove p-db-1 (y/N)' },
    ]);
  });

  it('a warning quotes compose, says no was the answer and why, and names the volume and the fix', () => {
    const warning = describeComposeQuestion({ question: asked('p_db'), volume: 'p_db' });
    expect(warning).toContain(`Compose asked: ${asked('p_db')} It read no on its closed stdin`);
    expect(warning).toContain('never answers yes: the data would be lost');
    expect(warning).toContain('volume p_db was kept as it was');
    expect(warning).toContain('docker volume rm p_db');
  });

  it('Compose reports each question once a run, from failed commands too', async () => {
    // A stand-in compose: prints its second argument as compose prints a prompt, exits with its first.
    const compose = new Compose(
      { tool: 'sh', prefix: ['-c', 'printf "%s" "$1"; exit "$0"'] },
      { files: [], projectName: '', profiles: [], cwd: '/' },
    );
    await compose.run(['0', asked('p_db')]);
    await compose.run(['0', asked('p_db')]);
    expect(compose.newQuestions()).toEqual([{ question: asked('p_db'), volume: 'p_db' }]);
    expect(compose.newQuestions()).toEqual([]);
    await expect(compose.run(['3', asked('p_other')])).rejects.toThrow(/exit 3/);
    expect(compose.newQuestions()).toEqual([{ question: asked('p_other'), volume: 'p_other' }]);
  });
});

describe('runTool', () => {
  it('gives the tool a stdin at EOF, so a question is answered at once instead of waited on', async () => {
    const result = await runTool('sh', ['-c', 'if read answer; then echo "got $answer"; else echo EOF; fi']);
    expect(result.stdout).toBe('EOF\n');
  });

  it("fails on the exit code with the tool's words, and on a tool that is not there", async () => {
    await expect(runTool('sh', ['-c', 'echo broken >&2; exit 4'])).rejects.toThrow(
      /sh -c echo broken >&2; exit 4 failed \(exit 4\): broken/,
    );
    expect(await runTool('sh', ['-c', 'exit 4'], { allowFailure: true })).toEqual({
      exitCode: 4,
      stdout: '',
      stderr: '',
    });
    await expect(runTool('no-such-tool-cp', [])).rejects.toThrow(
      /no-such-tool-cp could not be run: .*ENOENT/,
    );
  });
});
