import { Compose } from '../../src/docker/compose.js';
import type { Engine } from '../../src/docker/engine.js';
import { readSettings, type Settings } from '../../src/inputs.js';
import type { Log } from '../../src/log.js';
import type { PhaseInput } from '../../src/phases/phase.js';
import type { StackModel } from '../../src/stack/model.js';

/** A log that keeps every line, by kind. */
export function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info: ${m}`),
    warning: (m) => void lines.push(`warning: ${m}`),
    error: (m) => void lines.push(`error: ${m}`),
    debug: (m) => void lines.push(`debug: ${m}`),
    group: async (name, work) => {
      lines.push(`group: ${name}`);
      return work();
    },
  };
}

export function stackModel(overrides: Partial<StackModel> = {}): StackModel {
  return {
    project: 'shop',
    services: ['app', 'db'],
    images: { app: 'app:latest', db: 'db:latest' },
    volumes: [
      {
        key: 'pgdata',
        name: 'shop_pgdata',
        external: false,
        mounts: [{ service: 'db', target: '/var/lib/postgresql/data', readOnly: false }],
      },
    ],
    binds: [],
    tmpfs: [],
    anonymous: [],
    ...overrides,
  };
}

/** Settings as the inputs give them (`{ 'layer-audit': 'fail' }`), the rest defaults. */
export function settingsFrom(inputs: Record<string, string> = {}): Settings {
  return readSettings((name) => inputs[name] ?? '');
}

/** A phase input on a fake engine; compose is never run by the phases these tests call. */
export function phaseInput(engine: Engine, options: { settings?: Settings; model?: StackModel } = {}) {
  const model = options.model ?? stackModel();
  const compose = new Compose(
    { tool: 'false', prefix: [] },
    { files: ['/nonexistent/compose.yml'], projectName: model.project, profiles: [], cwd: '/' },
  );
  const log = recordingLog();
  const input: PhaseInput = {
    settings: options.settings ?? settingsFrom(),
    ctx: {
      onGitHub: false,
      workspace: '/work',
      tempDir: '/tmp',
      runId: '1',
      runAttempt: '1',
      job: 'cli',
      repository: '',
      apiUrl: '',
      actionsServices: false,
      uniqueId: 'test-run',
    },
    log,
    stack: {
      engine,
      cli: { tool: 'false', prefix: [] },
      compose,
      model,
      runLabel: 'test-run',
      composeFiles: { files: ['/nonexistent/compose.yml'], from: 'input', notes: [] },
      workingDir: '/work',
    },
    archiveTo: [],
    reportSoFar: () => {
      throw new Error('not used');
    },
  };
  return { input, log };
}
