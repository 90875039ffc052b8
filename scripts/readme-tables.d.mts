/** Types for readme-tables.mjs (imported by __tests__/readme.test.ts). */
export declare function renderTables(actionYml: string): { inputs: string; outputs: string };
export declare function renderReadme(readme: string, actionYml: string, readmePath?: string): Promise<string>;
