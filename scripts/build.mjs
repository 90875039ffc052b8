// Bundles src/index.ts with ncc into dist/index.js and writes the thin entry files beside it.
// `--check` builds into a temp dir and fails when dist/ differs from a fresh build.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  mkdirSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'cp-dist-')) : 'dist';

const entries = {
  'main.js': "import { runMain } from './index.js';\n\nawait runMain();\n",
  'post.js': "import { runPost } from './index.js';\n\nawait runPost();\n",
  'seed.js': "import { runSubAction } from './index.js';\n\nawait runSubAction('seed');\n",
  'check.js': "import { runSubAction } from './index.js';\n\nawait runSubAction('check');\n",
  'archive.js': "import { runSubAction } from './index.js';\n\nawait runSubAction('archive');\n",
  'cli.js': `#!/usr/bin/env node
// Streaming archives churn through short-lived buffers; a small young generation keeps the peak memory
// flat (20k files: archive 164 → 140 MiB, seed 178 → 145 MiB, no slower). Node only takes the flag at
// start, so the CLI runs itself once more with it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const FLAG = '--max-semi-space-size=1';
if (process.execArgv.some((arg) => arg.startsWith('--max-semi-space-size'))) {
  // The IPC channel to the wrapper closes when the wrapper dies, even by kill -9: stop as on SIGTERM
  // (restart what was stopped, tear down). The channel alone must not keep the worker alive.
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const { runCli } = await import('./index.js');
  const code = await runCli(process.argv.slice(2));
  // An interrupted run has undone its work; a read still open (digest of a file) must not keep it alive.
  if (code > 128) process.exit(code);
  process.exitCode = code;
} else {
  const args = [FLAG, ...process.execArgv, process.argv[1], ...process.argv.slice(2)];
  const child = spawn(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  // The CLI stops its work and undoes it on the first signal and ignores repeats.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
  });
}
`,
};

rmSync(join(out, 'bundle'), { recursive: true, force: true });
execFileSync('npx', ['ncc', 'build', 'src/index.ts', '-o', join(out, 'bundle'), '--target', 'es2022', '-q'], {
  stdio: 'inherit',
});
// The lazy disk's server runs as root (through sudo) beside the action: a bundle of its own, small.
rmSync(join(out, 'power-bundle'), { recursive: true, force: true });
execFileSync(
  'npx',
  ['ncc', 'build', 'src/power-disk.ts', '-o', join(out, 'power-bundle'), '--target', 'es2022', '-q'],
  { stdio: 'inherit' },
);
// ncc names the bundle index.js; keep dist/ flat: the bundle and its chunks at the top.
mkdirSync(out, { recursive: true });
for (const name of readdirSync(out)) {
  if (name !== 'bundle' && name !== 'power-bundle') rmSync(join(out, name), { recursive: true, force: true });
}
cpSync(join(out, 'bundle'), out, { recursive: true });
rmSync(join(out, 'bundle'), { recursive: true, force: true });
cpSync(join(out, 'power-bundle', 'index.js'), join(out, 'power-disk.js'));
rmSync(join(out, 'power-bundle'), { recursive: true, force: true });
// Some bundled CommonJS (ssh2's crypto, via docker-modem) reads __dirname, which ESM does not define.
const shim =
  "import { fileURLToPath as __cpFileURLToPath } from 'node:url';\n" +
  "const __dirname = __cpFileURLToPath(new URL('.', import.meta.url));\n";
writeFileSync(join(out, 'index.js'), shim + readFileSync(join(out, 'index.js'), 'utf8'));
for (const [name, text] of Object.entries(entries)) writeFileSync(join(out, name), text, { mode: 0o755 });
for (const name of readdirSync(out).filter((f) => f.endsWith('.js'))) {
  const file = join(out, name);
  writeFileSync(file, latin1Source(readFileSync(file, 'utf8'), name));
}

if (check) {
  const differences = compareTrees(out, 'dist');
  rmSync(out, { recursive: true, force: true });
  if (differences.length) {
    console.error(
      `dist/ differs from a fresh build (run npm run build and commit dist/):\n  ${differences.join('\n  ')}`,
    );
    process.exit(1);
  }
  console.log('dist/ matches a fresh build');
}

// V8 keeps a script's source as one-byte text only when every character is Latin-1; one typographic quote
// doubles the 4 MB bundle in memory. \uXXXX means the same character in strings, templates, regular
// expressions, identifiers and comments; only String.raw and an escaping backslash would see the change.
function latin1Source(text, name) {
  const wide = /[\u0100-\uffff]/g;
  if (text.search(wide) === -1) return text; // search, unlike test, leaves the global regex's lastIndex alone
  if (text.includes('String.raw') || /\\[\u0100-\uffff]/.test(text)) {
    throw new Error(
      `${name}: cannot escape its non-Latin-1 characters safely (String.raw or a backslash before one)`,
    );
  }
  return text.replace(wide, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function compareTrees(a, b) {
  const files = (dir) => listFiles(dir).map((f) => relative(dir, f));
  const left = new Set(files(a));
  const right = existsSync(b) ? new Set(files(b)) : new Set();
  const all = [...new Set([...left, ...right])].sort();
  return all.filter(
    (f) => !left.has(f) || !right.has(f) || !readFileSync(join(a, f)).equals(readFileSync(join(b, f))),
  );
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}
