import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** A unit like the action stores: a volume archive (9 MiB, so uploads take two 8 MiB blocks) and a report. */
export async function makeArchives(dir: string, label: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const archive = path.join(dir, 'pgdata.tar.zst');
  const report = path.join(dir, 'report.json');
  await fs.writeFile(archive, randomBytes(9 * 1024 * 1024));
  await fs.writeFile(report, JSON.stringify({ label, volumes: ['pgdata'] }));
  return [archive, report];
}

/** basename → sha256 of each file, to compare what went in with what came back. */
export async function digests(files: string[]): Promise<Record<string, string>> {
  const entries = await Promise.all(
    files.map(async (file) => [
      path.basename(file),
      createHash('sha256')
        .update(await fs.readFile(file))
        .digest('hex'),
    ]),
  );
  return Object.fromEntries(entries);
}

export function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
}
