/** Types for release.mjs (imported by __tests__/release.test.ts). */
export declare function majorTag(tag: string): string;
export declare function releaseNotes(changelog: string, tag: string): string;
export declare function checkTag(tag: string, packageVersion: string): void;
