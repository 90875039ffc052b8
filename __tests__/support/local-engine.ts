/**
 * The socket of the engine the tests run against: DOCKER_HOST when it names a local socket (the suite run
 * against another engine, e.g. `scripts/engine28.sh run -- npx vitest …`), else the default one. The
 * stand-ins for remote engines (tcp, ssh) forward to it, so they test the same engine as everything else.
 */
export function localEngineSocket(): string {
  const host = process.env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}
