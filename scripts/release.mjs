// What the release workflow (.github/workflows/release.yml) needs from the repository, in one place:
//   node scripts/release.mjs check vX.Y.Z   the tag is a version tag and equals package.json's version
//   node scripts/release.mjs notes vX.Y.Z   the CHANGELOG.md section of that version (the release notes)
//   node scripts/release.mjs major vX.Y.Z   the major tag the release moves (v0, v1, ...)
import { readFileSync } from 'node:fs';

const VERSION_TAG = /^v(\d+)\.(\d+)\.(\d+)$/;

/** The major tag (`v0`) a version tag (`v0.3.1`) moves; users pin `uses: …@v0`. */
export function majorTag(tag) {
  const match = VERSION_TAG.exec(tag);
  if (!match) throw new Error(`"${tag}" is not a version tag (vMAJOR.MINOR.PATCH).`);
  return `v${match[1]}`;
}

/** The body of `## [X.Y.Z]` (or `## X.Y.Z`) in a Keep a Changelog file, without its heading. */
export function releaseNotes(changelog, tag) {
  majorTag(tag);
  const version = tag.slice(1);
  const lines = changelog.split('\n');
  const heading = new RegExp(`^## \\[?${version.replace(/\./g, '\\.')}\\]?(\\s|$)`);
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0)
    throw new Error(`CHANGELOG.md has no "## [${version}]" section: add the release notes there.`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => /^## /.test(line));
  const notes = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
  if (!notes) throw new Error(`CHANGELOG.md's "## [${version}]" section is empty.`);
  return `${notes}\n`;
}

/** The tag must name the version package.json carries, so the CHANGELOG, the tarball and the tag agree. */
export function checkTag(tag, packageVersion) {
  majorTag(tag);
  if (tag !== `v${packageVersion}`) {
    throw new Error(
      `Tag ${tag} does not match package.json's version ${packageVersion}: tag v${packageVersion}.`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [command, tag] = process.argv.slice(2);
  try {
    if (command === 'major') process.stdout.write(`${majorTag(tag ?? '')}\n`);
    else if (command === 'notes')
      process.stdout.write(releaseNotes(readFileSync('CHANGELOG.md', 'utf8'), tag ?? ''));
    else if (command === 'check')
      checkTag(tag ?? '', JSON.parse(readFileSync('package.json', 'utf8')).version);
    else throw new Error('usage: release.mjs check|notes|major vX.Y.Z');
  } catch (error) {
    console.error(`release: ${error.message}`);
    process.exit(1);
  }
}
