import { mkdir, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE } from '../support/images.js';
import { run, runOk } from '../volumes/fixtures.js';
import {
  Cleanup,
  NOTHING_LEFT,
  composeFile,
  createUserVolume,
  digestOf,
  errorLines,
  runAction,
  runnerEnv,
  uniqueName,
  type ActionRun,
} from './support.js';

// archive-to path:DIR where DIR is a 256 KiB tmpfs and the archive is ~1 MiB of incompressible data.
// Mounting needs root (CI and the dev container run as root); elsewhere the test is skipped, not faked.
const AS_ROOT = process.getuid?.() === 0;
const cleanup = new Cleanup();
let full = '';
let mounted = false;
let userVolume: string;
let userDigest: string;
let action: ActionRun;

beforeAll(async () => {
  if (!AS_ROOT) return;
  const dir = await cleanup.tempDir();
  full = path.join(dir, 'full');
  await mkdir(full);
  await runOk('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', full]);
  mounted = true;
  userVolume = await createUserVolume(cleanup);
  userDigest = await digestOf(userVolume);
  const file = await composeFile(
    dir,
    [
      'services:',
      '  app:',
      `    image: ${BUSYBOX_IMAGE}`,
      `    command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']`,
      '    stop_grace_period: 1s',
      '    volumes: [data:/data, userdata:/user]',
      'volumes:',
      '  data:',
      '  userdata:',
      '    external: true',
      `    name: ${userVolume}`,
      '',
    ].join('\n'),
  );
  const project = cleanup.project(uniqueName('full'));
  action = await runAction(
    project,
    {
      'compose-file': file,
      exec: 'app: head -c 1048576 /dev/urandom > /data/blob',
      'restart-modes': 'restart',
      'archive-to': `path:${full}`,
      'archive-format': 'tar.zst',
    },
    runnerEnv({ RUNNER_TEMP: dir }),
  );
}, 170_000);

afterAll(async () => {
  try {
    if (mounted) await run('umount', [full]);
  } finally {
    await cleanup.run();
  }
});

describe.skipIf(!AS_ROOT)('archive-to path:DIR on a full file system', () => {
  it('fails with one line naming the directory, ENOSPC, the space needed and free', () => {
    expect(action.main.exitCode, action.main.stdout).not.toBe(0);
    expect(action.main.outputs.result).toBe('failed');
    const [first] = errorLines(action.main);
    expect(first).toMatch(
      new RegExp(
        `^::error::Cannot write archives to directory ${full} \\(ENOSPC; the archives need 1(\\.\\d)? MiB, 256 KiB were free\\): ` +
          'no space left on the device: free some space or choose another directory in "path:DIR" \\(one under the workspace or RUNNER_TEMP works\\)\\.$',
      ),
    );
  });

  it('tears everything down and leaves the user’s volume as it was', async () => {
    expect(action.post.exitCode, action.post.stdout).toBe(0);
    expect(action.leftovers).toEqual(NOTHING_LEFT);
    expect(await digestOf(userVolume)).toBe(userDigest);
  });

  // BUG(src): copyFileStreamed (src/stores/files.ts) writes DEST.partial and does not remove it when the
  // copy fails, so the full directory keeps a truncated archive. Expected to fail until that is fixed.
  it('BUG(src) — leaves no partial file in DIR', async () => {
    expect(await readdir(full, { recursive: true })).toEqual([]);
  });
});
