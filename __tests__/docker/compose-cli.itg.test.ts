import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Compose, detectComposeCli } from '../../src/docker/compose.js';
import { runTool } from '../../src/docker/exec.js';
import '../support/images.js';

// Fakes on PATH: a `docker` whose `compose version` fails (no plugin) and hands everything else to the real
// docker, and a `docker-compose` that prints $FAKE_COMPOSE_VERSION, or (unset) is the real plugin under
// another name: a standalone binary of the current major.
const bin = mkdtempSync(path.join(tmpdir(), 'cp-compose-cli-'));
const realPath = process.env.PATH ?? '';
const realDocker = (await runTool('bash', ['-c', 'command -v docker'])).stdout.trim();

function script(name: string, body: string): void {
  writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(path.join(bin, name), 0o755);
}
script(
  'docker',
  `if [ "$1" = compose ] && [ "$2" = version ]; then echo "docker: 'compose' is not a docker command." >&2; exit 1; fi
exec ${realDocker} "$@"`,
);
function standalone(version?: string): void {
  script(
    'docker-compose',
    version === undefined
      ? `exec ${realDocker} compose "$@"`
      : `if [ "$1" = version ]; then echo "${version}"; exit 0; fi; exit 3`,
  );
}
const withoutPlugin = () => (process.env.PATH = `${bin}:${realPath}`);

afterEach(() => {
  process.env.PATH = realPath;
  rmSync(path.join(bin, 'docker-compose'), { force: true });
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

describe('which compose runs the stack', () => {
  it('the docker compose plugin, when docker has it', async () => {
    expect(await detectComposeCli()).toEqual({ tool: 'docker', prefix: ['compose'] });
  });

  it.each(['v5.0.1', '2.26.1'])('a standalone docker-compose %s when there is no plugin', async (version) => {
    standalone(version);
    withoutPlugin();
    expect(await detectComposeCli()).toEqual({ tool: 'docker-compose', prefix: [] });
  });

  it('a real standalone binary runs the stack config', async () => {
    standalone();
    withoutPlugin();
    const cli = await detectComposeCli();
    expect(cli.tool).toBe('docker-compose');
    const file = path.resolve('examples/postgres/compose.yml');
    const spec = { files: [file], projectName: 'cp-cli-standalone', profiles: [], cwd: path.dirname(file) };
    const model = await new Compose(cli, spec).config();
    expect(Object.keys(model.services)).toEqual(['db']);
  });

  it('an old Python docker-compose is refused with its version and what to install', async () => {
    standalone('1.29.2');
    withoutPlugin();
    await expect(detectComposeCli()).rejects.toThrow(
      /^docker-compose 1\.29\.2 is Compose v1 .*install the Docker Compose plugin .* or a standalone docker-compose v2 or later\.$/,
    );
  });

  it('no compose at all is refused', async () => {
    withoutPlugin();
    // Hide any docker-compose installed on this machine behind one that fails.
    script('docker-compose', 'exit 127');
    await expect(detectComposeCli()).rejects.toThrow(/^Docker Compose was not found/);
  });
});
