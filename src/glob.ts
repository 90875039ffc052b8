/**
 * Glob matching for paths: `**` matches any number of path segments, `*` anything within one segment, `?`
 * one character. A pattern without `/` matches a path's basename anywhere (like .gitignore), so
 * `postmaster.pid` matches `postmaster.pid` and `sub/postmaster.pid`.
 */
export function globToRegExp(glob: string): RegExp {
  const anchored = glob.includes('/');
  const pattern = glob.replace(/^\/+/, '');
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(anchored ? `^${source}$` : `^(?:.*/)?${source}$`);
}

export function matchesAny(path: string, globs: readonly string[]): boolean {
  const relative = path.replace(/^\/+/, '');
  return globs.some((glob) => globToRegExp(glob).test(relative));
}
