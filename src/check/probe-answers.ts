import type { Compose } from '../docker/compose.js';
import { commandLine, type CommandSpec } from '../types/domain.js';
import { describeCommand, runCommandSpec } from './commands.js';
import { probeText } from './verdict.js';

/** Probes get this long each. */
export const PROBE_TIMEOUT_MS = 120_000;

/** One probe's answer: the text compared (probeText), whether it succeeded, how it failed if it did not. */
export interface ProbeAnswer {
  probe: string;
  text: string;
  ok: boolean;
  /** describeCommand of a probe that failed or timed out. */
  failure?: string;
}

export interface ProbeRunOptions {
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
}

/** Runs each probe once, in order (the restore drill and record-probes ask the same way the restarts do). */
export async function askProbes(
  compose: Compose,
  probes: CommandSpec[],
  options: ProbeRunOptions,
): Promise<ProbeAnswer[]> {
  const answers: ProbeAnswer[] = [];
  for (const spec of probes) {
    const result = await runCommandSpec(compose, spec, {
      kind: 'probes',
      env: options.env,
      cwd: options.cwd,
      timeoutMs: options.timeoutMs,
    });
    const ok = result.exitCode === 0 && !result.timedOut;
    answers.push({
      probe: commandLine(spec),
      text: probeText(result),
      ok,
      ...(ok ? {} : { failure: describeCommand(result) }),
    });
  }
  return answers;
}
