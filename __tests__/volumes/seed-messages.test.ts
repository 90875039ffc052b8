import { HostTarError } from '../../src/volumes/data-path.js';
import { describe, expect, it } from 'vitest';
import { engineRefusal } from '../../src/docker/engine.js';
import { UserError } from '../../src/errors.js';
import { seedFailureMessage, stillHoldsPrevious } from '../../src/volumes/seed-messages.js';

/** A dockerode error as docker-modem builds it: its words wrapped, the engine's JSON body kept. */
function dockerodeError(status: number, message: string): Error {
  const error = new Error(`(HTTP code ${status}) server error - ${message} `) as Error & {
    statusCode: number;
    json: { message: string };
  };
  error.statusCode = status;
  error.json = { message };
  return error;
}

const holds = stillHoldsPrevious('data', 'sha256:abc');

describe('the line a failed seed ends with', () => {
  it("an engine error: the engine's words without dockerode's wrapping, what to do, what the volume holds", () => {
    const error = dockerodeError(
      500,
      'Error processing tar file(exit status 1): open /x: file name too long',
    );
    expect(engineRefusal(error)).toEqual({
      status: 500,
      message: 'Error processing tar file(exit status 1): open /x: file name too long',
    });
    const line = seedFailureMessage('data', '/a/data.tar.zst', error, holds);
    expect(line).toBe(
      'The Docker engine refused to write volume data (500: Error processing tar file(exit status 1): open /x: file name too long): fix what the engine names (its log has more), then seed again; volume data still holds its previous contents (digest sha256:abc).',
    );
    expect(line).not.toMatch(/HTTP code/);
  });

  it("a host tar error: GNU tar's own words, what to do, what the volume holds", () => {
    const error = new HostTarError(2, 'tar: _data/x: Cannot open: File name too long');
    expect(seedFailureMessage('data', '/a/data.tar.zst', error, holds)).toBe(
      'GNU tar on the host refused to write volume data (tar: _data/x: Cannot open: File name too long): fix what it names, then seed again; volume data still holds its previous contents (digest sha256:abc).',
    );
  });

  it('out of space: the volume, where it lives, the bytes needed and the room, and what it holds', () => {
    const error = dockerodeError(500, 'write /.compose-persist/volume/big: no space left on device');
    const line = seedFailureMessage('data', '/a/data.tar.zst', error, holds, {
      location: '/mnt/small',
      needed: 20971520,
      room: 8388608,
    });
    expect(line).toBe(
      'Volume data (at /mnt/small) ran out of space while seeding from /a/data.tar.zst (500: write /.compose-persist/volume/big: no space left on device): the archive needs 20971520 bytes and the volume had room for 8388608; make room on that disk or seed a larger volume; volume data still holds its previous contents (digest sha256:abc).',
    );
  });

  it('out of space with nothing known about the space still names the volume', () => {
    const error = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(seedFailureMessage('data', 'f.tar', error, 'the new volume data was removed.')).toBe(
      'Volume data ran out of space while seeding from f.tar (ENOSPC: no space left on device, write); make room on that disk or seed a larger volume; the new volume data was removed.',
    );
  });

  it("an archive's own error keeps its words (without the final period)", () => {
    const error = new UserError('Archive f.tar does not match its manifest: 1 changed: a (sha256).');
    expect(seedFailureMessage('data', 'f.tar', error, holds)).toBe(
      `Archive f.tar does not match its manifest: 1 changed: a (sha256); ${holds}`,
    );
  });

  it('anything else names the volume and the file', () => {
    expect(seedFailureMessage('data', 'f.tar', new Error('socket hang up'), holds)).toBe(
      `Seeding volume data from f.tar failed (socket hang up); ${holds}`,
    );
    expect(engineRefusal(new Error('plain'))).toBeUndefined();
  });
});
