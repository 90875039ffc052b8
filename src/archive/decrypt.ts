import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, type Duplex, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UserError } from '../errors.js';
import { BridgeDuplex } from './format.js';

/** The secrets a foreign encrypted backup may be opened with; never logged, never on a command line. */
export interface DecryptSecrets {
  /** gpg or age passphrase (decrypt-passphrase, else the encrypt input). */
  passphrase?: string;
  /** age identity: an `AGE-SECRET-KEY-1…` line, or a file holding such lines. */
  identity?: string;
}

/** What the `decrypt-*` inputs are called in messages (the action's and the CLI's words differ). */
export interface SecretNames {
  passphrase: string;
  identity: string;
}

/**
 * `gpg --decrypt` of a passphrase-encrypted (`gpg -c`) stream. The passphrase goes in on file descriptor 3
 * (a pipe, closed at once), with a throwaway GNUPGHOME so the user's keyrings and agent are never touched;
 * the home and its agent are removed when gpg exits.
 */
export function createGpgDecryptor(secrets: DecryptSecrets, label: string, names: SecretNames): Duplex {
  const passphrase = secrets.passphrase;
  if (passphrase === undefined) {
    throw new UserError(`Archive ${label} is gpg-encrypted: give its passphrase (${names.passphrase}).`);
  }
  return new BridgeDuplex(
    () => {
      const home = mkdtempSync(path.join(tmpdir(), 'cp-gpg-'));
      const args = ['--homedir', home, '--batch', '--quiet', '--no-tty', '--pinentry-mode', 'loopback'];
      const child = spawn('gpg', [...args, '--passphrase-fd', '3', '--decrypt'], {
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      });
      const secretPipe = child.stdio[3] as Writable;
      secretPipe.on('error', () => undefined); // gpg gone early: its exit status says why
      secretPipe.end(`${passphrase}\n`);
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        if (stderr.length < 4096) stderr += text;
      });
      const done = new Promise<void>((resolve, reject) => {
        child.on('error', (error) =>
          reject(new UserError(`gpg could not be started (${error.message}): apt-get install gpg.`)),
        );
        // On exit, not close: a child killed mid-stream with unread output may never emit close.
        child.once('exit', () => removeGpgHome(home));
        child.on('close', (code, signal) => {
          if (code === 0) resolve();
          else reject(new Error(gpgFailure(stderr, code ?? signal ?? 'unknown', names)));
        });
      });
      done.catch(() => undefined);
      const kill = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill();
      };
      return { input: child.stdin, output: child.stdout, abort: kill, done };
    },
    (error) => decryptionError(label, error),
  );
}

function gpgFailure(stderr: string, status: number | string, names: SecretNames): string {
  const said = stderr
    .trim()
    .split('\n')
    .slice(-2)
    .map((line) => line.replace(/^gpg: /, ''))
    .join('; ');
  if (/bad session key|bad passphrase|no secret key/i.test(stderr)) {
    return `wrong passphrase (gpg: ${said}): check ${names.passphrase}`;
  }
  return `gpg exited with ${status}${said ? `: ${said}` : ''}`;
}

/** Stops the throwaway home's agent (gpg may have started one) and removes the home with its sockets. */
function removeGpgHome(home: string): void {
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore', timeout: 5000 });
  try {
    rmSync(home, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // a temp folder of a few bytes, no secret in it: not worth failing a seed over
  }
}

/**
 * age decryption with typage (the reference implementation's own TypeScript port): passphrases (scrypt)
 * and X25519 identities, streamed chunk by chunk, each chunk authenticated before it is released. The
 * Debian `age` CLI reads passphrases only from a terminal, so it cannot serve an unattended job.
 */
export function createAgeDecryptor(secrets: DecryptSecrets, label: string, names: SecretNames): Duplex {
  if (secrets.passphrase === undefined && secrets.identity === undefined) {
    throw new UserError(
      `Archive ${label} is age-encrypted: give its passphrase (${names.passphrase}) or identity (${names.identity}).`,
    );
  }
  const identities = secrets.identity === undefined ? [] : ageIdentities(secrets.identity, names);
  return new BridgeDuplex(
    () => {
      const input = new PassThrough();
      const output = new PassThrough();
      const done = decryptAge(input, output, { ...secrets, identities }, names);
      done.catch(() => undefined);
      return { input, output, abort: () => input.destroy(), done };
    },
    (error) => decryptionError(label, error),
  );
}

async function decryptAge(
  input: PassThrough,
  output: PassThrough,
  { passphrase, identities }: { passphrase?: string; identities: string[] },
  names: SecretNames,
): Promise<void> {
  // Loaded only when an age archive is seeded.
  const { Decrypter } = await import('age-encryption');
  const decrypter = new Decrypter();
  if (passphrase !== undefined) decrypter.addPassphrase(passphrase);
  for (const identity of identities) decrypter.addIdentity(identity);
  const ciphertext = Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>;
  let plaintext: ReadableStream<Uint8Array>;
  try {
    plaintext = await decrypter.decrypt(ciphertext);
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(
      /no identity matched/.test(message)
        ? `wrong passphrase or identity (age: ${message}): check ${[names.passphrase, names.identity].join(' / ')}`
        : `age: ${message}`,
    );
  }
  await pipeline(Readable.fromWeb(plaintext as unknown as WebReadableStream<Uint8Array>), output);
}

/** `AGE-SECRET-KEY-1…` lines, given directly (a secret) or in a file (`age-keygen -o key.txt`). */
function ageIdentities(identity: string, names: SecretNames): string[] {
  // A secret pasted whole (age-keygen's comment lines included) is content; anything else names a file.
  const text = /AGE-SECRET-KEY-|\n/.test(identity) ? identity : readIdentityFile(identity, names);
  const keys = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('AGE-SECRET-KEY-'));
  if (keys.length === 0) {
    throw new UserError(
      `${names.identity} holds no age identity: give a file made by age-keygen, or its AGE-SECRET-KEY-1… line.`,
    );
  }
  return keys;
}

/** The value is never quoted back: it may be a secret that is not a key line. */
function readIdentityFile(file: string, names: SecretNames): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(
      `${names.identity} is neither an AGE-SECRET-KEY-1… line nor a file that can be read (${code}).`,
    );
  }
}

function decryptionError(label: string, error: Error): Error {
  if (error instanceof UserError) return error;
  return new UserError(`Archive ${label} cannot be decrypted: ${error.message}.`, { cause: error });
}
