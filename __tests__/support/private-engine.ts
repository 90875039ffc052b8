import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';

/**
 * A second dockerd of our own, so a test can restart an engine without taking the shared one (and every
 * other test) down with it. It has its own socket, data root, exec root (so its own containerd), no
 * default bridge and no iptables rules, and allocates compose networks from 10.213.0.0/16, away from the
 * shared engine's. Nothing is published: its containers are reached with `docker exec` only.
 */
export class PrivateEngine {
  readonly id = `cp-priv-${randomBytes(3).toString('hex')}`;
  readonly dataRoot = `/var/lib/${this.id}`;
  readonly execRoot = `/run/${this.id}`;
  readonly socket = `${this.execRoot}/docker.sock`;
  readonly host = `unix://${this.socket}`;
  readonly logFile = `/tmp/${this.id}-dockerd.log`;
  private daemon: ChildProcess | null = null;

  /** What to set so docker, compose and the action all talk to this engine. */
  get env(): Record<string, string> {
    return { DOCKER_HOST: this.host };
  }

  async start(): Promise<void> {
    await mkdir(this.execRoot, { recursive: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const args = [
      `--data-root=${this.dataRoot}`,
      `--exec-root=${this.execRoot}`,
      `--pidfile=${this.execRoot}/dockerd.pid`,
      `--host=${this.host}`,
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      '--default-address-pool=base=10.213.0.0/16,size=24',
    ];
    const daemon = spawn('dockerd', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
    await rm(this.execRoot, { recursive: true, force: true });
    await rm(this.dataRoot, { recursive: true, force: true });
    await rm(this.logFile, { force: true });
  }

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
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

function withoutDockerHost(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return env;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
