import { runSubAction } from './index.js';

await runSubAction('seed');
