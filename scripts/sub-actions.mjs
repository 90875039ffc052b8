// Writes seed/action.yml, check/action.yml and archive/action.yml from the main action.yml, so every input
// has one description and one default. `--check` fails when a committed file differs (a unit test runs it).
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { parse, stringify } from 'yaml';

const STACK = ['compose-file', 'project-name', 'profiles', 'env-file', 'services', 'working-directory'];
export const SUB_ACTIONS = {
  seed: {
    description:
      'Seed the named volumes of a compose stack from archives (artifact, cache or file), before your own `docker compose up`.',
    inputs: [
      ...STACK,
      'seed',
      'seed-run-id',
      'seed-repository',
      'seed-workflow',
      'seed-branch',
      'seed-optional',
      'seed-max-age',
      'seed-min-size',
      'restore-time-budget',
      'restore-keys',
      'github-token',
      'overwrite',
      'encrypt',
      'decrypt-passphrase',
      'decrypt-identity',
      'max-archive-size',
      'helper-image',
    ],
    outputs: ['result', 'report', 'volumes', 'project-name', 'restore-evidence'],
  },
  check: {
    description:
      'Prove that the data of a running compose stack survives restarts and re-creation (probes, volume fingerprints, layer audit).',
    inputs: [
      ...STACK,
      'wait-timeout',
      'probes',
      'write',
      'load',
      'acknowledged',
      'crash-rounds',
      'crash-seed',
      'crash-kind',
      'restart-modes',
      'restart-order',
      'check-files',
      'ignore',
      'known-stores',
      'layer-audit',
      'layer-ignore',
      'helper-image',
    ],
    outputs: ['result', 'report', 'volumes', 'project-name'],
  },
  archive: {
    description:
      'Archive the named volumes of a running compose stack to an artifact, the cache or a directory, verified by manifest.',
    inputs: [
      ...STACK,
      'archive-to',
      'probes',
      'record-probes',
      'archive-format',
      'archive-consistency',
      'artifact-name',
      'retention-days',
      'encrypt',
      'helper-image',
    ],
    outputs: ['result', 'report', 'volumes', 'archives', 'project-name'],
  },
};

const PROJECT_NAME =
  "Compose project name of the stack (it must match the stack you started). Default: compose's own (top-level name:, COMPOSE_PROJECT_NAME, or the directory name).";

export function renderSubAction(main, name) {
  const spec = SUB_ACTIONS[name];
  const pick = (from, names) => Object.fromEntries(names.map((n) => [n, from[n]]));
  const inputs = pick(main.inputs, spec.inputs);
  inputs['project-name'] = { ...inputs['project-name'], description: PROJECT_NAME };
  const action = {
    name: `compose-persist/${name}`,
    description: spec.description,
    author: main.author,
    branding: main.branding,
    inputs,
    outputs: pick(main.outputs, spec.outputs),
    runs: { using: main.runs.using, main: `../dist/${name}.js` },
  };
  return `# Generated from ../action.yml by scripts/sub-actions.mjs: edit that, then run npm run build.\n${stringify(action, { lineWidth: 0 })}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const main = parse(readFileSync('action.yml', 'utf8'));
  const check = process.argv.includes('--check');
  let stale = [];
  for (const name of Object.keys(SUB_ACTIONS)) {
    const text = renderSubAction(main, name);
    const file = `${name}/action.yml`;
    if (check) {
      const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
      if (current !== text) stale.push(file);
    } else {
      mkdirSync(name, { recursive: true });
      writeFileSync(file, text);
    }
  }
  if (stale.length) {
    console.error(`${stale.join(', ')} out of date: run npm run build`);
    process.exit(1);
  }
}
