import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import ssh2 from 'ssh2';
import { localEngineSocket } from './local-engine.js';

const { Server, utils } = ssh2;

/**
 * The local engine behind an SSH server on 127.0.0.1, as `DOCKER_HOST=ssh://root@127.0.0.1:PORT` reaches
 * a remote one: clients authenticate with a key held by an ssh-agent, then exec `docker system
 * dial-stdio`, which the server runs against the local socket. Both kinds of client go through it:
 * dockerode (docker-modem's ssh2 client, key from SSH_AUTH_SOCK) and the docker/compose CLIs (the system
 * `ssh` binary, behind a wrapper that pins this server's host key). Only that one command is served.
 */
/**
 * An ed25519 pair that ssh2 can read back. Its generator strips leading zero bytes from the public key, so
 * about 1 pair in 256 cannot be parsed (mscdex/ssh2#1390, #1513): draw again until both halves parse.
 */
function parseableKeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error)) {
      return pair;
    }
  }
  throw new Error('ssh2 produced 20 unparseable ed25519 key pairs in a row');
}

export class SshEngine {
  /** Connections authenticated, and dial-stdio sessions run (to prove traffic went through ssh). */
  readonly traffic = { logins: 0, dials: 0 };
  private server: InstanceType<typeof Server> | null = null;
  private agent: ChildProcess | null = null;
  private dir = '';
  port = 0;

  /** DOCKER_HOST plus what both ssh clients need: the agent's socket, and the wrapper first on PATH. */
  get env(): Record<string, string> {
    return {
      DOCKER_HOST: `ssh://root@127.0.0.1:${this.port}`,
      SSH_AUTH_SOCK: path.join(this.dir, 'agent.sock'),
      PATH: `${path.join(this.dir, 'bin')}:${process.env.PATH ?? ''}`,
    };
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(path.join(tmpdir(), 'cp-ssh-'));
    const clientKey = parseableKeyPair();
    const hostKey = parseableKeyPair();
    const allowed = utils.parseKey(clientKey.public);
    if (allowed instanceof Error) throw allowed;
    this.server = new Server({ hostKeys: [hostKey.private] }, (client) => {
      client.on('authentication', (ctx) => {
        const keyMatches =
          ctx.method === 'publickey' &&
          ctx.key.algo === allowed.type &&
          ctx.key.data.equals(allowed.getPublicSSH());
        if (!keyMatches) return ctx.reject(['publickey']);
        if (!ctx.signature) return ctx.accept(); // the client asks whether the key would do
        if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) return ctx.accept();
        ctx.reject(['publickey']);
      });
      client.on('ready', () => {
        this.traffic.logins++;
        client.on('session', (accept) => {
          accept().on('exec', (acceptExec, reject, info) => {
            if (info.command.replace(/['"]/g, '').trim() !== 'docker system dial-stdio') return reject();
            this.traffic.dials++;
            const stream = acceptExec();
            const env = { ...process.env, DOCKER_HOST: `unix://${localEngineSocket()}` };
            const dial = spawn('docker', ['system', 'dial-stdio'], {
              env,
              stdio: ['pipe', 'pipe', 'inherit'],
            });
            stream.pipe(dial.stdin);
            // The exit status must go out before the channel closes: end it only once the command has exited.
            dial.stdout.pipe(stream, { end: false });
            dial.on('close', (code) => {
              stream.exit(code ?? 1);
              stream.end();
            });
            stream.on('close', () => dial.kill());
          });
        });
      });
      client.on('error', () => undefined); // a client hanging up mid-session is not our failure
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    await this.startAgent(clientKey.private);
    await this.writeSshWrapper(hostKey.public);
  }

  async stop(): Promise<void> {
    this.agent?.kill();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  private async startAgent(privateKey: string): Promise<void> {
    const socket = path.join(this.dir, 'agent.sock');
    this.agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    const keyFile = path.join(this.dir, 'id_ed25519');
    await writeFile(keyFile, privateKey, { mode: 0o600 });
    for (let attempt = 0; ; attempt++) {
      const code = await exitCodeOf('ssh-add', ['-q', keyFile], { ...process.env, SSH_AUTH_SOCK: socket });
      if (code === 0) return;
      if (attempt > 40) throw new Error(`ssh-add failed (${code}): is ssh-agent running?`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** `ssh` for the docker CLI: this server's host key pinned, no user or system known_hosts touched. */
  private async writeSshWrapper(hostPublicKey: string): Promise<void> {
    const knownHosts = path.join(this.dir, 'known_hosts');
    await writeFile(
      knownHosts,
      `[127.0.0.1]:${this.port} ${hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`,
    );
    const bin = path.join(this.dir, 'bin');
    await mkdir(bin);
    const options = `-F /dev/null -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
    await writeFile(path.join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh ${options} "$@"\n`, { mode: 0o755 });
  }
}

function exitCodeOf(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: 'ignore' });
    child.on('error', () => resolve(null));
    child.on('close', (code) => resolve(code));
  });
}
