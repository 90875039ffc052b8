import type { CrashLoadReport, Report } from './schema.js';
import { countsOf, placeVerified, restoreParts, seconds as secondsOf } from '../check/verdict.js';
import { FOREIGN_SEED_PROOF, type CrashRound } from '../types/outcomes.js';

const MAX_LIST = 50;

/** The job summary (Markdown): verdict first, then the stack, tests, each restart mode, layer findings. */
export function renderSummary(report: Report): string {
  const out: string[] = [];
  const verdict = report.result === 'passed' ? '✅ passed' : '❌ failed';
  const loss = report.firstLoss ? ` — first loss: ${escape(report.firstLoss)}` : '';
  out.push(`## compose-persist: ${verdict}${loss}`, '', `Project \`${report.project}\``, '');
  for (const failure of report.failures) out.push(`- **${escape(failure)}**`);
  for (const warning of report.warnings) out.push(`- ⚠️ ${escape(warning)}`);
  out.push('', ...stackSection(report), ...seedSection(report), ...restoreSection(report));
  out.push(...testSection(report));
  out.push(
    ...crashLoadSection(report),
    ...modeSection(report),
    ...layerSection(report),
    ...volumeSection(report),
    ...logSection(report),
  );
  return out.join('\n') + '\n';
}

function stackSection(report: Report): string[] {
  const rows = report.stack.volumes.map(
    (v) => `| \`${v.key}\` | \`${v.name}\` | ${v.external ? 'external' : 'named'} | ${v.mounts.join(', ')} |`,
  );
  const other = [
    ...report.stack.binds.map((b) => `- bind mount ${escape(b)}`),
    ...report.stack.tmpfs.map((t) => `- ${escape(t)}`),
    ...report.stack.anonymous.map((a) => `- anonymous volume ${escape(a)}: lost on down-up`),
  ];
  const known = (report.knownStores ?? []).map((k) => `- ${escape(k)}`);
  return [
    ...composeFilesLine(report),
    '### Volumes',
    '',
    '| key | name | kind | mounted at |',
    '|---|---|---|---|',
    ...rows,
    '',
    ...other,
    ...(known.length
      ? ['', '**Known stores** (what the check leaves out, as each store does):', '', ...known]
      : []),
    '',
  ];
}

function composeFilesLine(report: Report): string[] {
  const files = report.stack.composeFiles;
  if (files.length === 0) return [];
  return [
    `Compose files: ${files.map((f) => `\`${escape(f)}\``).join(', ')} ${FILES_FROM[report.stack.composeFilesFrom ?? 'input']}`,
    '',
  ];
}

/** Why these compose files, in the words of the summary and the terminal. */
export const FILES_FROM = {
  input: '(input compose-file)',
  COMPOSE_FILE: '(from COMPOSE_FILE)',
  lookup: "(compose's own lookup)",
} as const;

function seedSection(report: Report): string[] {
  if (report.seeds.length === 0) return [];
  const rows = report.seeds.map(
    (s) =>
      `| \`${s.volume}\` | ${escape(s.source)}${s.from ? ` (${escape(s.from)})` : ''} | ${s.files} | ${s.bytes} | \`${s.digest.slice(0, 19)}…\` |`,
  );
  return [
    '### Seeded',
    '',
    '| volume | source | files | bytes | digest |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    ...report.seeds.filter((s) => s.foreign).map((s) => `- \`${s.volume}\`: ${FOREIGN_SEED_PROOF}`),
    ...(report.seeds.some((s) => s.foreign) ? [''] : []),
  ];
}

/** The restore drill: the time against the budget and its parts, each backup, each probe against its record. */
function restoreSection(report: Report): string[] {
  const restore = report.restore;
  if (!restore) return [];
  const time = restore.restoreTime;
  const budget =
    time.budgetMs === null
      ? ' (no restore-time-budget)'
      : ` — budget ${secondsOf(time.budgetMs)} ${time.withinBudget ? '✅' : '❌ exceeded'}`;
  const backups = restore.backups.map(
    (b) =>
      `| \`${b.volume}\` | ${escape(b.store)} | ${escape(b.key)} | \`${b.digest.slice(0, 19)}…\` | ${b.madeAt ?? 'unknown'} | ${b.ageMs === null ? '' : ageOf(b.ageMs)} |`,
  );
  const probes = restore.probes.map(
    (p) =>
      `| \`${escape(p.probe)}\` | ${p.expected === undefined ? '' : `\`${cell(p.expected)}\``} | \`${cell(p.actual)}\` | ${p.compared ? (p.same ? '✅ same' : '❌ differs') : `not compared (${escape(p.note ?? '')})`} |`,
  );
  const mark = restore.drillVerdict === 'passed' ? '✅' : '❌';
  return [
    `### Restore drill: ${mark} restored in ${secondsOf(time.totalMs)}${budget}`,
    '',
    `_${restore.stackStarted ? 'From the start of the seed until the stack was healthy and the probes answered' : 'The seed alone (this step does not start the stack)'}: ${restoreParts(time)}. Restored at ${restore.restoredAt}._`,
    '',
    '| volume | store | key | digest | made at | age |',
    '|---|---|---|---|---|---|',
    ...backups,
    '',
    ...(probes.length
      ? [
          `Probes compared: ${restore.probesSame}/${restore.probesCompared} answer as at backup time.`,
          '',
          '| probe | expected | restored | |',
          '|---|---|---|---|',
          ...probes,
          '',
        ]
      : []),
  ];
}

/** "3d 4h", "5h 12m", "7m", "40s". */
function ageOf(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m` : `${s}s`;
}

function testSection(report: Report): string[] {
  if (report.tests.length === 0) return [];
  const rows = report.tests.map(
    (t) =>
      `| ${t.where} | \`${escape(t.command)}\` | ${t.timedOut ? 'timed out' : t.exitCode === 0 ? 'passed' : `exit ${t.exitCode}`} | ${(t.durationMs / 1000).toFixed(1)} s |`,
  );
  return ['### Tests', '', '| where | command | result | time |', '|---|---|---|---|', ...rows, ''];
}

function crashLoadSection(report: Report): string[] {
  const crash = report.crashLoad;
  if (!crash) return [];
  const power = crash.kind === 'power-loss';
  const rows = crash.rounds.map((r, i) => {
    const mark = crash.noProof[i]
      ? `⚠️ no proof: ${escape(crash.noProof[i] ?? '')}`
      : r.lost
        ? '❌ lost'
        : '✅';
    const lost =
      r.lost === undefined
        ? ''
        : `${r.lost}${r.firstLost?.length ? ` (${r.firstLost.map((t) => `\`${escape(t)}\``).join(', ')}${r.lost > r.firstLost.length ? ', …' : ''})` : ''}`;
    const recovery = r.recoveryMs === undefined ? '' : seconds(r.recoveryMs);
    const cut = power ? ` ${powerCutCells(r.powerCut)} |` : '';
    return `| ${r.round} | \`${r.seed}\` | ${seconds(r.loadMs)} | ${r.acknowledged} | ${lost} | ${recovery} |${cut} ${mark} |`;
  });
  const services = crash.services.map((s) => `\`${s}\``).join(', ');
  return [
    `### ${power ? 'Power loss' : 'Crash'} under load: ${crash.passed ? '✅' : '❌'} ${escape(crash.line)}`,
    '',
    `_${power ? 'SIGKILL and power cut' : 'SIGKILL'} of ${services} while the load writes; crash-seed \`${crash.seed}\` replays the run, a round's seed with crash-rounds 1 replays that round._`,
    '',
    ...powerPlaces(crash.power),
    `| round | seed | under load | acknowledged | lost | recovery |${power ? ' dropped at the cut | canary | remount |' : ''} |`,
    `|---|---|---|---|---|---|${power ? '---|---|---|' : ''}---|`,
    ...rows,
    '',
  ];
}

/** The places the power-loss rounds ran on: a copy of each, its size and copy time. */
function powerPlaces(power: CrashLoadReport['power']): string[] {
  if (!power) return [];
  const places = power.places
    .map((p) => `${escape(p.name)} (${(p.bytes / 1024 ** 2).toFixed(1)} MiB copied in ${seconds(p.copyMs)})`)
    .join(', ');
  const cleaned = power.cleaned.length
    ? ` Cleaned up after an earlier run: ${escape(power.cleaned.join('; '))}.`
    : '';
  return [
    `_Lazy disks (ext4, data=ordered; a copy of each place, the real one untouched): ${places}; set-up ${seconds(power.setupMs)}.${cleaned}_`,
    '',
  ];
}

function powerCutCells(cut: CrashRound['powerCut']): string {
  if (!cut) return ' | | ';
  const canary = cut.canaryProblem
    ? `⚠️ ${escape(cut.canaryProblem)}`
    : cut.overflowed
      ? '⚠️ memory cap'
      : 'ok';
  return `${cut.droppedBlocks} blocks, ${cut.discardedWrites} writes | ${canary} | ${seconds(cut.remountMs)}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function modeSection(report: Report): string[] {
  const out: string[] = [];
  for (const mode of report.modes) {
    out.push(
      `### Restart mode \`${mode.mode}\`: ${modeMark(mode)}`,
      '',
      `_${mode.effect}_; compared with ${mode.comparedWith}`,
      '',
    );
    if (mode.error) out.push(`Error: ${escape(mode.error)}`, '');
    if (mode.probes.length) {
      out.push('| probe | before | after | |', '|---|---|---|---|');
      for (const p of mode.probes) {
        out.push(
          `| \`${escape(p.probe)}\` | \`${cell(p.before)}\` | \`${cell(p.after)}\` | ${p.same ? '✅' : '❌'} |`,
        );
      }
      out.push('');
    }
    for (const v of mode.volumes) out.push(...volumeDiff(v), '');
  }
  return out;
}

/** A mode after a loss is no proof on its own: it says which loss it compared against. */
function modeMark(mode: Report['modes'][number]): string {
  if (!mode.passed) return '❌ data lost';
  return mode.afterLoss ? `⚠️ unchanged, but after the loss in ${mode.afterLoss}` : '✅ survived';
}

/** How the mode sections name each kind of place read. */
const PLACE_KINDS = { volume: 'Volume', bind: 'Bind mount', anonymous: 'Anonymous volume at' } as const;

function volumeDiff(v: Report['modes'][number]['volumes'][number]): string[] {
  const counts = countsOf(v);
  const shrunk = counts.shrunk ? `, ${counts.shrunk} shrank` : '';
  const nothing = v.ok && !placeVerified(v) ? ' (only transient files: nothing verified)' : '';
  const head = `${PLACE_KINDS[v.kind ?? 'volume']} \`${v.volume}\` (${v.policy}): ${v.ok ? 'ok' : 'FAILED'} — ${counts.removed} removed, ${counts.added} added, ${counts.changed} changed${shrunk}${nothing}`;
  if (counts.removed + counts.added + counts.changed === 0) return [head];
  const list = [
    ...(v.shrunk ?? []).slice(0, MAX_LIST).map((p) => `- shrank \`${p}\` (append-only)`),
    ...v.removed.slice(0, MAX_LIST).map((p) => `- removed \`${p}\``),
    ...v.added.slice(0, MAX_LIST).map((p) => `- added \`${p}\``),
    ...v.changed.slice(0, MAX_LIST).map((c) => `- changed \`${c.path}\` (${c.fields.join(', ')})`),
  ];
  return [`<details><summary>${escape(head)}</summary>`, '', ...list, '', '</details>'];
}

function layerSection(report: Report): string[] {
  if (report.layer.length === 0) return [];
  const rows = report.layer.slice(0, MAX_LIST * 4).map((f) => `| ${f.service} | \`${f.path}\` | ${f.kind} |`);
  return [
    '### Written outside volumes (lost on re-creation)',
    '',
    '| service | path | change |',
    '|---|---|---|',
    ...rows,
    '',
  ];
}

function volumeSection(report: Report): string[] {
  if (report.volumes.length === 0 && report.archives.length === 0) return [];
  const rows = report.volumes.map(
    (v) => `| \`${v.name}\` | ${v.files ?? ''} | ${v.size ?? ''} | \`${v.digest ?? ''}\` |`,
  );
  const archives = report.archives.map(
    (a) => `- \`${a.file}\` (${a.format}, ${a.bytes} bytes)${a.store ? ` → ${a.store}` : ''}`,
  );
  return [
    '### Final volumes',
    '',
    '| volume | files | bytes | digest |',
    '|---|---|---|---|',
    ...rows,
    '',
    ...archives,
    '',
  ];
}

function logSection(report: Report): string[] {
  const out: string[] = [];
  for (const log of report.serviceLogs) {
    out.push(
      `<details><summary>Logs of ${log.service} (${escape(log.state)})</summary>`,
      '',
      '```',
      log.tail,
      '```',
      '',
      '</details>',
      '',
    );
  }
  return out;
}

function cell(text: string): string {
  const oneLine = text.replace(/\n/g, ' ⏎ ');
  return escape(oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine);
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/`/g, "'");
}
