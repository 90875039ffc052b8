import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pack, type Pack } from 'tar-stream';
import { gzipSync } from 'node:zlib';
import { DockerEngine } from '../../src/docker/engine.js';
import { BUSYBOX_IMAGE } from '../support/images.js';

export const engine = new DockerEngine();
/** The run label of everything these tests create through the library, so a leak is easy to trace. */
export const RUN_ID = `cp-vol-itg-${randomBytes(3).toString('hex')}`;
export const CLI = path.resolve('dist/cli.js');

/** A name no other developer's test can collide with: lowercase, compose-safe. */
export function uniqueName(prefix: string): string {
  return `cp-vol-itg-${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit (tests assert on the code). */
export function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 170_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** Like run, but a non-zero exit is an error carrying the command's stderr. */
export async function runOk(file: string, args: string[], options: Parameters<typeof run>[2] = {}) {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  }
  return result;
}

/** The built CLI, as a user runs it. */
export function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], { env });
}

/** Runs a shell script in a throwaway busybox container with VOLUME at /v (the volume must exist). */
export async function inVolume(volume: string, script: string, readOnly = false): Promise<string> {
  const mount = `type=volume,source=${volume},target=/v,volume-nocopy${readOnly ? ',readonly' : ''}`;
  const args = ['run', '--rm', '--network', 'none', '--label', `dev.compose-persist.run=${RUN_ID}`];
  const result = await runOk('docker', [...args, '--mount', mount, BUSYBOX_IMAGE, 'sh', '-c', script]);
  return result.stdout;
}

/** Creates an empty, unlabelled volume (tracked for cleanup). */
export async function createVolume(resources: Resources, name = uniqueName('v')): Promise<string> {
  resources.volumes.add(name);
  await engine.createVolume(name, { 'dev.compose-persist.run': RUN_ID });
  return name;
}

/**
 * Every node of the volume as `ls -lnR --full-time` would show it: path, mode, owner, size, mtime, type,
 * link count and symlink target, plus the md5 of each regular file. Sorted, so the order never matters.
 */
export async function volumeListing(volume: string): Promise<string> {
  const script = [
    "find /v -exec stat -c '%n|%a|%u:%g|%s|%Y|%F|%h|%N' {} + | sort",
    "echo '--- content'",
    'find /v -type f -exec md5sum {} + | sort',
  ].join(' && ');
  return inVolume(volume, script, true);
}

export const LONG_DIR = ['a', 'b', 'c'].map((c) => `${c.repeat(50)}-dir`).join('/');
export const LONG_FILE = `${LONG_DIR}/long-file-name-ünïcødé.txt`;

/** Builds every awkward thing a volume can hold; the root ends owned by 999 with mode 0700 (PostgreSQL). */
export const TRICKY_SCRIPT = `
set -e
cd /v
mkdir -p 'dir with space' 'ünïcødé 目录' empty/nested emptyleaf setgid sticky sub "${LONG_DIR}"
printf 'hello\\n' > 'dir with space/file ü 文件.txt'
printf 'owned by 999\\n' > owned999 && chown 999:999 owned999
printf 'other owner\\n' > other && chown 1234:5678 other
printf '#!/bin/sh\\n' > suid && chmod 4755 suid
printf 'sgid\\n' > setgid/inside && chown -R 0:999 setgid && chmod 2775 setgid
chmod 1777 sticky && printf 'in sticky\\n' > sticky/note && chown 4242:4242 sticky/note
printf 'locked\\n' > locked && chmod 000 locked
ln -s 'dir with space/file ü 文件.txt' relative-link
ln -s nowhere/at/all dangling
ln -s /etc/passwd absolute-link
printf 'hard\\n' > hard1 && ln hard1 hard2 && ln hard1 sub/hard3
printf 'long\\n' > "${LONG_FILE}"
: > zero
head -c 3145728 /dev/urandom > random.bin
chmod 640 random.bin && chown 999:0 random.bin
touch -d '2001-09-09 01:46:40' random.bin
touch -d '2020-02-29 12:34:56' 'dir with space/file ü 文件.txt'
touch -h -d '2010-01-01 00:00:00' relative-link
touch -d '1999-12-31 23:59:59' empty/nested emptyleaf 'dir with space'
chown 999:999 /v && chmod 0700 /v
`;

/** What a test created; cleanup() removes it all and never fails the test for a resource already gone. */
export class Resources {
  readonly volumes = new Set<string>();
  readonly dirs = new Set<string>();
  readonly projects: { name: string; file: string }[] = [];

  async tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cp-vol-itg-'));
    this.dirs.add(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const project of this.projects) {
      await run('docker', ['compose', '-p', project.name, '-f', project.file, 'down', '-v', '-t', '1']);
    }
    for (const volume of this.volumes) await engine.removeVolume(volume).catch(() => undefined);
    for (const dir of this.dirs) await rm(dir, { recursive: true, force: true });
  }
}

/** One entry of a hand-built tar. */
export interface TarEntry {
  header: Parameters<Pack['entry']>[0];
  content?: string | Buffer;
}

/** A tar buffer built entry by entry with tar-stream's pack (the shape of a malicious archive). */
export async function tarBuffer(entries: TarEntry[]): Promise<Buffer> {
  const packer = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of packer) chunks.push(chunk as Buffer);
  })();
  const mtime = new Date('2024-01-01T00:00:00Z');
  for (const { header, content } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      const full = { mtime, uid: 0, gid: 0, ...header };
      if (content === undefined) packer.entry(full, done);
      else packer.entry(full, Buffer.from(content), done);
    });
  }
  packer.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** A volume root and one ordinary file: the start of each malicious archive. */
const BENIGN: TarEntry[] = [
  { header: { name: 'volume/', type: 'directory', mode: 0o755 } },
  { header: { name: 'volume/ok.txt', type: 'file', mode: 0o644 }, content: 'fine\n' },
];

/** Archives an extractor would follow out of the volume, keyed by what they try. */
export const MALICIOUS: Record<string, TarEntry[]> = {
  'dot-dot': [...BENIGN, { header: { name: 'volume/../evil', type: 'file', mode: 0o644 }, content: 'x' }],
  absolute: [...BENIGN, { header: { name: '/etc/evil', type: 'file', mode: 0o644 }, content: 'x' }],
  'through-symlink': [
    ...BENIGN,
    { header: { name: 'volume/link', type: 'symlink', linkname: '/etc', mode: 0o777 } },
    { header: { name: 'volume/link/passwd', type: 'file', mode: 0o644 }, content: 'root::0:0::/:/bin/sh\n' },
  ],
  'hardlink-out': [
    ...BENIGN,
    { header: { name: 'volume/shadow', type: 'link', linkname: '/etc/shadow', mode: 0o644 } },
  ],
  'outside-root': [
    ...BENIGN,
    { header: { name: 'elsewhere/evil', type: 'file', mode: 0o644 }, content: 'x' },
  ],
  duplicate: [
    ...BENIGN,
    { header: { name: 'volume/ok.txt', type: 'file', mode: 0o644 }, content: 'replaced\n' },
  ],
};

/** Writes a tar buffer as `dir/name`, compressed as the extension says (gzip by node:zlib, zstd by the CLI). */
export async function writeArchive(dir: string, name: string, tar: Buffer): Promise<string> {
  const file = path.join(dir, name);
  if (name.endsWith('.zst')) {
    await writeFile(`${file}.raw`, tar);
    await runOk('zstd', ['-q', '-f', '--rm', `${file}.raw`, '-o', file]);
  } else {
    await writeFile(file, name.endsWith('.gz') ? gzipSync(tar) : tar);
  }
  return file;
}
