// The one bundle behind every entry point (main, post, the CLI and the sub-actions).
export { runMain, runPost, runSubAction } from './action.js';
export { runCli } from './cli/cli.js';
