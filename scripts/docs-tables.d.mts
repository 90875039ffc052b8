/** Types for docs-tables.mjs (imported by __tests__/docs.test.ts). */
export declare function renderTables(actionYml: string): { inputs: string; outputs: string };
export declare function renderInputsPage(page: string, actionYml: string, pagePath?: string): Promise<string>;
