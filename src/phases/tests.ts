import { describeCommand, runCommandSpec } from '../check/commands.js';
import type { Settings } from '../inputs.js';
import type { Log } from '../log.js';
import type { PhaseOutcome, TestOutcome } from '../types/outcomes.js';
import { keepingPartial, runningStack, type Phase, type RunningStack } from './phase.js';

export type TestSettings = Pick<Settings, 'run' | 'exec' | 'testTimeoutSeconds'>;

/** `run` on the runner, then each `exec` in its service; the first that fails ends the phase. */
export const testsPhase: Phase = {
  name: 'tests',
  timing: 'tests',
  run(input): Promise<PhaseOutcome> {
    const outcome = { phase: 'tests' as const, tests: [] as TestOutcome[] };
    return keepingPartial(outcome, async () => {
      await runTests(input.settings, runningStack(input), input.log, outcome.tests);
      return outcome;
    });
  },
};

/** Appends each command's outcome to `outcomes` as it finishes. */
export async function runTests(
  settings: TestSettings,
  stack: RunningStack,
  log: Log,
  outcomes: TestOutcome[],
): Promise<void> {
  const commands = [
    ...(settings.run ? [{ target: 'host' as const, command: settings.run }] : []),
    ...settings.exec,
  ];
  const env = await stack.commandEnv();
  for (const spec of commands) {
    const result = await log.group(`Test: ${spec.command}`, () =>
      runCommandSpec(stack.compose, spec, {
        kind: 'tests',
        env,
        stream: true,
        cwd: stack.workingDir,
        timeoutMs: settings.testTimeoutSeconds * 1000,
      }),
    );
    const failed = result.exitCode !== 0;
    outcomes.push({
      where: result.where,
      command: result.command,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      ...(failed ? { failure: describeCommand(result) } : {}),
    });
    if (failed) return;
  }
}
