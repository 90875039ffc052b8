// The restore drill's arithmetic: what each probe must answer (from the seeded archives' manifests and the
// expected-probes file), how the answers compare, and where the restore's time went. Pure: no I/O.
import { UserError } from '../errors.js';
import { isRecordedProbe } from '../archive/manifest.js';
import type { DrillProbe, RecordedProbe, RestoreTime, SeedTimes } from '../types/restore.js';
import type { ProbeAnswer } from './probe-answers.js';

/** Recorded answers from one place: a seeded archive's manifest, or the expected-probes file. */
export interface ExpectationSource {
  /** How messages name it: "the manifest of pgdata.tar.zst", "expected-probes expected.json". */
  from: string;
  probes: RecordedProbe[];
}

export interface Expectation {
  output: string;
  from: string;
}

/**
 * What each probe must answer. Two sources that disagree on a probe (archives of different backup runs, a
 * stale file) are a conflict: the first one is kept, and the conflict is named (the verdict fails on it).
 */
export function gatherExpectations(sources: ExpectationSource[]): {
  expected: Map<string, Expectation>;
  conflicts: string[];
} {
  const expected = new Map<string, Expectation>();
  const conflicts: string[] = [];
  for (const source of sources) {
    for (const { probe, output } of source.probes) {
      const known = expected.get(probe);
      if (!known) expected.set(probe, { output, from: source.from });
      else if (known.output !== output)
        conflicts.push(
          `probe "${probe}" is expected to print "${output}" by ${source.from} but "${known.output}" by ${known.from}: seed archives of one backup run (or correct the file)`,
        );
    }
  }
  return { expected, conflicts };
}

/** Each answer against what it must print; uncompared probes and those nothing was recorded for are shown only. */
export function compareAnswers(
  answers: ProbeAnswer[],
  expected: Map<string, Expectation>,
  uncompared: readonly string[],
): DrillProbe[] {
  return answers.map((answer) => {
    const expectation = expected.get(answer.probe);
    const shown = {
      probe: answer.probe,
      ...(expectation ? { expected: expectation.output, expectedFrom: expectation.from } : {}),
      actual: answer.text,
    };
    if (uncompared.includes(answer.probe))
      return { ...shown, compared: false, note: 'uncompared-probes: its answer may change' };
    if (!expectation) return { ...shown, compared: false, note: 'no answer recorded for it' };
    return { ...shown, compared: true, same: answer.ok && answer.text === expectation.output };
  });
}

/** Probes with a recorded answer that this run did not ask: nothing proves their data came back. */
export function unrunProbes(
  expected: Map<string, Expectation>,
  answers: ProbeAnswer[],
): { probe: string; from: string }[] {
  const asked = new Set(answers.map((a) => a.probe));
  return [...expected.entries()]
    .filter(([probe]) => !asked.has(probe))
    .map(([probe, { from }]) => ({ probe, from }));
}

/** What was measured of a restore, for restoreTimeOf. */
export interface RestoreClockReading {
  totalMs: number;
  downloadMs: number;
  seeds: SeedTimes[];
  upMs: number;
  probesMs: number;
}

/** The restore's time and its parts; `other` is what the named parts leave (decrypt is inside write). */
export function restoreTimeOf(reading: RestoreClockReading): RestoreTime {
  const sum = (part: keyof SeedTimes) => reading.seeds.reduce((total, s) => total + s[part], 0);
  const parts = {
    downloadMs: reading.downloadMs,
    decryptMs: sum('decryptMs'),
    writeMs: sum('writeMs'),
    readBackMs: sum('readBackMs'),
    upMs: reading.upMs,
    probesMs: reading.probesMs,
  };
  const named = parts.downloadMs + parts.writeMs + parts.readBackMs + parts.upMs + parts.probesMs;
  return { totalMs: reading.totalMs, parts: { ...parts, otherMs: Math.max(0, reading.totalMs - named) } };
}

/**
 * The expected-probes file: `{"probes": [{"probe": "SERVICE: COMMAND", "output": "..."}]}` (the shape a
 * manifest records; `recordedAt` and other keys are ignored). `label` names the file in errors.
 */
export function parseExpectedProbes(text: string, label: string): RecordedProbe[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${label} is not valid JSON (${(error as Error).message}).`, { cause: error });
  }
  const probes = (value as { probes?: unknown } | null)?.probes;
  if (!Array.isArray(probes) || !probes.every(isRecordedProbe)) {
    throw new UserError(
      `${label} must be {"probes": [{"probe": "SERVICE: COMMAND", "output": "what it prints"}, ...]}, the probe as written in probes.`,
    );
  }
  return probes.map((p) => ({ probe: normalizeProbe(p.probe), output: p.output }));
}

/** `db:  psql …` and `db: psql …` are one probe; a line with no target is a host command, as in probes. */
function normalizeProbe(line: string): string {
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*):\s+(.*)$/s.exec(line.trim());
  return match ? `${match[1]}: ${(match[2] as string).trim()}` : `host: ${line.trim()}`;
}
