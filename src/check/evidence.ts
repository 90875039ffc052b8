import { diffManifests, type VolumeManifest } from '../archive/manifest.js';
import type { Compose } from '../docker/compose.js';
import type { NamedVolume } from '../stack/model.js';
import type { CheckFilesPolicy, CommandSpec } from '../types/domain.js';
import type { ProbeComparison, VolumeDiff } from '../types/outcomes.js';
import { runCommandSpec, type CommandResult } from './commands.js';
import { compareProbe } from './verdict.js';

/** What was observed at one moment: each probe's output and each named volume's manifest. */
export interface Evidence {
  probes: { probe: string; result: CommandResult }[];
  volumes: Map<string, VolumeManifest>;
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

/** Each probe's output after, against its output before (the rule is the verdict's). */
export function compareProbes(before: Evidence, after: Evidence): ProbeComparison[] {
  return before.probes.map(({ probe, result }, i) => compareProbe(probe, result, after.probes[i]?.result));
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
