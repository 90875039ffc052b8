/**
 * Glob matching for paths: `**` matches any number of path segments, `*` anything within one segment, `?`
 * one character, `\` makes the next character literal. A pattern without `/` matches a path's basename
 * anywhere (like .gitignore), so `postmaster.pid` matches `postmaster.pid` and `sub/postmaster.pid`; a
 * leading `/` anchors a pattern at the root.
 */
export function globToRegExp(glob: string): RegExp {
  const anchored = glob.includes('/');
  const pattern = glob.replace(/^\/+/, '');
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '\\' && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[++i] as string);
    } else if (char === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += escapeRegExp(char);
    }
  }
  return new RegExp(anchored ? `^${source}$` : `^(?:.*/)?${source}$`);
}

function escapeRegExp(char: string): string {
  return char.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
}

/** A path (or part of one) as a glob that matches exactly it: `*`, `?` and `\` made literal. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?\\]/g, '\\$&');
}

/** The path a glob matches when it has no wildcard (`\` escapes undone), else undefined. */
export function literalOfGlob(glob: string): string | undefined {
  let literal = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*' || char === '?') return undefined;
    if (char === '\\' && i + 1 < glob.length) literal += glob[++i] as string;
    else literal += char;
  }
  return literal;
}

export function matchesAny(path: string, globs: readonly string[]): boolean {
  const relative = path.replace(/^\/+/, '');
  return globs.some((glob) => globToRegExp(glob).test(relative));
}
