import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { runOk } from '../volumes/fixtures.js';
import {
  Cleanup,
  NOTHING_LEFT,
  composeFile,
  digestOf,
  engine,
  runAction,
  uniqueName,
  type ActionRun,
} from './support.js';

// Volumes the user made before the run, unlabelled and named like anonymous volumes (64 hex characters):
// one mounted as an external volume, one as a declared volume (long syntax) whose name: is that id. The
// stack also has an anonymous volume of its own (`- /scratch`), which teardown must still remove.
const cleanup = new Cleanup();
const hexName = () => randomBytes(32).toString('hex');
const external = cleanup.volume(hexName());
const declared = cleanup.volume(hexName());
let digests: Record<string, string>;
let scratchFile: string;
let action: ActionRun;

/** An unlabelled volume holding one file, as `docker volume create` + a container would leave it. */
async function createHexVolume(name: string): Promise<void> {
  await runOk('docker', ['volume', 'create', name]);
  const mount = `type=volume,source=${name},target=/v`;
  await runOk(
    'docker',
    ['run', '--rm', '--network', 'none', '--mount', mount, BUSYBOX_IMAGE, 'sh', '-c'].concat(
      `printf 'mine since before the run\\n' > /v/precious`,
    ),
  );
}

beforeAll(async () => {
  const dir = await cleanup.tempDir();
  for (const name of [external, declared]) await createHexVolume(name);
  digests = { [external]: await digestOf(external), [declared]: await digestOf(declared) };
  scratchFile = path.join(dir, 'scratch-volume');
  const file = await composeFile(
    dir,
    [
      'services:',
      '  app:',
      `    image: ${BUSYBOX_IMAGE}`,
      `    command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']`,
      '    stop_grace_period: 1s',
      '    volumes:',
      '      - data:/data',
      '      - mine:/mine',
      '      - type: volume',
      '        source: theirs',
      '        target: /theirs',
      '      - /scratch',
      'volumes:',
      '  data:',
      '  mine:',
      '    external: true',
      `    name: ${external}`,
      '  theirs:',
      `    name: ${declared}`,
      '',
    ].join('\n'),
  );
  const project = cleanup.project(uniqueName('hexvol'));
  action = await runAction(project, {
    'compose-file': file,
    // /scratch stays empty: losing a non-empty anonymous volume on down-up fails the check (as it should).
    exec: 'app: echo written > /data/x',
    // The name the engine gave the run's anonymous volume, read from the container while it runs.
    run: `docker inspect -f '{{range .Mounts}}{{if eq .Destination "/scratch"}}{{.Name}}{{end}}{{end}}' "$COMPOSE_PROJECT_NAME-app-1" > ${scratchFile}`,
    'restart-modes': 'restart,down-up',
  });
}, 170_000);

afterAll(() => cleanup.run());

describe('teardown and volumes that existed before the run, named like anonymous ones (64 hex)', () => {
  it('the run passes', () => {
    expect(action.main.exitCode, action.main.stdout).toBe(0);
    expect(action.post.exitCode, action.post.stdout).toBe(0);
  });

  it('BUG(src) — the external and the declared 64-hex volumes survive teardown, data unchanged', async () => {
    expect(action.post.stdout).not.toContain(external);
    expect(action.post.stdout).not.toContain(declared);
    for (const name of [external, declared]) {
      expect(await engine.inspectVolume(name), name).toBeDefined();
      expect(await digestOf(name)).toBe(digests[name]);
    }
  });

  it('the run’s own anonymous volume and its named volume are removed', async () => {
    expect(action.leftovers).toEqual(NOTHING_LEFT);
    const scratch = (await readFile(scratchFile, 'utf8')).trim();
    expect(scratch).toMatch(/^[0-9a-f]{64}$/);
    expect(await engine.inspectVolume(scratch)).toBeUndefined();
  });
});
