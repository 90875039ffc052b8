import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';

/**
 * A second dockerd of our own, so a test can restart an engine without taking the shared one (and every
 * other test) down with it. It has its own socket, data root, exec root (so its own containerd), config,
 * default bridge, and no iptables rules; its networks get subnets no host route uses yet, so they never
 * overlap the shared engine's. Nothing is published: its containers are reached with `docker exec` only.
 * Two settings are avoided because dockerd 20.10 then deletes the interface docker0 — the shared
 * engine's default bridge: `--bridge=none` (at every start), and `default-address-pools` (when it
 * restarts and clears its stale default network).
 */
export class PrivateEngine {
  readonly id = `cp-priv-${randomBytes(3).toString('hex')}`;
  readonly dataRoot = `/var/lib/${this.id}`;
  readonly execRoot = `/run/${this.id}`;
  readonly socket = `${this.execRoot}/docker.sock`;
  readonly host = `unix://${this.socket}`;
  readonly logFile = `/tmp/${this.id}-dockerd.log`;
  /** Interface names are limited to 15 characters. */
  readonly bridge = `cpb-${this.id.slice(-6)}`;
  private daemon: ChildProcess | null = null;

  /** What to set so docker, compose and the action all talk to this engine. */
  get env(): Record<string, string> {
    return { DOCKER_HOST: this.host };
  }

  async start(): Promise<void> {
    await mkdir(this.execRoot, { recursive: true });
    await writeFile(`${this.execRoot}/daemon.json`, '{}\n'); // none of the machine's settings
    this.createBridge();
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const args = [
      `--data-root=${this.dataRoot}`,
      `--exec-root=${this.execRoot}`,
      `--pidfile=${this.execRoot}/dockerd.pid`,
      `--host=${this.host}`,
      `--bridge=${this.bridge}`,
      '--iptables=false',
      '--ip-masq=false',
      `--config-file=${this.execRoot}/daemon.json`,
    ];
    const daemon = spawn('dockerd', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: dockerdEnv(),
    });
    daemon.stdout.pipe(log);
    daemon.stderr.pipe(log);
    this.daemon = daemon;
    await this.waitUntil(() => this.docker(['info']).status === 0, 60_000, 'did not come up');
  }

  /** SIGTERM, as `systemctl restart docker` does: running containers are stopped first. */
  async stop(): Promise<void> {
    const daemon = this.daemon;
    if (!daemon || daemon.exitCode !== null) return;
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGTERM');
    await Promise.race([exited, sleep(60_000)]);
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    this.daemon = null;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Copies images from the shared engine (nothing can be pulled here). */
  loadImages(images: string[]): void {
    const save = spawnSync('sh', ['-c', `docker save ${images.join(' ')} | docker -H ${this.host} load`], {
      encoding: 'utf8',
      env: withoutDockerHost(),
    });
    if (save.status !== 0) throw new Error(`loading ${images.join(', ')}: ${save.stderr}`);
  }

  /** Runs the docker CLI against this engine. */
  docker(args: string[]): { status: number | null; stdout: string; stderr: string } {
    return spawnSync('docker', ['-H', this.host, ...args], { encoding: 'utf8', env: withoutDockerHost() });
  }

  /** Stops the daemon and removes everything it had: containers, volumes, images, its directories. */
  async destroy(): Promise<void> {
    await this.stop();
    spawnSync('ip', ['link', 'delete', this.bridge]);
    await rm(this.execRoot, { recursive: true, force: true });
    await rm(this.dataRoot, { recursive: true, force: true });
    await rm(this.logFile, { force: true });
  }

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** The default bridge dockerd expects to find (`--bridge`), addressed outside the shared engine's ranges. */
  private createBridge(): void {
    if (spawnSync('ip', ['link', 'show', this.bridge]).status === 0) return; // a restart keeps it
    for (const args of [
      ['link', 'add', 'name', this.bridge, 'type', 'bridge'],
      ['address', 'add', '10.214.0.1/24', 'dev', this.bridge],
      ['link', 'set', this.bridge, 'up'],
    ]) {
      const result = spawnSync('ip', args, { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
    }
  }

  private async waitUntil(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.daemon?.exitCode !== null && this.daemon?.exitCode !== undefined) {
        throw new Error(`private dockerd exited (${this.daemon.exitCode}):\n${await this.logTail()}`);
      }
      if (Date.now() > deadline) throw new Error(`private dockerd ${what}:\n${await this.logTail()}`);
      await sleep(250);
    }
  }
}

/**
 * The engine under test's own dockerd when CP_TEST_DOCKERD_PATH names its folders (scripts/engine28.sh sets it
 * to those of dockerd 28.5, its containerd, docker-proxy and docker-init), else the one on PATH.
 */
function dockerdEnv(): NodeJS.ProcessEnv {
  const first = process.env.CP_TEST_DOCKERD_PATH;
  return first ? { ...process.env, PATH: `${first}:${process.env.PATH ?? ''}` } : process.env;
}

function withoutDockerHost(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return env;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
