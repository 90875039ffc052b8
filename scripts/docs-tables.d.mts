/** Types for docs-tables.mjs (imported by __tests__/docs.test.ts). */
export declare function renderTables(actionYml: string): { inputs: string; outputs: string };
export declare function renderInputsPage(page: string, actionYml: string, pagePath?: string): Promise<string>;

/** The parts of a bench/volumes.mjs result (bench/out/volumes-*.json) the performance table shows. */
export interface BenchRun {
  date: string;
  distIndexSha256: string;
  cpus: number;
  loadAvg1m?: { start: number; end: number };
  totalSeconds: number;
  shapes: Array<{
    key: string;
    title: string;
    rows: Array<{
      key: string;
      seconds: number;
      speedupVsClassic: number | null;
      timeVsRaw: number;
      peakRssMiB: number | null;
    }>;
  }>;
}
export declare function renderBenchTable(bench: BenchRun): string;
export declare function renderPerformancePage(
  page: string,
  bench: BenchRun,
  pagePath?: string,
): Promise<string>;
