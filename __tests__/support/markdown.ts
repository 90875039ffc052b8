// What the docs tests read from Markdown: the pages, their headings' anchors, their links and their YAML blocks.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** README.md and every page under docs/: what a user reads. */
export function docPages(): string[] {
  const pages = readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...pages];
}

/** A fenced block: its info string (```yaml → yaml), its text and the line its fence opens on (1-based). */
export interface FencedBlock {
  lang: string;
  text: string;
  line: number;
}

/** The fenced code blocks of a page (``` or ~~~, three or more), in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const lines = markdown.split('\n');
  let open: { fence: string; lang: string; line: number; body: string[] } | undefined;
  for (const [index, line] of lines.entries()) {
    if (!open) {
      const start = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
      if (start) open = { fence: start[1] ?? '```', lang: start[2] ?? '', line: index + 1, body: [] };
    } else if (new RegExp(`^ {0,3}${open.fence[0]}{${open.fence.length},}\\s*$`).test(line)) {
      blocks.push({ lang: open.lang, text: open.body.join('\n'), line: open.line });
      open = undefined;
    } else {
      open.body.push(line);
    }
  }
  return blocks;
}

/** The 0-based numbers of the lines inside fenced blocks, fences included. */
function fencedLines(markdown: string): Set<number> {
  const fenced = new Set<number>();
  let fence: string | undefined;
  for (const [index, line] of markdown.split('\n').entries()) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker) fence = marker;
    else if (fence !== undefined && marker && marker[0] === fence[0] && marker.length >= fence.length) {
      fenced.add(index);
      fence = undefined;
    }
    if (fence !== undefined) fenced.add(index);
  }
  return fenced;
}

/** The page without its fenced blocks (each line blanked, so line numbers stay) and with code spans blanked. */
function prose(markdown: string): string {
  const fenced = fencedLines(markdown);
  // A code span keeps its length (so a link around it still parses) but loses what looks like Markdown.
  return markdown
    .split('\n')
    .map((line, index) => (fenced.has(index) ? '' : line))
    .join('\n')
    .replace(
      /(`+)([\s\S]*?[^`])\1(?!`)/g,
      (_span, ticks: string, code: string) => `${ticks}${code.replace(/[^\n]/g, 'x')}${ticks}`,
    );
}

/**
 * The anchor GitHub gives a heading (github-slugger): the text as rendered, lowercased, every character that is
 * not a letter, digit, space, hyphen or underscore removed, spaces turned into hyphens.
 */
export function slug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, '') // code spans and emphasis marks
    .replace(/(^|\s)_+|_+(\s|$)/g, '$1$2'); // _emphasis_ (underscores inside words stay)
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page offers: its headings' slugs, a repeated slug numbered -1, -2, …, and explicit ids. */
export function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  const fenced = fencedLines(markdown);
  for (const [index, line] of markdown.split('\n').entries()) {
    if (fenced.has(index)) continue;
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = slug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      found.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const [, id] of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) if (id) found.add(id);
  }
  return found;
}

/** A link or image target of a page, with the line it is on. */
export interface Link {
  target: string;
  line: number;
}

/** Inline links and images (`[text](target)`, `![alt](target)`) and reference definitions (`[x]: target`). */
export function links(markdown: string): Link[] {
  const found: Link[] = [];
  for (const [index, line] of prose(markdown).split('\n').entries()) {
    for (const [, target] of line.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g))
      found.push({ target: target ?? '', line: index + 1 });
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)/.exec(line)?.[1];
    if (definition) found.push({ target: definition, line: index + 1 });
  }
  return found;
}

/** A target that leaves the repository (a URL, a mail address): not checked here. */
export const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/**
 * The relative links of `page` (its text given) that do not resolve, as "page:line: target (why)": the file or
 * directory must exist in the repository, and an anchor must be a heading of the page it points into.
 */
export function brokenLinks(page: string, text: string): string[] {
  const broken: string[] = [];
  for (const { target, line } of links(text)) {
    if (isExternal(target)) continue;
    const [file = '', anchor] = target.split('#', 2);
    const resolved = file === '' ? page : path.normalize(path.join(path.dirname(page), decodeURI(file)));
    const where = `${page}:${line}: ${target}`;
    if (resolved.startsWith('..') || path.isAbsolute(resolved))
      broken.push(`${where} (outside the repository)`);
    else if (file !== '' && !existsSync(resolved)) broken.push(`${where} (no such file)`);
    else if (anchor !== undefined && resolved.endsWith('.md')) {
      const offered = anchors(resolved === page ? text : readFileSync(resolved, 'utf8'));
      if (!offered.has(decodeURIComponent(anchor)))
        broken.push(`${where} (no heading #${anchor} in ${resolved})`);
    }
  }
  return broken;
}
