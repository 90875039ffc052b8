// The one bundle behind every entry point (main, post, the CLI and the sub-actions).
import './heap-tuning.js'; // first: before anything allocates
import './dependency-warnings.js';
export { runMain, runPost, runSubAction } from './action.js';
export { runCli } from './cli/cli.js';
