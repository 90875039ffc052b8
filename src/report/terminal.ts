import { describeVolumeLoss, placeVerified, restoreParts, seconds } from '../check/verdict.js';
import type { Report } from './schema.js';
import { FOREIGN_SEED_PROOF } from '../types/outcomes.js';
import { FILES_FROM } from './summary.js';

/** The check's verdict for a terminal: one line per finding, coloured when the terminal allows it. */
export function renderTerminalSummary(report: Report, color: boolean): string {
  const paint = (code: string, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const ok = (text: string) => paint('32', `✔ ${text}`);
  const bad = (text: string) => paint('31', `✘ ${text}`);
  const out: string[] = [''];
  const verdict = report.result === 'passed' ? paint('1;32', 'PASSED') : paint('1;31', 'FAILED');
  out.push(`compose-persist ${verdict}  project ${report.project}`);
  if (report.firstLoss) out.push(`  ${bad(`first loss: ${report.firstLoss}`)}`);
  const files = report.stack.composeFiles;
  if (files.length)
    out.push(`  compose files ${files.join(', ')} ${FILES_FROM[report.stack.composeFilesFrom ?? 'input']}`);
  for (const v of report.stack.volumes) out.push(`  volume ${v.key} → ${v.name} (${v.mounts.join(', ')})`);
  for (const known of report.knownStores ?? []) out.push(`  ${paint('36', `i ${known}`)}`);
  for (const seed of report.seeds)
    out.push(
      `  ${ok(`seeded ${seed.volume} from ${seed.source} (${seed.files} files${seed.foreign ? `; ${FOREIGN_SEED_PROOF}` : ''})`)}`,
    );
  if (report.restore) {
    const { restoreTime: time, probes } = report.restore;
    const over = time.withinBudget === false;
    const budget = time.budgetMs === null ? '' : `, budget ${seconds(time.budgetMs)}`;
    const line = `restored in ${seconds(time.totalMs)}${budget}: ${restoreParts(time)}`;
    out.push(`  ${over ? bad(line) : ok(line)}`);
    for (const b of report.restore.backups)
      out.push(
        `      backup ${b.volume}: ${b.store} ${b.key} ${b.digest} made ${b.madeAt ?? 'at an unknown time'}`,
      );
    for (const p of probes) {
      const text = `probe ${p.probe}: ${p.compared ? (p.same ? 'same as at backup time' : 'differs') : `not compared (${p.note ?? ''})`}`;
      out.push(`  ${p.compared && !p.same ? bad(text) : ok(text)}`);
      if (p.compared && !p.same)
        out.push(`        expected: ${p.expected ?? ''}`, `        restored: ${p.actual}`);
    }
  }
  for (const t of report.tests) {
    const line = `test ${t.where}: ${t.command} (${(t.durationMs / 1000).toFixed(1)} s)`;
    out.push(`  ${t.exitCode === 0 && !t.timedOut ? ok(line) : bad(line)}`);
  }
  if (report.crashLoad) {
    const crash = report.crashLoad;
    out.push(`  ${crash.passed ? ok(crash.line) : bad(crash.line)} (crash-seed ${crash.seed})`);
    crash.rounds.forEach((r, i) => {
      const recovery =
        r.recoveryMs === undefined ? '' : `, recovered in ${(r.recoveryMs / 1000).toFixed(1)} s`;
      const lost = r.lost === undefined ? 'not compared' : `${r.lost} lost`;
      const problem = crash.noProof[i] ? ` — no proof: ${crash.noProof[i]}` : '';
      const cut = r.powerCut
        ? `; power cut dropped ${r.powerCut.droppedBlocks} blocks and ${r.powerCut.discardedWrites} writes, canary ${r.powerCut.canaryProblem ? 'FAILED' : 'ok'}`
        : '';
      out.push(
        `      round ${r.round} (seed ${r.seed}): ${(r.loadMs / 1000).toFixed(1)} s under load, ${r.acknowledged} acknowledged, ${lost}${recovery}${cut}${problem}`,
      );
    });
  }
  for (const mode of report.modes) {
    const probes = mode.probes.filter((p) => p.same).length;
    const transientOnly = mode.volumes.filter((v) => !placeVerified(v)).length;
    const detail = `${probes}/${mode.probes.length} probes unchanged, ${mode.volumes.filter((v) => v.ok).length}/${mode.volumes.length} volumes ok${transientOnly ? ` (${transientOnly} with nothing to verify)` : ''}`;
    const afterLoss = paint(
      '33',
      `~ ${mode.mode}: ${detail} — compared with ${mode.comparedWith}, after the loss in ${mode.afterLoss}`,
    );
    out.push(
      `  ${mode.passed ? (mode.afterLoss ? afterLoss : ok(`${mode.mode}: ${detail}`)) : bad(`${mode.mode}: ${mode.error ?? detail}`)}`,
    );
    for (const p of mode.probes.filter((x) => !x.same)) {
      out.push(`      ${p.probe}`, `        before: ${p.before}`, `        after:  ${p.after}`);
    }
    for (const v of mode.volumes.filter((x) => !x.ok)) out.push(`      ${describeVolumeLoss(v)}`);
  }
  for (const f of report.layer)
    out.push(`  ${paint('33', `! ${f.service}:${f.path} is outside any volume (lost on re-creation)`)}`);
  for (const a of report.archives)
    out.push(`  ${ok(`archived ${a.volume} → ${a.store ?? a.file} (${a.bytes} bytes, ${a.digest})`)}`);
  for (const w of report.warnings) out.push(`  ${paint('33', `! ${w}`)}`);
  for (const f of report.failures) out.push(`  ${bad(f)}`);
  for (const log of report.serviceLogs)
    out.push(`  logs of ${log.service} (${log.state}):`, ...log.tail.split('\n').map((l) => `    ${l}`));
  return `${out.join('\n')}\n`;
}
