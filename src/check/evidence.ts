import { diffManifests, type VolumeManifest } from '../archive/manifest.js';
import type { Compose } from '../docker/compose.js';
import type { CheckFilesPolicy, CommandSpec } from '../inputs.js';
import type { NamedVolume } from '../stack/model.js';
import type { ProbeComparison } from '../report/report.js';
import { runCommandSpec, type CommandResult } from './commands.js';

/** What was observed at one moment: each probe's output and each named volume's manifest. */
export interface Evidence {
  probes: { probe: string; result: CommandResult }[];
  volumes: Map<string, VolumeManifest>;
}

export interface VolumeDiff {
  volume: string;
  policy: CheckFilesPolicy;
  ok: boolean;
  added: string[];
  removed: string[];
  changed: { path: string; fields: string[] }[];
}

export interface EvidenceSources {
  compose: Compose;
  probes: CommandSpec[];
  probeEnv: Record<string, string>;
  probeTimeoutMs: number;
  volumes: NamedVolume[];
  /** Reads a volume's manifest (with the stack's helper image). Not called when check-files is off. */
  fingerprint?: (volume: NamedVolume) => Promise<VolumeManifest>;
}

export function probeLabel(probe: CommandSpec): string {
  return `${probe.target === 'host' ? 'host' : probe.target.service}: ${probe.command}`;
}

export async function gatherEvidence(sources: EvidenceSources): Promise<Evidence> {
  const probes = [];
  for (const probe of sources.probes) {
    const result = await runCommandSpec(sources.compose, probe, {
      env: sources.probeEnv,
      timeoutMs: sources.probeTimeoutMs,
    });
    probes.push({ probe: probeLabel(probe), result });
  }
  const volumes = new Map<string, VolumeManifest>();
  if (sources.fingerprint) {
    for (const volume of sources.volumes) volumes.set(volume.name, await sources.fingerprint(volume));
  }
  return { probes, volumes };
}

/** A probe passes when it succeeded both times and printed the same thing (trailing space ignored). */
export function compareProbes(before: Evidence, after: Evidence): ProbeComparison[] {
  return before.probes.map(({ probe, result }, i) => {
    const later = after.probes[i]?.result;
    const beforeText = probeText(result);
    const afterText = later ? probeText(later) : '(not run)';
    return {
      probe,
      before: beforeText,
      after: afterText,
      same: beforeText === afterText && result.exitCode === 0,
    };
  });
}

function probeText(result: CommandResult): string {
  const out = result.stdout.trimEnd();
  if (result.timedOut) return `(timed out) ${out}`;
  return result.exitCode === 0 ? out : `(exit ${result.exitCode}) ${result.stderr.trim() || out}`;
}

export function compareVolumes(
  before: Evidence,
  after: Evidence,
  policy: CheckFilesPolicy,
  ignoreFor: (volume: string) => string[],
): VolumeDiff[] {
  if (policy === 'off') return [];
  const diffs: VolumeDiff[] = [];
  for (const [volume, manifest] of before.volumes) {
    const later = after.volumes.get(volume);
    if (!later) continue;
    const diff = diffManifests(manifest, later, { policy, ignore: ignoreFor(volume) });
    diffs.push({
      volume,
      policy,
      ok: diff.ok,
      added: diff.added,
      removed: diff.removed,
      changed: diff.changed,
    });
  }
  return diffs;
}
