import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import {
  chooseComposeFiles,
  displayPath,
  missingFilesError,
  projectNameNote,
  topLevelName,
} from '../../src/stack/compose-files.js';

/** A directory tree as a listing: directory → its file names. */
const tree = (dirs: Record<string, string[]>) => (dir: string) => dirs[dir];

describe('chooseComposeFiles', () => {
  it('takes the compose-file input as given, relative to the working directory', () => {
    const choice = chooseComposeFiles(['a.yml', '/abs/b.yml'], { composeFile: 'x.yml' }, '/ws', tree({}));
    expect(choice).toEqual({ files: ['/ws/a.yml', '/abs/b.yml'], from: 'input', notes: [] });
  });

  it('honours COMPOSE_FILE split by COMPOSE_PATH_SEPARATOR (":" by default), without an override', () => {
    const listing = tree({ '/ws': ['compose.yaml', 'compose.override.yml'] });
    expect(chooseComposeFiles([], { composeFile: 'base.yml:ci/extra.yml' }, '/ws', listing)).toEqual({
      files: ['/ws/base.yml', '/ws/ci/extra.yml'],
      from: 'COMPOSE_FILE',
      notes: [],
    });
    expect(
      chooseComposeFiles([], { composeFile: 'base.yml;/etc/x.yml', pathSeparator: ';' }, '/ws', listing)
        .files,
    ).toEqual(['/ws/base.yml', '/etc/x.yml']);
  });

  it.each([
    [['compose.yaml'], ['compose.yaml']],
    [['compose.yml'], ['compose.yml']],
    [['docker-compose.yaml'], ['docker-compose.yaml']],
    [['docker-compose.yml'], ['docker-compose.yml']],
    [['docker-compose.yaml', 'docker-compose.yml'], ['docker-compose.yml']],
    [['compose.yml', 'compose.yaml', 'docker-compose.yml'], ['compose.yaml']],
    [
      ['compose.yaml', 'compose.override.yml'],
      ['compose.yaml', 'compose.override.yml'],
    ],
    [
      ['compose.yml', 'compose.override.yaml'],
      ['compose.yml', 'compose.override.yaml'],
    ],
    [
      ['docker-compose.yml', 'compose.override.yml'],
      ['docker-compose.yml', 'compose.override.yml'],
    ],
    [
      ['docker-compose.yaml', 'docker-compose.override.yaml', 'docker-compose.override.yml'],
      ['docker-compose.yaml', 'docker-compose.override.yml'],
    ],
    [
      ['compose.override.yml', 'compose.yaml', 'README.md'],
      ['compose.yaml', 'compose.override.yml'],
    ],
  ])('in a directory with %j uses %j, as compose does', (names, used) => {
    const choice = chooseComposeFiles([], {}, '/ws', tree({ '/ws': names }));
    expect(choice.from).toBe('lookup');
    expect(choice.files).toEqual(used.map((n) => `/ws/${n}`));
  });

  it('notes the candidates compose passes over', () => {
    const choice = chooseComposeFiles([], {}, '/ws', tree({ '/ws': ['compose.yml', 'docker-compose.yml'] }));
    expect(choice.notes).toEqual([
      '/ws has compose.yml, docker-compose.yml: compose uses compose.yml and so does this run.',
    ]);
  });

  it('looks in the parents when the working directory has no compose file, override included', () => {
    const listing = tree({ '/repo/ci': ['run.sh'], '/repo': ['compose.yaml', 'compose.override.yml'] });
    expect(chooseComposeFiles([], {}, '/repo/ci', listing).files).toEqual([
      '/repo/compose.yaml',
      '/repo/compose.override.yml',
    ]);
  });

  it('an override without a compose file beside it is not a project', () => {
    const listing = tree({ '/ws': ['compose.override.yml'], '/': [] });
    expect(() => chooseComposeFiles([], {}, '/ws', listing)).toThrow(
      "Input 'compose-file': no compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml in /ws or its parents; add one or give the path of your compose file.",
    );
  });
});

describe('missingFilesError', () => {
  it('names the input or the variable the missing file came from', () => {
    const none = () => false;
    expect(missingFilesError({ files: ['/ws/a.yml'], from: 'input', notes: [] }, none)?.message).toBe(
      "Input 'compose-file': /ws/a.yml does not exist; give the path of your compose file.",
    );
    const fromEnv = missingFilesError({ files: ['/ws/a.yml'], from: 'COMPOSE_FILE', notes: [] }, none);
    expect(fromEnv).toBeInstanceOf(UserError);
    expect(fromEnv?.message).toBe(
      'COMPOSE_FILE names /ws/a.yml, which does not exist; fix the variable or give the compose-file input.',
    );
    expect(missingFilesError({ files: ['/ws/a.yml'], from: 'input', notes: [] }, () => true)).toBeUndefined();
  });
});

describe('topLevelName and projectNameNote', () => {
  it('reads the last top-level name: of the merged files, not a service or volume name', () => {
    expect(
      topLevelName(['services:\n  db:\n    image: x\nvolumes:\n  d:\n    name: data\n']),
    ).toBeUndefined();
    expect(topLevelName(['name: shop\nservices: {}\n', 'services: {}\n'])).toBe('shop');
    expect(topLevelName(['name: shop\n', 'name: "shop-ci"\n'])).toBe('shop-ci');
    expect(topLevelName(['name: ${PROJECT}\n'])).toBeUndefined();
    expect(topLevelName(['name: [unclosed\n'])).toBeUndefined();
  });

  it('says which project the run used and why, only when it differs from the file', () => {
    expect(projectNameNote(undefined, 'cp-1', 'generated')).toBeUndefined();
    expect(projectNameNote('shop', 'shop', 'input')).toBeUndefined();
    expect(projectNameNote('shop', 'cp-1-1-cli-abc', 'generated')).toBe(
      "The compose file sets name: shop, but this run used project cp-1-1-cli-abc: a name unique per run, so parallel jobs never share volumes; set project-name: shop to use the file's.",
    );
    expect(projectNameNote('shop', 'other', 'input')).toBe(
      'The compose file sets name: shop, but this run used project other: the project-name input wins over the file.',
    );
  });
});

describe('displayPath', () => {
  it('is relative inside the workspace and absolute outside it', () => {
    expect(displayPath('/ws', '/ws/db/compose.yml')).toBe('db/compose.yml');
    expect(displayPath('/ws', '/repo/compose.yaml')).toBe('/repo/compose.yaml');
  });
});
