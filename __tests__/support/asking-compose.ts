import { execFileSync } from 'node:child_process';

/** The first compose that asks "Recreate (data will be lost)?" when a volume's config-hash label differs. */
const FIRST_ASKING = [2, 32];

/** `docker compose version --short` under a DOCKER_CONFIG (undefined: the machine's own). */
export function composeVersion(dockerConfig?: string): string {
  const env = dockerConfig ? { ...process.env, DOCKER_CONFIG: dockerConfig } : process.env;
  return execFileSync('docker', ['compose', 'version', '--short'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();
}

export function asksBeforeRecreating(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return (
    major > (FIRST_ASKING[0] as number) || (major === FIRST_ASKING[0] && minor >= (FIRST_ASKING[1] as number))
  );
}

/**
 * A DOCKER_CONFIG whose compose asks before recreating a volume (2.32+), or undefined when the machine's own
 * compose already does (a GitHub runner: 2.38+). Else CP_TEST_ASKING_COMPOSE_CONFIG (a DOCKER_CONFIG folder
 * with cli-plugins/docker-compose), else Debian forky's Compose 2.40 (scripts/compose-forky.sh, downloaded
 * once into a cache folder; setup.sh fetches it).
 */
export function askingComposeConfig(): string | undefined {
  if (asksBeforeRecreating(composeVersion())) return undefined;
  const given = process.env.CP_TEST_ASKING_COMPOSE_CONFIG;
  if (given) return given;
  return execFileSync('bash', ['scripts/compose-forky.sh'], { stdio: ['ignore', 'pipe', 'inherit'] })
    .toString()
    .trim();
}
