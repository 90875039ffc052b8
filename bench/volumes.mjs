#!/usr/bin/env node
/**
 * bench/volumes — how fast compose-persist archives and seeds a Docker volume, and how much memory it needs.
 *
 * Builds each volume shape inside the engine with a busybox container — 1 GiB (20k text-ish files of 1–64 KiB
 * plus three 128 MiB files, half random / half repetitive), 200k tiny files, and with BENCH_MILLION=1 a million
 * tiny files (1000 a directory, "DIR FILE\n" each) — then times, round-robin and repeated (median reported):
 *   raw        docker run --log-driver none … tar cf - -C /src . | wc -c   (uncompressed stream out of a
 *              helper: the limit; on 1 GiB also once with the default json-file log driver, far slower)
 *   classic    docker run … tar czf / tar xzf                (the usual helper-container backup and restore)
 *   ours       node dist/cli.js archive VOL FILE.tar.zst, seed VOL FILE (fresh volume, verified, read back)
 *   action     node dist/archive.js / dist/seed.js, the sub-actions as the runner starts them (INPUT_*
 *              variables, no node flags), once per shape: what a runner's memory sees
 *   engine     the engine's archive API alone, with curl over its socket (no Node): GET → /dev/null,
 *              GET | zstd -1 (ours without the hashing), and PUT of our archive's tar + GET into a fresh
 *              volume (ours without the checks): the floor printed beside each speed target
 * Peak RSS comes from /usr/bin/time -v (the larger of node and its zstd child), else from polling
 * /proc/PID/status VmHWM.
 *
 * Absolute seconds depend on the machine, its disks, its page cache and whoever else uses the engine, so the
 * targets (issue #14) are RATIOS against commands run on the same machine, in the same run, on the same data:
 * peak RSS < 120 MiB for every archive and seed of ours on every shape; a verified seed no slower than
 * classic tar xzf; archive within 1.2× of raw on 1 GiB and ≥ 1.5× faster than classic on 1M tiny files.
 * Each is printed MET / NOT MET.
 *
 * Env: CP_TEST_BUSYBOX_IMAGE (default local/busybox:latest), BENCH_REPEAT (3; the 1M shape runs once),
 * BENCH_MILLION (1: add the 1M shape), BENCH_BUDGET_S (900, 1500 with 1M: no new repetition starts past it),
 * BENCH_DEADLINE_S (1500 / 2700: hard stop), BENCH_EXTRAS (1: on 1 GiB also .tar.gz and the json-file raw row), BENCH_SHAPES (only these keys: 1g,tiny200k,tiny1m). Every volume, container and file it creates carries a unique
 * name and is removed at the end (each shape's volume as soon as it is measured), also on failure and Ctrl-C.
 * Results: bench/out/*.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const IMAGE = process.env.CP_TEST_BUSYBOX_IMAGE || 'local/busybox:latest';
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const MILLION = process.env.BENCH_MILLION === '1';
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? (MILLION ? 1500 : 900));
const DEADLINE_S = Number(process.env.BENCH_DEADLINE_S ?? (MILLION ? 2700 : 1500));
const TARGETS = { speedupVsClassic: 1.5, slowdownVsRaw: 1.2, rssMiB: 120 }; // issue #31
const TIME_BIN = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const RUN_LABEL = 'dev.compose-persist.run'; // src/constants.ts: our CLI labels its helper containers with it

const ID = `cpbench-${process.pid}-${randomBytes(3).toString('hex')}`;
const started = Date.now();
const loadStart = loadavg()[0];
const elapsed = () => (Date.now() - started) / 1000;
const log = (text) => process.stderr.write(`[${elapsed().toFixed(0).padStart(4)}s] ${text}\n`);

// ---- everything created, so cleanup can remove it whatever happens --------------------------------------------
const created = { volumes: new Set(), containers: new Set(), dir: null };
const children = new Set();
let cleaning = null;

function docker(args, { check = true } = {}) {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (check && r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Children run in their own process group (so /usr/bin/time's node goes too): kill the whole group. */
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const volumeExists = (name) =>
  spawnSync('docker', ['volume', 'inspect', name], { stdio: 'ignore' }).status === 0;

function cleanup() {
  cleaning ??= (() => {
    for (const child of children) killGroup(child);
    // A killed `docker run` may leave its container behind a moment later: retry a few times.
    for (let attempt = 1; attempt <= 5; attempt++) {
      // Our CLI's helper containers are labelled `${GITHUB_RUN_ID}-…`, and we set GITHUB_RUN_ID to ID.
      const labelled = docker(['ps', '-a', '--format', `{{.ID}} {{.Label "${RUN_LABEL}"}}`], { check: false })
        .split('\n')
        .filter((line) => line.split(' ')[1]?.startsWith(`${ID}-`))
        .map((line) => line.split(' ')[0]);
      // The compose projects of the action rows are named `${ID}-<shape>`.
      const composed = docker(['ps', '-a', '--format', '{{.ID}} {{.Label "com.docker.compose.project"}}'], {
        check: false,
      })
        .split('\n')
        .filter((line) => line.split(' ')[1]?.startsWith(`${ID}-`))
        .map((line) => line.split(' ')[0]);
      const containers = [...created.containers, ...labelled, ...composed];
      if (containers.length) docker(['rm', '-f', ...containers], { check: false });
      const volumes = [...created.volumes].filter(volumeExists);
      if (volumes.length) docker(['volume', 'rm', '-f', ...volumes], { check: false });
      if (![...created.volumes].some(volumeExists)) break;
      if (attempt === 5)
        process.stderr.write(`WARNING: could not remove volumes of ${ID}: docker volume ls\n`);
      else spawnSync('sleep', ['1']);
    }
    if (created.dir) rmSync(created.dir, { recursive: true, force: true });
  })();
  return cleaning;
}

function abort(reason, code) {
  process.stderr.write(`\n${reason}: cleaning up…\n`);
  cleanup();
  process.exit(code);
}
process.on('SIGINT', () => abort('interrupted', 130));
process.on('SIGTERM', () => abort('terminated', 143));
const deadline = setTimeout(() => abort(`hard deadline of ${DEADLINE_S}s reached`, 124), DEADLINE_S * 1000);
deadline.unref();

// ---- running commands -----------------------------------------------------------------------------------------
/**
 * Runs a command; resolves with { seconds, stdout, rssKiB? }. `container` names the container it starts, so a
 * timeout can remove it. `measureRss` wraps it in /usr/bin/time -v (or polls VmHWM).
 */
function run(cmd, args, { timeoutS = 300, container, measureRss = false, pipeTo, env } = {}) {
  let timeFile = null;
  if (measureRss && TIME_BIN) {
    timeFile = path.join(created.dir, `time-${randomBytes(4).toString('hex')}.txt`);
    [cmd, args] = [TIME_BIN, ['-v', '-o', timeFile, cmd, ...args]];
  }
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, GITHUB_RUN_ID: ID, ...env },
    });
    children.add(child);
    let out = '';
    let err = '';
    let hwm = 0;
    let downstream = null;
    if (pipeTo) {
      // cmd | pipeTo[0] pipeTo[1]…, timed until both ended
      downstream = spawn(pipeTo[0], pipeTo.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
      children.add(downstream);
      child.stdout.pipe(downstream.stdin);
      downstream.stdout.on('data', (d) => (out += d));
    } else child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    const poll =
      measureRss && !TIME_BIN
        ? setInterval(() => {
            try {
              const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
              if (m) hwm = Math.max(hwm, Number(m[1]));
            } catch {
              // the process has just exited
            }
          }, 20)
        : null;
    const timer = setTimeout(() => {
      err += `\n(timed out after ${timeoutS}s)`;
      killGroup(child);
      if (downstream) killGroup(downstream);
      if (container) docker(['rm', '-f', container], { check: false });
    }, timeoutS * 1000);
    const exited = (p) => new Promise((res) => p.on('close', (code) => res(code)));
    Promise.all([exited(child), downstream ? exited(downstream) : 0]).then(([code, code2]) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      children.delete(child);
      if (downstream) children.delete(downstream);
      if (timeFile && existsSync(timeFile)) {
        const text = readFileSync(timeFile, 'utf8');
        hwm = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1] ?? 0);
      }
      if (code !== 0 || code2 !== 0) {
        reject(
          new Error(
            `${[cmd, ...args].join(' ')} exited with ${code}/${code2}: ${err.trim()} ${out.slice(-2000)}`,
          ),
        );
      } else resolve({ seconds, stdout: out, rssKiB: measureRss ? hwm : undefined });
    });
  });
}

function removeVolume(name) {
  docker(['volume', 'rm', '-f', name], { check: false });
  if (!volumeExists(name)) created.volumes.delete(name); // else cleanup() retries
}

/** docker run --rm with a unique container name (so a timeout or Ctrl-C can remove it). */
function helperRun(tag, dockerArgs, cmd, options = {}) {
  const container = `${ID}-${tag}-${randomBytes(2).toString('hex')}`;
  created.containers.add(container);
  return run('docker', ['run', '--rm', '--name', container, ...dockerArgs, IMAGE, ...cmd], {
    ...options,
    container,
  }).finally(() => created.containers.delete(container));
}

// ---- the engine alone: its archive API over the socket with curl, no Node in the path ---------------------------
// These rows are the floor under ours: what the engine's own GET (our archive's source) and PUT + GET (our
// seed's write and read-back) take on this machine. A target the floor misses is bound by the engine, not by us.
const SOCKET = (() => {
  const host = process.env.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  return host.startsWith('unix://') ? host.slice('unix://'.length) : null; // a TCP engine: no floor rows
})();
const CURL = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
const ENGINE_FLOOR = SOCKET !== null && CURL;
/** Where our helpers mount a volume (src/volumes/helper.ts): the engine's tar then has our `volume/` root. */
const HELPER_PARENT = '/.compose-persist';

/** A created (never started) container mounting the volume, as our helper; removed by `done`. */
function engineHelper(volume, readOnly) {
  const name = `${ID}-floor-${randomBytes(2).toString('hex')}`;
  created.containers.add(name);
  const id = docker([
    'create',
    '--name',
    name,
    '-v',
    `${volume}:${HELPER_PARENT}/volume${readOnly ? ':ro' : ''}`,
    IMAGE,
    'true',
  ]);
  return {
    url: (dir) => `http://engine/containers/${id}/archive?path=${encodeURIComponent(dir)}`,
    done: () => {
      docker(['rm', '-f', name], { check: false });
      created.containers.delete(name);
    },
  };
}

/** Runs `fn(url)` with a helper mounting the volume (url(dir): its archive endpoint), removed afterwards. */
async function withEngineHelper(volume, readOnly, fn) {
  const helper = engineHelper(volume, readOnly);
  try {
    return await fn(helper.url);
  } finally {
    helper.done();
  }
}

const curl = (args, options) => run('curl', ['-sSf', '--unix-socket', SOCKET, ...args], options);
/** The engine's GET of the volume's tar, to /dev/null. */
const engineGet = (url) => curl(['-o', '/dev/null', url(`${HELPER_PARENT}/volume`)], { timeoutS: 900 });

// ---- test data, built inside the volume -----------------------------------------------------------------------
/** Half /dev/urandom, half a repeated log line: compressible, but not trivially. */
const bigFile = (file, mib) =>
  `{ dd if=/dev/urandom bs=1048576 count=${mib / 2} 2>/dev/null; yes '2024-05-01T12:00:00Z INFO worker=7 ` +
  `job=flush-cache status=ok latency_ms=12' | head -c ${(mib / 2) * 1048576}; } > ${file}`;

// 20k files of 1–64 KiB (about 650 MiB): random base64 lines interleaved with log-like lines, in 100 dirs.
const SMALL_FILES = `
for d in $(seq -w 0 99); do mkdir -p small/d$d; done
head -c ${320 * 1048576} /dev/urandom | base64 | awk -v files=20000 '
function next_file() { if (i >= files) exit; f = sprintf("small/d%02d/f%05d.txt", i % 100, i); target = 1024 + int(rand() * 63 * 1024); n = 0; i++ }
BEGIN { srand(42); i = 0; next_file() }
{ line = $0 "\\n" sprintf("%08d INFO GET /api/v1/items/%d user=%d status=200 bytes=%d\\n", NR, NR % 977, NR % 131, NR % 4093)
  if (n + length(line) > target) { close(f); next_file() }
  printf "%s", line > f; n += length(line) }'
`;

/** N tiny files, 1000 a directory, each holding "DIR FILE\n" (the issue's busybox loop, written by awk: faster). */
const tinyFiles = (n) => `awk -v dirs=${n / 1000} 'BEGIN {
  for (d = 1; d <= dirs; d++) { system("mkdir d" d); for (f = 1; f <= 1000; f++) { p = "d" d "/f" f; print d " " f > p; close(p) } } }'`;

async function buildVolume(volume, script) {
  // sync: no writeback of the fresh data may run during the timings
  await helperRun('build', ['-v', `${volume}:/v`, '-w', '/v'], ['sh', '-ec', `${script}\nsync`], {
    timeoutS: 900,
  });
  const [files, kib] = (
    await helperRun('count', ['-v', `${volume}:/v:ro`], ['sh', '-c', 'find /v -type f | wc -l; du -sk /v'])
  ).stdout
    .split(/\s+/)
    .map(Number);
  return { files, bytes: kib * 1024 };
}

// ---- the operations -------------------------------------------------------------------------------------------
/** Our CLI on one data path (src/volumes/data-path.ts): 'host' (GNU tar on the volume's directory) or 'engine'. */
const ours = (verb, volume, file, dataPath = 'host') =>
  run('node', [CLI, verb, volume, file], {
    measureRss: true,
    timeoutS: 900,
    env: { COMPOSE_PERSIST_DATA_PATH: dataPath },
  });

// ---- the host alone: GNU tar on the volume's directory, no Node in the path ----------------------------------
// The floor under our host data path, as the engine-alone rows are under the archive API: the same tar
// flags ours runs (src/volumes/data-path.ts), reading or writing the volume's Mountpoint. Needs root.
const HOST_FLOOR = process.getuid?.() === 0 && !process.env.DOCKER_HOST;
const HOST_TAR_FLAGS = [
  '--format=posix',
  '--pax-option=delete=atime,delete=ctime',
  '--xattrs',
  '--xattrs-include=*',
  '--acls',
  '--numeric-owner',
];
const mountpointOf = (volume) => docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', volume]);
const hostTarCreate = (volume) => [
  'tar',
  '--create',
  '--file=-',
  `--directory=${mountpointOf(volume)}`,
  ...HOST_TAR_FLAGS,
  '--sort=name',
  '--transform=s,^\\.,volume,rhS',
  '.',
];
const hostTarExtract = (volume) => {
  const dir = mountpointOf(volume);
  return [
    'tar',
    '--extract',
    `--directory=${path.dirname(dir)}`,
    ...HOST_TAR_FLAGS,
    '--same-owner',
    '--same-permissions',
    `--transform=s,^volume\\(/\\|$\\),${path.basename(dir)}\\1,rhS`,
  ];
};

/**
 * The action's own path: dist/archive.js and dist/seed.js (the archive/ and seed/ sub-actions) as the runner
 * starts them — inputs as INPUT_* variables, no node flags — on a one-volume compose project.
 */
function composeFileOf(dir, project) {
  const compose = path.join(dir, `${project}.compose.yml`);
  writeFileSync(
    compose,
    // The sleeper exits on SIGTERM: a bare `sleep` as PID 1 ignores it, and the archive's stop would wait
    // the engine's 10 s timeout before a SIGKILL, which is no cost of archiving.
    `services:\n  app:\n    image: ${IMAGE}\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n    volumes: ["data:/data"]\nvolumes:\n  data: {}\n`,
  );
  return compose;
}

function actionStep(entry, { project, dir, inputs }) {
  const compose = composeFileOf(dir, project);
  const env = {
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: dir,
    GITHUB_JOB: 'bench',
    GITHUB_OUTPUT: path.join(dir, 'gh-output'),
    GITHUB_STATE: path.join(dir, 'gh-state'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'gh-summary'),
    'INPUT_COMPOSE-FILE': compose,
    'INPUT_PROJECT-NAME': project,
    'INPUT_HELPER-IMAGE': IMAGE,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  for (const file of ['gh-output', 'gh-state', 'gh-summary']) writeFileSync(path.join(dir, file), '');
  return run('node', [path.join(ROOT, 'dist', entry)], { measureRss: true, timeoutS: 900, env });
}

/** The rows of one shape; `project` is the compose project whose `data` volume (`${project}_data`) is the source. */
function makeOps(vol, dir, { project, extras }) {
  const f = (name) => path.join(dir, name);
  // Seeded volumes stay until the shape is measured (main removes them): on this ext4 (mounted with
  // `discard`), removing 200k files slows the writes of the next row for tens of seconds, even after `sync` —
  // a seed right after such a removal took 102 s, alone 33–41 s.
  const fresh = (tag, fn) => async () => {
    const volume = `${ID}-${tag}-${randomBytes(2).toString('hex')}`;
    created.volumes.add(volume);
    return fn(volume);
  };
  const store = f('action-store');
  return [
    // The limit. `--log-driver none`: with the default json-file driver dockerd also JSON-encodes every byte
    // of stdout into the container's log, which makes the command 5-8× slower than the stream itself.
    ...[
      { key: 'raw', label: 'raw: tar cf - | wc -c', args: [] },
      ...(extras
        ? [{ key: 'rawJsonLog', label: 'raw, json-file log driver', args: [], once: true, log: true }]
        : []),
    ].map(({ key, label, once, log: jsonLog }) => ({
      key,
      label,
      kind: 'read',
      once,
      run: async () => {
        const r = await helperRun(
          'raw',
          [...(jsonLog ? [] : ['--log-driver', 'none']), '-v', `${vol}:/src:ro`],
          ['tar', 'cf', '-', '-C', '/src', '.'],
          { pipeTo: ['wc', '-c'] },
        );
        return { ...r, outBytes: Number(r.stdout.trim()) };
      },
    })),
    ...(ENGINE_FLOOR
      ? [
          {
            key: 'engineGet',
            label: 'engine alone: GET',
            kind: 'read',
            run: () => withEngineHelper(vol, true, engineGet),
          },
        ]
      : []),
    ...(HOST_FLOOR
      ? [
          {
            key: 'hostTar',
            label: 'host alone: GNU tar c',
            kind: 'read',
            run: async () => {
              const [cmd, ...args] = hostTarCreate(vol);
              const r = await run(cmd, args, { pipeTo: ['wc', '-c'], timeoutS: 900 });
              return { ...r, outBytes: Number(r.stdout.trim()) };
            },
          },
        ]
      : []),
    {
      key: 'classicArchive',
      label: 'classic: tar czf',
      kind: 'archive',
      run: async () => {
        const r = await helperRun(
          'czf',
          ['-v', `${vol}:/src:ro`, '-v', `${dir}:/b`],
          ['tar', 'czf', '/b/classic.tar.gz', '-C', '/src', '.'],
          { timeoutS: 900 },
        );
        return { ...r, outBytes: statSync(f('classic.tar.gz')).size };
      },
    },
    // .tar.gz once: it runs the same single-threaded deflate as classic, so it only shows our overhead
    ...['tar.zst', ...(extras ? ['tar.gz'] : [])].map((ext) => ({
      key: `oursArchive_${ext}`,
      label: `ours, host path: archive → .${ext}`,
      kind: 'archive',
      once: ext !== 'tar.zst',
      run: async () => {
        const r = await ours('archive', vol, f(`ours.${ext}`));
        return { ...r, outBytes: statSync(f(`ours.${ext}`)).size };
      },
    })),
    {
      key: 'oursArchiveEngine',
      label: 'ours, engine API: archive → .tar.zst',
      kind: 'archive',
      run: async () => {
        const r = await ours('archive', vol, f('ours-engine.tar.zst'), 'engine');
        return { ...r, outBytes: statSync(f('ours-engine.tar.zst')).size };
      },
    },
    ...(HOST_FLOOR
      ? [
          {
            key: 'hostTarZstd',
            label: 'host alone: GNU tar c | zstd -1',
            kind: 'archive',
            run: async () => {
              const threads =
                availableParallelism() - 2 < 2 ? ['--single-thread'] : [`-T${availableParallelism() - 2}`];
              const [cmd, ...args] = hostTarCreate(vol);
              try {
                const r = await run(cmd, args, {
                  timeoutS: 900,
                  pipeTo: ['zstd', '-q', ...threads, '-1', '-f', '-o', f('host-floor.tar.zst')],
                });
                return { ...r, outBytes: statSync(f('host-floor.tar.zst')).size };
              } finally {
                rmSync(f('host-floor.tar.zst'), { force: true });
              }
            },
          },
        ]
      : []),
    ...(ENGINE_FLOOR
      ? [
          {
            key: 'engineGetZstd',
            label: 'engine alone: GET | zstd -1',
            kind: 'archive',
            run: () =>
              withEngineHelper(vol, true, async (url) => {
                // zstd as ours runs it on this machine (src/archive/format.ts zstdThreads), without the hashing
                const threads =
                  availableParallelism() - 2 < 2 ? ['--single-thread'] : [`-T${availableParallelism() - 2}`];
                try {
                  const r = await curl([url(`${HELPER_PARENT}/volume`)], {
                    timeoutS: 900,
                    pipeTo: ['zstd', '-q', ...threads, '-1', '-f', '-o', f('floor.tar.zst')],
                  });
                  return { ...r, outBytes: statSync(f('floor.tar.zst')).size };
                } finally {
                  rmSync(f('floor.tar.zst'), { force: true });
                }
              }),
          },
        ]
      : []),
    {
      key: 'actionArchive',
      label: 'action: archive/ → .tar.zst',
      kind: 'archive',
      once: true,
      run: async () => {
        // The archive/ sub-action archives a running stack (stopping what mounts the volume, then starting it).
        const compose = ['compose', '-f', composeFileOf(dir, project), '-p', project];
        docker([...compose, 'up', '-d', '--wait']);
        try {
          const r = await actionStep('archive.js', {
            project,
            dir,
            inputs: { 'archive-to': `path:${store}`, 'archive-format': 'tar.zst' },
          });
          return { ...r, outBytes: statSync(path.join(store, 'data.tar.zst')).size };
        } finally {
          docker([...compose, 'down', '--timeout', '1'], { check: false }); // keeps the volume: it is ours
        }
      },
    },
    {
      key: 'classicRestore',
      label: 'classic: tar xzf (restore)',
      kind: 'seed',
      run: fresh('xzf', (dst) => {
        docker(['volume', 'create', dst]);
        return helperRun(
          'xzf',
          ['-v', `${dst}:/dst`, '-v', `${dir}:/b:ro`],
          ['tar', 'xzf', '/b/classic.tar.gz', '-C', '/dst'],
          { timeoutS: 900 },
        );
      }),
    },
    ...['tar.zst', ...(extras ? ['tar.gz'] : [])].map((ext) => ({
      key: `oursSeed_${ext}`,
      label: `ours, host path: seed ← .${ext}`,
      kind: 'seed',
      once: ext !== 'tar.zst',
      run: fresh('seed', (dst) => ours('seed', dst, f(`ours.${ext}`))),
    })),
    {
      key: 'oursSeedEngine',
      label: 'ours, engine API: seed ← .tar.zst',
      kind: 'seed',
      run: fresh('seed', (dst) => ours('seed', dst, f('ours-engine.tar.zst'), 'engine')),
    },
    ...(HOST_FLOOR
      ? [
          {
            key: 'hostExtractRead',
            label: 'host alone: tar x + tar c',
            kind: 'seed',
            prepare: () => {
              // Our archive's tar (manifest included: GNU tar writes it beside the volume's directory, so
              // it is dropped with --exclude), decompressed and synced before the clock starts.
              if (!existsSync(f('host-floor.tar'))) {
                spawnSync('zstd', ['-q', '-d', '-f', f('ours.tar.zst'), '-o', f('host-floor.tar')]);
                spawnSync('sync');
              }
            },
            run: fresh('hostfloor', async (dst) => {
              docker(['volume', 'create', dst]);
              const [cmd, ...args] = hostTarExtract(dst);
              const put = await run(
                cmd,
                [...args, `--file=${f('host-floor.tar')}`, '--exclude=compose-persist-manifest.json'],
                {
                  timeoutS: 1800,
                },
              );
              const [rc, ...rargs] = hostTarCreate(dst);
              const get = await run(rc, rargs, { pipeTo: ['wc', '-c'], timeoutS: 900 });
              return { ...get, seconds: put.seconds + get.seconds, putSeconds: put.seconds };
            }),
          },
        ]
      : []),
    ...(ENGINE_FLOOR
      ? [
          {
            key: 'enginePutGet',
            label: 'engine alone: PUT + GET',
            kind: 'seed',
            prepare: () => {
              // Our archive's own tar stream (with its manifest entry), uncompressed, written and synced
              // before the clock starts: the floor pays for neither the decompression nor its writeback.
              if (!existsSync(f('floor.tar'))) {
                spawnSync('zstd', ['-q', '-d', '-f', f('ours.tar.zst'), '-o', f('floor.tar')]);
                spawnSync('sync');
              }
            },
            run: fresh('floor', async (dst) => {
              docker(['volume', 'create', dst]);
              return withEngineHelper(dst, false, async (url) => {
                const put = await curl(
                  [
                    '-X',
                    'PUT',
                    '-H',
                    'Content-Type: application/x-tar',
                    '-T',
                    f('floor.tar'),
                    '-o',
                    '/dev/null',
                    url(HELPER_PARENT),
                  ],
                  { timeoutS: 1800 },
                );
                const get = await engineGet(url);
                return { ...get, seconds: put.seconds + get.seconds, putSeconds: put.seconds };
              });
            }),
          },
        ]
      : []),
    {
      key: 'actionSeed',
      label: 'action: seed/ ← .tar.zst',
      kind: 'seed',
      once: true,
      run: async () => {
        const seedProject = `${project}s`;
        created.volumes.add(`${seedProject}_data`);
        return actionStep('seed.js', {
          project: seedProject,
          dir,
          inputs: { seed: `data: path:${path.join(store, 'data.tar.zst')}` },
        });
      },
    },
  ];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---- the volume shapes ----------------------------------------------------------------------------------------
const SHAPES = [
  {
    key: '1g',
    title: '1 GiB: 20k files of 1–64 KiB + 3 × 128 MiB',
    script: () => `${SMALL_FILES}\n${[1, 2, 3].map((i) => bigFile(`big${i}.bin`, 128)).join('\n')}`,
    extras: process.env.BENCH_EXTRAS === '1',
  },
  { key: 'tiny200k', title: '200k tiny files', script: () => tinyFiles(200_000) },
  ...(MILLION
    ? [{ key: 'tiny1m', title: '1M tiny files', script: () => tinyFiles(1_000_000), repeat: 1 }]
    : []),
].filter((shape) => !process.env.BENCH_SHAPES || process.env.BENCH_SHAPES.split(',').includes(shape.key));

// ---- main -----------------------------------------------------------------------------------------------------
async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first.`);
  docker(['image', 'inspect', IMAGE]);
  created.dir = mkdtempSync(path.join(tmpdir(), `${ID}-`));
  log(`id ${ID}, image ${IMAGE}, files in ${created.dir}`);
  const results = [];
  for (const shape of SHAPES) {
    const project = `${ID}-${shape.key}`.toLowerCase();
    const vol = `${project}_data`;
    created.volumes.add(vol);
    docker(['volume', 'create', vol]);
    log(`building the ${shape.title} volume…`);
    const data = await buildVolume(vol, shape.script());
    log(`built: ${data.files} files, ${(data.bytes / 2 ** 20).toFixed(0)} MiB on disk`);
    const dir = mkdtempSync(path.join(created.dir, `${shape.key}-`));
    const ops = makeOps(vol, dir, { project, extras: shape.extras });
    const samples = await measure(ops, Math.min(REPEAT, shape.repeat ?? REPEAT), shape.key);
    results.push({ shape, data, ops, samples });
    for (const volume of [...created.volumes]) removeVolume(volume); // the source and every seeded volume
    rmSync(dir, { recursive: true, force: true });
  }
  report(results);
}

/** Round-robin repetitions of every row (rows marked `once` only in the first); samples by row key. */
async function measure(ops, repeat, tag) {
  const samples = Object.fromEntries(ops.map((op) => [op.key, []]));
  for (let rep = 1; rep <= repeat; rep++) {
    let repSeconds = 0;
    for (const op of ops.filter((o) => rep === 1 || !o.once)) {
      op.prepare?.();
      // Each row starts with no dirty pages left by the one before, so none pays for another's writeback.
      spawnSync('sync');
      const opStart = elapsed();
      const r = await op.run();
      if (!op.once) repSeconds += elapsed() - opStart;
      samples[op.key].push(r);
      log(
        `${tag} rep ${rep}/${repeat} ${op.label.padEnd(30)} ${r.seconds.toFixed(2)}s` +
          (r.rssKiB ? `  rss ${(r.rssKiB / 1024).toFixed(0)} MiB` : ''),
      );
    }
    if (rep < repeat && elapsed() + repSeconds > BUDGET_S) {
      log(`time budget (${BUDGET_S}s): stopping ${tag} after ${rep} repetition(s)`);
      break;
    }
  }
  return samples;
}

function rowsOf({ ops, samples }) {
  const med = (key) => median(samples[key].map((s) => s.seconds));
  const counterpart = { archive: 'classicArchive', seed: 'classicRestore', read: null };
  const streamBytes = samples.raw[0].outBytes; // the uncompressed tar stream: the common payload of every row
  return ops.map((op) => {
    const seconds = med(op.key);
    const runs = samples[op.key];
    return {
      key: op.key,
      label: op.label,
      runs: runs.map((s) => Number(s.seconds.toFixed(3))),
      seconds,
      spread:
        runs.length > 1
          ? (Math.max(...runs.map((s) => s.seconds)) - Math.min(...runs.map((s) => s.seconds))) / seconds
          : 0,
      mbPerSec: streamBytes / 1e6 / seconds,
      speedupVsClassic: counterpart[op.kind] ? med(counterpart[op.kind]) / seconds : null,
      timeVsRaw: seconds / med('raw'),
      peakRssMiB: /^(ours|action)/.test(op.key) ? Math.max(...runs.map((s) => s.rssKiB ?? 0)) / 1024 : null,
      outBytes: runs.find((s) => s.outBytes !== undefined)?.outBytes ?? null,
    };
  });
}

/** The issue's targets for one shape, as [what, met, value]. */
function targetsOf(shape, rows) {
  const row = (key) => rows.find((r) => r.key === key);
  const fmt = (x, d = 2, suffix = '') => (x === null || x === undefined ? '—' : `${x.toFixed(d)}${suffix}`);
  const targets = [];
  for (const key of [
    'oursArchive_tar.zst',
    'oursSeed_tar.zst',
    'oursArchiveEngine',
    'oursSeedEngine',
    'actionArchive',
    'actionSeed',
  ]) {
    const r = row(key);
    targets.push([
      `${r.label}: peak RSS < ${TARGETS.rssMiB} MiB`,
      r.peakRssMiB < TARGETS.rssMiB,
      `${fmt(r.peakRssMiB, 0)} MiB`,
    ]);
  }
  // The floors beside each speed target: the host's GNU tar and the engine's own API, no Node in the path
  // (absent without root or curl), and our engine-API row.
  const beside = (parts) => {
    const shown = parts.filter(([key]) => row(key)).map(([key, value]) => value(row(key)));
    return shown.length ? `; ${shown.join('; ')}` : '';
  };
  const seed = row('oursSeed_tar.zst');
  targets.push([
    `${seed.label} (verified): ≥ ${TARGETS.speedupVsClassic}× faster than classic tar xzf`,
    seed.speedupVsClassic >= TARGETS.speedupVsClassic,
    `${fmt(seed.speedupVsClassic, 2, '×')} classic speed` +
      beside([
        ['hostExtractRead', (r) => `host alone tar x + tar c ${fmt(r.speedupVsClassic, 2, '×')}`],
        ['oursSeedEngine', (r) => `ours on the engine API ${fmt(r.speedupVsClassic, 2, '×')}`],
        ['enginePutGet', (r) => `engine alone PUT + GET ${fmt(r.speedupVsClassic, 2, '×')}`],
      ]),
  ]);
  const archive = row('oursArchive_tar.zst');
  if (shape.key === '1g')
    targets.push([
      `${archive.label}: within ${TARGETS.slowdownVsRaw}× of raw`,
      archive.timeVsRaw <= TARGETS.slowdownVsRaw,
      `${fmt(archive.timeVsRaw, 2, '×')} raw` +
        beside([
          ['hostTarZstd', (r) => `host alone tar c | zstd -1 ${fmt(r.timeVsRaw, 2, '×')} raw`],
          ['oursArchiveEngine', (r) => `ours on the engine API ${fmt(r.timeVsRaw, 2, '×')} raw`],
          ['engineGetZstd', (r) => `engine alone GET | zstd -1 ${fmt(r.timeVsRaw, 2, '×')} raw`],
        ]),
    ]);
  else
    targets.push([
      `${archive.label}: at least as fast as classic tar czf`,
      archive.speedupVsClassic >= 1,
      `${fmt(archive.speedupVsClassic, 2, '×')} classic speed` +
        beside([
          ['hostTarZstd', (r) => `host alone tar c | zstd -1 ${fmt(r.speedupVsClassic, 2, '×')}`],
          ['oursArchiveEngine', (r) => `ours on the engine API ${fmt(r.speedupVsClassic, 2, '×')}`],
          ['engineGetZstd', (r) => `engine alone GET | zstd -1 ${fmt(r.speedupVsClassic, 2, '×')}`],
        ]),
    ]);
  return targets;
}

function report(results) {
  const fmt = (x, d = 2, suffix = '') => (x === null || x === undefined ? '—' : `${x.toFixed(d)}${suffix}`);
  const lines = [
    '',
    `${cpus().length} CPUs (availableParallelism ${availableParallelism()}), load avg ${loadStart.toFixed(1)} → ${loadavg()[0].toFixed(1)}; median of the runs (* = 1 run)`,
    'MB/s = tar stream MB / s; ×classic = classic time / this time (speed-up); ×raw = this time / raw time; spread = (max − min) / median',
  ];
  const shapes = [];
  for (const result of results) {
    const rows = rowsOf(result);
    const n = result.samples.raw.length;
    const targets = targetsOf(result.shape, rows);
    lines.push(
      '',
      `${result.shape.title}: ${result.data.files} files, ${(rows[0].outBytes / 2 ** 20).toFixed(0)} MiB tar stream, ${n} run(s)`,
      `${'operation'.padEnd(30)} ${'s'.padStart(7)} ${'spread'.padStart(7)} ${'MB/s'.padStart(7)} ${'×classic'.padStart(9)} ` +
        `${'×raw'.padStart(6)} ${'RSS MiB'.padStart(8)} ${'out MiB'.padStart(8)}`,
      ...rows.map(
        (r) =>
          `${(r.runs.length < n ? `${r.label} *` : r.label).padEnd(30)} ${fmt(r.seconds).padStart(7)} ${fmt(r.spread * 100, 0, '%').padStart(7)} ` +
          `${fmt(r.mbPerSec, 0).padStart(7)} ${fmt(r.speedupVsClassic, 2, '×').padStart(9)} ${fmt(r.timeVsRaw, 2).padStart(6)} ` +
          `${fmt(r.peakRssMiB, 0).padStart(8)} ${fmt(r.outBytes && r.outBytes / 2 ** 20, 0).padStart(8)}`,
      ),
      'targets:',
      ...targets.map(([what, met, value]) => `  ${met ? 'MET    ' : 'NOT MET'}  ${what}: ${value}`),
    );
    shapes.push({
      key: result.shape.key,
      title: result.shape.title,
      volume: result.data,
      rows,
      targets: targets.map(([what, met, value]) => ({ what, met, value })),
    });
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  const outDir = path.join(ROOT, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(outDir, `volumes-${stamp}.json`);
  const json = {
    date: new Date().toISOString(),
    image: IMAGE,
    node: process.version,
    // dist/ is what was measured: its hash tells runs of different builds apart
    distIndexSha256: createHash('sha256')
      .update(readFileSync(path.join(ROOT, 'dist', 'index.js')))
      .digest('hex')
      .slice(0, 16),
    cpus: cpus().length,
    availableParallelism: availableParallelism(),
    loadAvg1m: { start: loadStart, end: loadavg()[0] },
    rssSource: TIME_BIN ? '/usr/bin/time -v (max of node and its zstd child)' : '/proc/PID/status VmHWM',
    shapes,
    totalSeconds: elapsed(),
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)} (total ${elapsed().toFixed(0)}s)\n`);
  process.stdout.write(
    `docs/performance.md's table from them: npm run docs -- --bench ${path.relative(ROOT, file)}\n`,
  );
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : error}\n`);
  process.exitCode = 1;
} finally {
  log('cleaning up');
  cleanup();
  clearTimeout(deadline);
}
