import type { Settings } from '../inputs.js';
import {
  assertStackHealthy,
  serviceContainers,
  upAndWait,
  type RestartBaseline,
} from '../stack/lifecycle.js';
import { userCommandEnv } from '../check/commands.js';
import * as path from 'node:path';
import type { Stack } from '../stack/stack.js';
import type { RunningStack, StartPhase } from './phase.js';

export type UpSettings = Pick<Settings, 'services' | 'waitTimeoutSeconds' | 'pull'>;

/** `up -d --wait` and the second look (the main action). */
export const upPhase: StartPhase = {
  name: 'up',
  timing: 'up',
  async start({ settings, stack, log }) {
    const baseline = await log.group('Start the stack', () =>
      upAndWait(stack.compose, stack.engine, upOptions(settings), 'starting the stack'),
    );
    return started('up', stack, baseline, settings);
  },
};

/** A stack the user started (the check and archive sub-actions): it must be up and healthy already. */
export const attachPhase: StartPhase = {
  name: 'attach',
  async start({ settings, stack }) {
    const baseline = await assertStackHealthy(
      stack.engine,
      stack.compose.projectName,
      'the stack (it must be up already)',
      settings.services,
    );
    return started('attach', stack, baseline, settings);
  },
};

export function upOptions(settings: UpSettings) {
  return {
    services: settings.services,
    waitTimeoutSeconds: settings.waitTimeoutSeconds,
    pull: settings.pull,
  };
}

/** The user's commands get the runner's environment without our inputs and secrets (see commandEnv). */
async function started(
  phase: 'up' | 'attach',
  stack: Stack,
  baseline: RestartBaseline,
  secrets: Pick<Settings, 'encryptKey' | 'githubToken'>,
) {
  let env: Promise<Record<string, string>> | undefined;
  const running: RunningStack = {
    ...stack,
    baseline,
    commandEnv: () => (env ??= commandEnv(stack, secrets)),
  };
  return { outcome: { phase, anonymous: await anonymousVolumes(stack) }, running };
}

/** Declared anonymous volumes, then image VOLUMEs with no named volume over them: lost on down-up. */
async function anonymousVolumes(stack: Stack): Promise<string[]> {
  const found = stack.model.anonymous.map((a) => `${a.service}:${a.target}`);
  const named = new Set(stack.model.volumes.map((v) => v.name));
  for (const { service, details } of await serviceContainers(stack.engine, stack.model.project)) {
    for (const mount of details.mounts) {
      if (mount.type !== 'volume' || !mount.name || named.has(mount.name)) continue;
      const where = `${service}:${mount.destination}`;
      if (!found.includes(where)) found.push(where);
    }
  }
  return found;
}

/**
 * The environment of the user's commands: the runner's without our inputs and secrets (userCommandEnv), plus
 * COMPOSE_PROJECT_NAME, COMPOSE_FILE and `<SERVICE>_PORT_<target>` = published host port.
 */
export async function commandEnv(
  stack: Stack,
  settings: Pick<Settings, 'encryptKey' | 'githubToken'>,
): Promise<Record<string, string>> {
  const secrets = [settings.encryptKey, settings.githubToken, process.env.COMPOSE_PERSIST_KEY];
  return userCommandEnv(process.env, secrets, await documentedEnv(stack));
}

async function documentedEnv(stack: Stack): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    COMPOSE_PROJECT_NAME: stack.compose.projectName,
    COMPOSE_FILE: stack.compose.spec.files.join(path.delimiter),
  };
  for (const { service, details } of await serviceContainers(stack.engine, stack.model.project)) {
    for (const port of details.ports) {
      const key = `${service}_PORT_${port.containerPort.split('/')[0]}`
        .toUpperCase()
        .replace(/[^A-Z0-9_]/g, '_');
      env[key] = port.hostPort;
    }
  }
  return env;
}
