#!/usr/bin/env node
// Streaming archives churn through short-lived buffers; a small young generation keeps the peak memory
// flat (20k files: archive 164 \u2192 140 MiB, seed 178 \u2192 145 MiB, no slower). Node only takes the flag at
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
