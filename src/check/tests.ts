import * as core from '@actions/core';
import type { Settings } from '../inputs.js';
import { fail, type Report } from '../report/report.js';
import type { Stack } from '../stack/stack.js';
import { describeCommand, runCommandSpec } from './commands.js';

/** Runs `run` on the runner and each `exec` in its service; returns false when one failed. */
export async function runTests(
  settings: Settings,
  stack: Stack,
  env: Record<string, string>,
  report: Report,
): Promise<boolean> {
  const commands = [
    ...(settings.run ? [{ target: 'host' as const, command: settings.run }] : []),
    ...settings.exec,
  ];
  for (const spec of commands) {
    const result = await core.group(`Test: ${spec.command}`, () =>
      runCommandSpec(stack.compose, spec, {
        env,
        stream: true,
        cwd: stack.compose.spec.cwd,
        timeoutMs: settings.testTimeoutSeconds * 1000,
      }),
    );
    report.tests.push({
      where: result.where,
      command: result.command,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
    });
    if (result.exitCode !== 0) {
      fail(report, `Test failed: ${describeCommand(result)}`);
      return false;
    }
  }
  return true;
}
